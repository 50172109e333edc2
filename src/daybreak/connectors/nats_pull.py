"""Fetching from a JetStream pull consumer a batch at a time, cheaply.

nats-py's ``PullSubscription.fetch`` waits for each message of a batch with its own
``asyncio.wait_for`` (a task and a timer per message), which at thousands of messages a
second costs more than everything the consumer does with them. :class:`BatchPuller`
sends the same pull requests (``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>``, as the
JetStream API documents them) but receives on one inbox, and wakes the fetcher once per
batch: when the batch is full or the server ends the request with a status (404 no
messages, 408 request expired, 409).

On a connection opened with :class:`FastParser` (``connect_nats`` does), the inbox's
messages skip nats-py's per-message path (a regular expression per protocol line, a
coroutine, header parsing, a queue and a callback task per message, about 15-20 µs of
the event loop each): the parser hands them to the puller in the same pass that reads
them. Other subscriptions, and the puller on a plain nats-py connection, take nats-py's
path unchanged.

Memory stays bounded: the server never hands out more than the consumer's
``max_ack_pending`` unacknowledged messages, whatever requests are open (each for at
most ``batch`` messages and ending within ``wait`` or ``linger``: a long poll woken by
its first message stays open and keeps delivering into the buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import ProtocolError
from nats.js import JetStreamContext
from nats.protocol.parser import Parser

HEARTBEAT = "100"  # a status that only says the request is alive
_STATUS_AT = len(b"NATS/1.0 ")  # a status message's header: "NATS/1.0 404 No Messages"
_HEADERS_AT = len(b"NATS/1.0\r\n")  # a message's headers: "NATS/1.0\r\nName: value\r\n"

# (subject, reply, payload, raw headers or None) of one MSG/HMSG frame
Sink = Callable[[bytes, bytes, bytes, bytes | None], None]


class FastParser(Parser):
    """nats-py's protocol parser, with a fast path for the ``MSG``/``HMSG`` frames of
    the subscriptions in :attr:`sinks` (sid -> function called with the frame, in
    order, without an ``await``). Other messages go to nats-py's ``_process_msg`` and
    every other line (``PING``, ``+OK``, ``INFO``, ``-ERR``) to nats-py's own parser, one
    line at a time; a frame split across reads waits for the rest, as there."""

    def __init__(self, nc: Client) -> None:
        super().__init__(nc)
        self.sinks: dict[int, Sink] = {}

    async def parse(self, data: bytes = b"") -> None:
        buf: bytearray = self.buf
        buf.extend(data)
        pos, size, taken = 0, len(buf), 0
        while pos < size:
            end = buf.find(b"\r\n", pos)
            if end < 0:
                break
            parts = buf[pos:end].split()
            kind = parts[0] if parts else b""
            if kind not in (b"MSG", b"HMSG"):
                line = buf[pos : end + 2]
                del buf[: end + 2]
                pos, size = 0, len(buf)
                self.buf = line  # nats-py's parser reads this line alone
                await super().parse()
                if self.buf is not line:
                    return  # the connection was reset: the rest belongs to the old one
                self.buf = buf
                continue
            with_headers = kind == b"HMSG"
            try:
                if len(parts) not in ((5, 6) if with_headers else (4, 5)):
                    raise ValueError(len(parts))
                sid, total = int(parts[2]), int(parts[-1])
                hsize = int(parts[-2]) if with_headers else 0
            except ValueError as exc:
                raise ProtocolError("nats: malformed MSG") from exc
            start = end + 2
            if start + total + 2 > size:
                break  # the payload is not all here yet
            subject = bytes(parts[1])
            reply = bytes(parts[3]) if len(parts) == (6 if with_headers else 5) else b""
            hdr = bytes(buf[start : start + hsize]) if with_headers else None
            payload = bytes(buf[start + hsize : start + total])
            pos = start + total + 2
            sink = self.sinks.get(sid)
            if sink is not None:
                sink(subject, reply, payload, hdr)
                taken += 1
                continue
            del buf[:pos]  # consistent before the await: nats-py may reset() meanwhile
            pos, size = 0, len(buf)
            await self.nc._process_msg(sid, subject, reply, payload, hdr)
            if self.buf is not buf:
                return
        del buf[:pos]
        self.nc.stats["in_msgs"] += taken


class BatchPuller:
    """One pull consumer's messages, fetched ``batch`` at a time."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._sid: int | None = None
        self._buffer: list[Msg] = []  # delivered, not yet handed to the caller
        self._wanted = 0  # messages that end the current wait
        self._woken = asyncio.Event()

    async def start(self) -> None:
        parser = self._nc._ps
        if isinstance(parser, FastParser):
            self._sub = await self._nc.subscribe(self._inbox)
            self._sid = self._sub._id
            parser.sinks[self._sid] = self._deliver
        else:
            self._sub = await self._nc.subscribe(self._inbox, cb=self._receive)

    async def close(self) -> None:
        """Stop receiving; messages still buffered are handed back (``nak``) so that they
        come back at once rather than after ``ack_wait``."""
        if self._sub is not None:
            parser = self._nc._ps
            if isinstance(parser, FastParser):
                parser.sinks.pop(self._sub._id, None)
            await self._sub.unsubscribe()
            self._sub = None
        for m in self._buffer:
            await m.nak()
        self._buffer.clear()

    def give_back(self, msgs: list[Msg]) -> None:
        """Messages fetched but not handled: first in line again (or handed back)."""
        self._buffer[:0] = msgs

    async def fetch(self, batch: int, wait: float, linger: float = 0.0) -> list[Msg]:
        """Up to ``batch`` messages: those available now, else the first to arrive within
        ``wait`` seconds (then with whatever is available by then). Empty: none came.

        ``linger`` (seconds): a batch not yet full waits that long for more messages
        (the request ends when the batch is full or the server expires it), so that
        messages trickling in make fewer, fuller batches, whose per-batch costs (a file,
        its fsyncs, the alerts) are paid once for many messages, at that much latency."""
        if len(self._buffer) < batch:
            missing = batch - len(self._buffer)
            if linger > 0:
                await self._request(missing, no_wait=False, wait=linger, until_full=True)
            else:
                await self._request(missing, no_wait=True, wait=wait)
        if not self._buffer:
            # Nothing available: a long poll that the server ends after `wait` (408)
            # unless a message comes first; what it delivers later is buffered.
            await self._request(batch, no_wait=False, wait=wait)
        taken = self._buffer[:batch]
        del self._buffer[:batch]
        return taken

    async def _request(
        self, count: int, *, no_wait: bool, wait: float, until_full: bool = False
    ) -> None:
        """Ask for ``count`` messages and wait until they came, the server ended the
        request, or (a long poll, unless ``until_full``) the first one came."""
        body: dict[str, object] = {"batch": count}
        if no_wait:
            body["no_wait"] = True
        else:
            body["expires"] = int(wait * 1e9)
        self._wanted = len(self._buffer) + (count if no_wait or until_full else 1)
        self._woken.clear()
        await self._nc.publish(self._next_subject, json.dumps(body).encode(), reply=self._inbox)
        # A margin over the server's expiry: its 408 normally ends the wait. Past it the
        # connection stalled: return what came; the caller asks again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._woken.wait(), wait + 1.0)

    def _deliver(self, subject: bytes, reply: bytes, data: bytes, hdr: bytes | None) -> None:
        """A frame of the inbox, straight from :class:`FastParser`."""
        if hdr is not None and not reply and hdr[_STATUS_AT - 1 : _STATUS_AT] == b" ":
            self._status(hdr[_STATUS_AT : _STATUS_AT + 3].decode())
            return
        headers = (Client._parse_header_lines(hdr[_HEADERS_AT:]) or None) if hdr else None
        self._take(Msg(self._nc, subject.decode(), reply.decode(), data, headers, _sid=self._sid))

    async def _receive(self, msg: Msg) -> None:
        """A message of the inbox, through nats-py (a connection without FastParser)."""
        status = JetStreamContext.is_status_msg(msg)
        if status is None:
            self._take(msg)
        else:
            self._status(status)

    def _take(self, msg: Msg) -> None:
        self._buffer.append(msg)
        if len(self._buffer) >= self._wanted:
            self._woken.set()

    def _status(self, status: str) -> None:
        if status != HEARTBEAT:
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
