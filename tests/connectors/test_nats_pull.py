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


async def _linger_scenario(url: str) -> None:
    nc = await connect_nats(NatsSettings(url=url))
    try:
        js = nc.jetstream()
        await js.add_stream(name="LINGER", subjects=["linger.x"])
        config = ConsumerConfig(
            durable_name="l", ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT, max_ack_pending=100
        )
        await js.add_consumer("LINGER", config=config)
        puller = BatchPuller(nc, "LINGER", "l")
        await puller.start()

        async def publish(first: int, n: int) -> None:
            for i in range(first, first + n):
                await js.publish("linger.x", str(i).encode())

        await publish(0, 3)
        assert len(await puller.fetch(10, 1.0)) == 3  # no linger: what is there, at once

        await publish(3, 3)
        started = time.monotonic()
        waiting = asyncio.create_task(puller.fetch(10, 1.0, linger=5.0))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # 3 of 10: the batch waits for more
        await publish(6, 7)
        got = await waiting
        assert [stream_seq(m) for m in got] == list(range(4, 14))  # full: 10 in order
        assert time.monotonic() - started < 4.0  # handed over once full, not at the linger

        await publish(13, 3)
        started = time.monotonic()
        got = await puller.fetch(10, 1.0, linger=0.4)
        assert [stream_seq(m) for m in got] == [14, 15, 16]
        assert 0.3 <= time.monotonic() - started < 3.0  # short: handed over at the linger
        await puller.close()
    finally:
        await nc.close()


def test_a_lingering_fetch_fills_its_batch_or_ends_at_the_linger(nats_url: str) -> None:
    asyncio.run(_linger_scenario(nats_url))
