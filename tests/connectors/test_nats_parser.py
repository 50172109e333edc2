"""``FastParser``: the frames of registered subscriptions reach their sink whole and in
order however the bytes are split across reads, and everything else takes nats-py's
own path, unchanged."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client
from nats.errors import ProtocolError

from daybreak.connectors.nats_pull import FastParser

HEADERS = b"NATS/1.0\r\nNats-Msg-Id: m-1\r\n\r\n"
STATUS = b"NATS/1.0 404 No Messages\r\n\r\n"
WIRE = (
    b"MSG in.box 7 $JS.ACK.S.c.1.1.1.0.0 5\r\nhello\r\n"
    b"+OK\r\n"
    b'HMSG in.box 7 $JS.ACK.S.c.1.2.2.0.0 %d %d\r\n%b{"a": 1}\r\n'
    b"MSG other 9 3\r\nxyz\r\n"
    b"MSG in.box 7 0\r\n\r\n"
    b"HMSG in.box  7\t%d %d\r\n%b\r\n"
    b"MSG in.box 7 $JS.ACK.S.c.1.3.3.0.0 4\r\n\r\nab\r\n"
) % (len(HEADERS), len(HEADERS) + 8, HEADERS, len(STATUS), len(STATUS), STATUS)

EXPECTED_SINK = [
    (b"in.box", b"$JS.ACK.S.c.1.1.1.0.0", b"hello", None),
    (b"in.box", b"$JS.ACK.S.c.1.2.2.0.0", b'{"a": 1}', HEADERS),
    (b"in.box", b"", b"", None),
    (b"in.box", b"", b"", STATUS),
    (b"in.box", b"$JS.ACK.S.c.1.3.3.0.0", b"\r\nab", None),  # a payload may hold CRLF
]


def _feed(chunks: list[bytes]) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    nc = Client()
    parser = FastParser(nc)
    sunk: list[tuple[object, ...]] = []
    passed: list[tuple[object, ...]] = []
    parser.sinks[7] = lambda *frame: sunk.append(frame)

    async def process_msg(*frame: object) -> None:
        passed.append(frame)

    nc._process_msg = process_msg  # type: ignore[method-assign]

    async def run() -> None:
        for chunk in chunks:
            await parser.parse(chunk)

    asyncio.run(run())
    assert not parser.buf  # everything read
    return sunk, passed


def test_frames_split_at_every_byte_reach_sinks_in_order() -> None:
    whole = _feed([WIRE])
    assert whole == (EXPECTED_SINK, [(9, b"other", b"", b"xyz", None)])
    for cut in range(1, len(WIRE)):
        assert _feed([WIRE[:cut], WIRE[cut:]]) == whole, cut
    assert _feed([WIRE[i : i + 1] for i in range(len(WIRE))]) == whole


def test_a_malformed_message_line_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        _feed([b"MSG in.box seven 5\r\nhello\r\n"])
