"""Fetching from a JetStream pull consumer a batch at a time, cheaply.

nats-py's ``PullSubscription.fetch`` waits for each message of a batch with its own
``asyncio.wait_for`` (a task and a timer per message), which at thousands of messages a
second costs more than everything the consumer does with them. :class:`BatchPuller`
sends the same pull requests (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>``, as the
JetStream API documents them) but receives on one inbox through a callback that only
appends to a list, and wakes the fetcher once per batch: when the batch is full or the
server ends the request with a status (404 no messages, 408 request expired, 409).

Memory stays bounded: at most two requests are open (a long poll and the follow-up
request), each for at most ``batch`` messages, and the server never hands out more than
the consumer's ``max_ack_pending`` unacknowledged messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext

HEARTBEAT = "100"  # a status that only says the request is alive


class BatchPuller:
    """One pull consumer's messages, fetched ``batch`` at a time."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._buffer: list[Msg] = []  # delivered, not yet handed to the caller
        self._wanted = 0  # messages that end the current wait
        self._woken = asyncio.Event()

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._inbox, cb=self._receive)

    async def close(self) -> None:
        """Stop receiving; messages still buffered are handed back (``nak``) so that they
        come back at once rather than after ``ack_wait``."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        for m in self._buffer:
            await m.nak()
        self._buffer.clear()

    def give_back(self, msgs: list[Msg]) -> None:
        """Messages fetched but not handled: first in line again (or handed back)."""
        self._buffer[:0] = msgs

    async def fetch(self, batch: int, wait: float) -> list[Msg]:
        """Up to ``batch`` messages: those available now, else the first to arrive within
        ``wait`` seconds (then with whatever is available by then). Empty: none came."""
        if len(self._buffer) < batch:
            await self._request(batch - len(self._buffer), no_wait=True, wait=wait)
        if not self._buffer:
            # Nothing available: a long poll that the server ends after `wait` (408)
            # unless a message comes first; what it delivers later is buffered.
            await self._request(batch, no_wait=False, wait=wait)
        taken = self._buffer[:batch]
        del self._buffer[:batch]
        return taken

    async def _request(self, count: int, *, no_wait: bool, wait: float) -> None:
        """Ask for ``count`` messages and wait until they came, the server ended the
        request, or (long poll) the first one came."""
        body: dict[str, object] = {"batch": count}
        if no_wait:
            body["no_wait"] = True
        else:
            body["expires"] = int(wait * 1e9)
        self._wanted = len(self._buffer) + (count if no_wait else 1)
        self._woken.clear()
        await self._nc.publish(self._next_subject, json.dumps(body).encode(), reply=self._inbox)
        # A margin over the server's expiry: its 408 normally ends the wait. Past it the
        # connection stalled: return what came; the caller asks again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), wait + 1.0)

    async def _receive(self, msg: Msg) -> None:
        status = JetStreamContext.is_status_msg(msg)
        if status is None:
            self._buffer.append(msg)
            if len(self._buffer) >= self._wanted:
                self._woken.set()
        elif status != HEARTBEAT:
            self._woken.set()  # the request ended (no messages, expired, or refused)


async def ack_each(nc: Client, msgs: Sequence[Msg]) -> None:
    """Acknowledge every message of ``msgs``, each on its own (the ``+ACK`` that
    ``Msg.ack`` sends: an empty publish to the message's reply subject), in one write to
    the connection's outgoing buffer instead of one ``publish`` call each, which costs
    more than storing the message. The acknowledgements are not awaited, as with
    ``Msg.ack``: one lost on the way means a redelivery, which the consumer recognises."""
    if not msgs:
        return
    await nc._send_command(b"".join(b"PUB " + m.reply.encode() + b" 0\r\n\r\n" for m in msgs))
    await nc._flush_pending()


_V1_REPLY_TOKENS = 9  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>


def stream_seq(m: Msg) -> int:
    """The message's stream sequence, read from its reply subject alone (nats-py's
    ``metadata`` parses every field, a timestamp into a datetime, per message)."""
    tokens = (m.reply or "").split(".")
    if len(tokens) == _V1_REPLY_TOKENS:
        return int(tokens[5])
    if len(tokens) > _V1_REPLY_TOKENS:  # with the domain and account hash
        return int(tokens[Msg.Ack.StreamSeq])
    return m.metadata.sequence.stream  # not a JetStream reply: nats-py says why
