"""``BatchPuller`` against a real nats-server: batches of at most the size asked for, in
stream order, nothing when nothing is there, and messages handed back on close come
back at once (not after ``ack_wait``)."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from daybreak.connectors.nats_connection import connect_nats
from daybreak.connectors.nats_pull import BatchPuller, stream_seq
from daybreak.connectors.stream_config import NatsSettings

pytestmark = pytest.mark.nats

ACK_WAIT = 30.0  # far longer than the test: a redelivery before it came from the nak


async def _pull_scenario(url: str, fast: bool) -> None:
    # connect_nats: the inbox's messages take FastParser's path; nats.connect: nats-py's
    nc = await connect_nats(NatsSettings(url=url)) if fast else await nats.connect(url)
    try:
        js = nc.jetstream()
        stream, subject = ("PULLF", "pull.fast") if fast else ("PULLN", "pull.plain")
        await js.add_stream(name=stream, subjects=[subject])
        for i in range(25):  # some with headers (HMSG frames), as publishers should send
            headers = {"Nats-Msg-Id": f"m{i}"} if i % 2 else None
            await js.publish(subject, str(i).encode(), headers=headers)
        config = ConsumerConfig(
            durable_name="p", ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT, max_ack_pending=100
        )
        await js.add_consumer(stream, config=config)

        first = BatchPuller(nc, stream, "p")
        await first.start()
        batch = await first.fetch(10, 1.0)
        assert [stream_seq(m) for m in batch] == list(range(1, 11))
        assert [m.data for m in batch] == [str(i).encode() for i in range(10)]
        assert [(m.headers or {}).get("Nats-Msg-Id") for m in batch[:3]] == [None, "m1", None]
        first.give_back(batch)  # not handled: handed back (nak) on close
        await first.close()

        second = BatchPuller(nc, stream, "p")
        await second.start()
        started = time.monotonic()
        seen: list[int] = []
        while len(seen) < 25 and time.monotonic() - started < ACK_WAIT / 2:
            got = await second.fetch(8, 1.0)
            assert len(got) <= 8
            seen += [stream_seq(m) for m in got]
            for m in got:
                await m.ack()
        assert sorted(seen) == list(range(1, 26))  # the 10 handed back came back early

        started = time.monotonic()
        assert await second.fetch(8, 0.5) == []  # drained: empty after about the wait
        assert time.monotonic() - started < 3.0
        await second.close()
    finally:
        await nc.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast-parser", "nats-py-parser"])
def test_batches_in_order_and_handed_back_messages_return_at_once(
    nats_url: str, fast: bool
) -> None:
    asyncio.run(_pull_scenario(nats_url, fast))
