"""Read everything a JetStream stream holds through a durable pull consumer (the tests'
view of what a relay or a dead-letter list published)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import nats
from nats.aio.msg import Msg

T = TypeVar("T")


async def drain(
    url: str,
    subject: str,
    stream: str,
    read: Callable[[Msg], T],
    *,
    batch: int = 100,
    **sub: Any,
) -> list[T]:
    """``read`` of every message on ``subject`` until the consumer stays idle for a
    second, each acknowledged. nats-py raises its own TimeoutError when a fetch waits in
    vain, and a bare ``asyncio.TimeoutError`` when the fetch's deadline runs out before
    its second request (a loaded machine): both end the reading. The connection is
    closed whatever happens, so no transport is left for a later test's warnings."""
    nc = await nats.connect(url)
    got: list[T] = []
    try:
        consumer = await nc.jetstream().pull_subscribe(subject, stream=stream, **sub)
        while True:
            for m in await consumer.fetch(batch, timeout=1):
                got.append(read(m))
                await m.ack()
    except TimeoutError:  # nats.errors.TimeoutError is one too
        pass
    finally:
        await nc.close()
    return got
