"""The NATS JetStream server the streaming connector's tests run against (the session
fixture ``nats_url``): publishing is deduplicated by message id, and a durable pull
consumer hands a message again until it is acknowledged, also to a new connection."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.js.api import ConsumerConfig

pytestmark = pytest.mark.nats


async def _roundtrip(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="FIXTURE", subjects=["fixture.>"])
    first = await js.publish("fixture.a", b"one", headers={"Nats-Msg-Id": "m1"})
    again = await js.publish("fixture.a", b"one", headers={"Nats-Msg-Id": "m1"})
    assert again.duplicate is True and again.seq == first.seq
    await js.publish("fixture.a", b"two", headers={"Nats-Msg-Id": "m2"})
    config = ConsumerConfig(ack_wait=30)
    sub = await js.pull_subscribe("fixture.>", durable="worker", stream="FIXTURE", config=config)
    got = await sub.fetch(2, timeout=5)
    assert [m.data for m in got] == [b"one", b"two"]
    await got[0].ack_sync()
    await got[1].nak()  # not done: handed out again
    await nc.close()
    # a new connection binds the same durable consumer: only the unacknowledged one
    nc = await nats.connect(url)
    sub = await nc.jetstream().pull_subscribe("fixture.>", durable="worker", stream="FIXTURE")
    (redelivered,) = await sub.fetch(1, timeout=5)
    assert redelivered.data == b"two" and redelivered.metadata.num_delivered == 2
    await redelivered.ack_sync()
    with pytest.raises(TimeoutError):  # nats-py's own, or asyncio's on a loaded machine
        await sub.fetch(1, timeout=0.5)
    await nc.close()


def test_jetstream_dedupes_and_redelivers_until_acked(nats_url: str) -> None:
    asyncio.run(_roundtrip(nats_url))
