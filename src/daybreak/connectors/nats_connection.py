"""Opening a NATS connection for the stream connectors: fail fast and clearly when the
server cannot be reached at start (nats-py would otherwise retry for minutes, logging a
traceback per attempt), reconnect quietly once connected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

from nats.aio.client import Client

from daybreak.connectors.nats_pull import FastParser
from daybreak.connectors.stream_config import NatsSettings

log = logging.getLogger(__name__)
DEFAULT_PORT = 4222
T = TypeVar("T")


def run_on_uvloop(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` as ``asyncio.run`` does, on uvloop (a dependency, uvicorn's loop):
    the consumer does a few loop steps per message, each far cheaper there."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


class NatsUnreachable(ConnectionError):
    """The NATS server did not accept a connection at start."""


async def connect_nats(settings: NatsSettings) -> Client:
    parts = urlsplit(settings.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORT
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), settings.connect_timeout_seconds
        )
    except (OSError, TimeoutError) as exc:
        raise NatsUnreachable(f"cannot reach NATS at {settings.url}: {exc or 'timed out'}") from exc
    writer.close()
    await writer.wait_closed()
    options: dict[str, Any] = {
        "connect_timeout": settings.connect_timeout_seconds,
        "error_cb": _log_error,
        "max_reconnect_attempts": -1,  # once running, keep trying: messages wait in the stream
    }
    nc = Client()
    nc._ps = FastParser(nc)  # the pullers' inboxes skip nats-py's per-message path
    await nc.connect(settings.url, **options)
    return nc


async def _log_error(exc: Exception) -> None:
    log.warning("NATS: %s", exc)
