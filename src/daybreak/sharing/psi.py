"""Private set intersection on X25519: the overlap, and nothing a member can test offline.

Two rounds, exchanged as files (docs/link-analysis.md has the protocol and what each
side learns):

1. The requester A maps each identifier ``x`` to a curve point ``H(x)`` and sends
   ``[a]H(x)`` under a secret scalar ``a`` drawn for this session only.
2. The responder B answers with ``[b][a]H(x)`` for each of A's values (in A's order,
   or sorted for a size-only answer) and ``[b]H(y)`` for each of its own ``y``.
3. A computes ``[a][b]H(y)`` and compares: the same value means the same identifier.

X25519 works on the x-coordinate line of Curve25519 and of its twist alike, and its
clamped scalars commute there, so ``[a][b]P == [b][a]P`` for every hashed ``P``
(tested). Testing a guess ``g`` against a file needs ``[a]H(g)`` or ``[b]H(g)``, that
is the other side's session scalar, which never leaves its machine. Limits: the
semi-honest model (both sides follow the protocol); the requester learns which of its
*requested* values the responder holds, so a requester can put guesses in its request
and the responder must bound and log requests (:mod:`daybreak.sharing.psilog`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from daybreak.sharing.canonical import SHAREABLE_KINDS, ShareError

REQUEST_FORMAT = "daybreak-psi-request/1"
RESPONSE_FORMAT = "daybreak-psi-response/1"
STATE_FORMAT = "daybreak-psi-state/1"
FORMATS = (REQUEST_FORMAT, RESPONSE_FORMAT, STATE_FORMAT)
DOMAIN = b"daybreak-psi/1"
POINT_HEX = 64  # a 32-byte u-coordinate
SESSION_HEX = 32
_HEX = frozenset("0123456789abcdef")


class Mode(StrEnum):
    INTERSECTION = "intersection"  # the requester learns which of its identifiers are shared
    SIZE = "size"  # the requester learns only how many


def point_of(kind: str, value: str) -> bytes:
    """``H(kind, value)``: a u-coordinate, domain-separated by protocol and kind.

    A uniform 255-bit string is the x-coordinate of a point of Curve25519 or of its
    twist (about half each); their prime-order subgroups have about 2^252 and 2^253 points
    and the curve is twist-secure, so the blinding is hard to undo on either."""
    digest = hashlib.sha512(DOMAIN + b"\x00" + kind.encode() + b"\x00" + value.encode()).digest()
    u = bytearray(digest[:32])
    u[31] &= 0x7F  # X25519 ignores bit 255 (RFC 7748); clear it so equal points are equal bytes
    return bytes(u)


def blind(key: X25519PrivateKey, u: bytes) -> bytes:
    """``[k]P`` for the point with u-coordinate ``u``. ValueError for a point of small
    order (whose product with a clamped scalar is zero): honest values are never one."""
    return key.exchange(X25519PublicKey.from_public_bytes(u))


def _blind_all(
    key: X25519PrivateKey, values: Sequence[bytes], where: Callable[[int], str]
) -> list[bytes]:
    out = []
    for i, u in enumerate(values):
        try:
            out.append(blind(key, u))
        except ValueError as exc:
            raise ShareError(
                f"{where(i)}: a point of small order, not a blinded identifier"
            ) from exc
    return out


def _digest(values: Sequence[bytes]) -> str:
    return hashlib.sha256(b"".join(values)).hexdigest()


@dataclass(frozen=True)
class Request:
    session: str
    mode: Mode
    group: str  # who asks (as they name themselves)
    values: tuple[bytes, ...]  # [a]H(x), sorted, distinct

    @property
    def digest(self) -> str:
        return _digest(self.values)

    def lines(self) -> list[str]:
        header = {"format": REQUEST_FORMAT, "session": self.session, "mode": self.mode.value,
                  "group": self.group, "count": len(self.values)}  # fmt: skip
        return [json.dumps(header), *(v.hex() for v in self.values)]


@dataclass(frozen=True)
class Response:
    session: str
    mode: Mode
    group: str  # who answers
    request_digest: str
    replies: tuple[bytes, ...]  # [b][a]H(x): in the request's order, or sorted if size-only
    own: tuple[bytes, ...]  # [b]H(y) of the responder's identifiers, sorted

    def lines(self) -> list[str]:
        header = {"format": RESPONSE_FORMAT, "session": self.session, "mode": self.mode.value,
                  "group": self.group, "request_digest": self.request_digest,
                  "replies": len(self.replies), "own": len(self.own)}  # fmt: skip
        return [json.dumps(header), *(v.hex() for v in self.replies), *(v.hex() for v in self.own)]


@dataclass(frozen=True)
class State:
    """What the requester keeps between its two steps: the session scalar (secret) and,
    for an intersection, its identifiers in request order. Written mode 0600, deleted
    by ``finish``."""

    session: str
    mode: Mode
    group: str
    scalar: bytes
    request_digest: str
    identifiers: tuple[tuple[str, str], ...]  # empty for a size-only request
    created_at: str

    def text(self) -> str:
        return json.dumps({
            "format": STATE_FORMAT, "session": self.session, "mode": self.mode.value,
            "group": self.group, "scalar": self.scalar.hex(),
            "request_digest": self.request_digest, "created_at": self.created_at,
            "identifiers": [list(i) for i in self.identifiers],
        })  # fmt: skip


@dataclass(frozen=True)
class Result:
    mode: Mode
    size: int  # identifiers in common
    common: tuple[tuple[str, str], ...] | None  # which ones (None when only the size is known)
    mine: int  # identifiers the requester put in
    theirs: int  # identifiers the responder put in
    responder: str


def start(identifiers: Sequence[tuple[str, str]], group: str, mode: Mode) -> tuple[Request, State]:
    """Round 1 for canonical, distinct ``identifiers`` under a fresh session scalar."""
    key = X25519PrivateKey.generate()
    blinded = sorted((blind(key, point_of(k, v)), (k, v)) for k, v in dict.fromkeys(identifiers))
    values = tuple(b for b, _ in blinded)
    request = Request(secrets.token_hex(SESSION_HEX // 2), mode, group, values)
    state = State(
        session=request.session,
        mode=mode,
        group=group,
        scalar=key.private_bytes_raw(),
        request_digest=request.digest,
        identifiers=tuple(i for _, i in blinded) if mode is Mode.INTERSECTION else (),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return request, state


def respond(
    request: Request, identifiers: Sequence[tuple[str, str]], group: str, *, size_only: bool = False
) -> Response:
    """Round 2 under a fresh scalar that is never stored. ``size_only`` answers a
    request for the intersection with its size only."""
    key = X25519PrivateKey.generate()
    replies = _blind_all(key, request.values, lambda i: f"request value {i + 1}")
    mode = Mode.SIZE if size_only else request.mode
    if mode is Mode.SIZE:
        replies.sort()  # blinded values are pseudo-random: sorting is a shuffle
    own = sorted(blind(key, point_of(k, v)) for k, v in dict.fromkeys(identifiers))
    return Response(request.session, mode, group, request.digest, tuple(replies), tuple(own))


def finish(state: State, response: Response, name: str = "<response>") -> Result:
    """Round 3: compare ``[a][b]H(y)`` with the replies to ``[a]H(x)``."""
    if response.session != state.session:
        raise ShareError(
            f"{name}: answers session {response.session}, the state is for session "
            f"{state.session}; values of different sessions never match"
        )
    if response.request_digest != state.request_digest:
        raise ShareError(f"{name}: answers another request than the one this state made")
    key = X25519PrivateKey.from_private_bytes(state.scalar)
    theirs = set(_blind_all(key, response.own, lambda i: f"{name}: own value {i + 1}"))
    mine = len(response.replies)
    if state.mode is Mode.SIZE or response.mode is Mode.SIZE:
        size = len(set(response.replies) & theirs)
        return Result(Mode.SIZE, size, None, mine, len(response.own), response.group)
    if len(state.identifiers) != mine:
        raise ShareError(
            f"{name}: {mine} replies for a request of {len(state.identifiers)} identifiers"
        )
    common = tuple(
        sorted(i for i, r in zip(state.identifiers, response.replies, strict=True) if r in theirs)
    )
    return Result(Mode.INTERSECTION, len(common), common, mine, len(response.own), response.group)


# ---------------------------------------------------------------- strict file parsing


def _header(line: str | None, name: str, expected: str, fields: dict[str, type]) -> dict[str, Any]:
    where = f"{name}: line 1"
    if line is None:
        raise ShareError(f"{where}: the file is empty; expected a {expected} header")
    try:
        header = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ShareError(f"{where}: expected a JSON {expected} header ({exc.msg})") from exc
    if not isinstance(header, dict):
        raise ShareError(f'{where}: expected a JSON object with "format": "{expected}"')
    fmt = header.get("format")
    if fmt != expected:
        what = f"a {fmt} file" if fmt in FORMATS else f"format {fmt!r}"
        family = expected.rsplit("/", 1)[0]
        if isinstance(fmt, str) and fmt.startswith(family + "/"):
            what = f"version {fmt.rsplit('/', 1)[1]!r} of {family}"
        raise ShareError(f"{where}: this is {what}; expected {expected}")
    for field, typ in fields.items():
        value = header.get(field)
        if not isinstance(value, typ) or isinstance(value, bool) != (typ is bool):
            raise ShareError(f"{where}: field {field!r} missing or not a {typ.__name__}")
    extra = set(header) - {"format", *fields}
    if extra:
        raise ShareError(f"{where}: unexpected field(s) {sorted(extra)}")
    return header


def _session(value: str, where: str) -> str:
    if len(value) != SESSION_HEX or not set(value) <= _HEX:
        raise ShareError(f"{where}: 'session' must be {SESSION_HEX} lower-case hex characters")
    return value


def _mode(value: str, where: str) -> Mode:
    try:
        return Mode(value)
    except ValueError:
        raise ShareError(
            f"{where}: 'mode' must be 'intersection' or 'size', got {value!r}"
        ) from None


def _count(header: dict[str, Any], field: str, where: str) -> int:
    n = int(header[field])
    if n < 0:
        raise ShareError(f"{where}: {field!r} must not be negative")
    return n


def _points(
    lines: Sequence[str], first: int, n: int, name: str, *, ordered: bool
) -> tuple[bytes, ...]:
    """``n`` lines of 64 lower-case hex characters starting at line number ``first``."""
    if len(lines) < n:
        raise ShareError(
            f"{name}: line {first + len(lines)}: the file ends after {len(lines)} of {n} values"
        )
    out: list[bytes] = []
    for i, line in enumerate(lines[:n]):
        if len(line) != POINT_HEX or not set(line) <= _HEX:
            raise ShareError(
                f"{name}: line {first + i}: expected {POINT_HEX} lower-case hex characters "
                f"(one blinded value), got {line[:80]!r}"
            )
        value = bytes.fromhex(line)
        if ordered and out and value <= out[-1]:
            raise ShareError(f"{name}: line {first + i}: values must be sorted and distinct")
        out.append(value)
    return tuple(out)


def _no_more(lines: Sequence[str], used: int, name: str) -> None:
    if len(lines) > used:
        raise ShareError(
            f"{name}: line {used + 1}: more lines than the header announces ({used - 1} values)"
        )


def parse_request(text: str, name: str = "<request>") -> Request:
    lines = text.splitlines()
    fields: dict[str, type] = {"session": str, "mode": str, "group": str, "count": int}
    h = _header(lines[0] if lines else None, name, REQUEST_FORMAT, fields)
    where = f"{name}: line 1"
    n = _count(h, "count", where)
    values = _points(lines[1:], 2, n, name, ordered=True)
    _no_more(lines, 1 + n, name)
    return Request(_session(h["session"], where), _mode(h["mode"], where), h["group"], values)


def parse_response(text: str, name: str = "<response>") -> Response:
    lines = text.splitlines()
    fields: dict[str, type] = {"session": str, "mode": str, "group": str, "request_digest": str,
              "replies": int, "own": int}  # fmt: skip
    h = _header(lines[0] if lines else None, name, RESPONSE_FORMAT, fields)
    where = f"{name}: line 1"
    mode = _mode(h["mode"], where)
    n, m = _count(h, "replies", where), _count(h, "own", where)
    # Size-only replies are sorted; intersection replies follow the request's order.
    replies = _points(lines[1 : 1 + n], 2, n, name, ordered=mode is Mode.SIZE)
    own = _points(lines[1 + n :], 2 + n, m, name, ordered=True)
    _no_more(lines, 1 + n + m, name)
    digest = h["request_digest"]
    if len(digest) != 64 or not set(digest) <= _HEX:
        raise ShareError(f"{where}: 'request_digest' must be 64 lower-case hex characters")
    return Response(_session(h["session"], where), mode, h["group"], digest, replies, own)


def parse_state(text: str, name: str = "<state>") -> State:
    fields: dict[str, type] = {"session": str, "mode": str, "group": str, "scalar": str,
              "request_digest": str, "created_at": str, "identifiers": list}  # fmt: skip
    lines = text.splitlines()
    if len(lines) != 1:
        raise ShareError(f"{name}: expected one line of JSON (a {STATE_FORMAT} file)")
    h = _header(lines[0], name, STATE_FORMAT, fields)
    where = f"{name}: line 1"
    scalar = h["scalar"]
    if len(scalar) != 64 or not set(scalar) <= _HEX:
        raise ShareError(f"{where}: 'scalar' must be 64 lower-case hex characters")
    idents = []
    for i, item in enumerate(h["identifiers"]):
        ok = isinstance(item, list) and len(item) == 2 and all(isinstance(s, str) for s in item)
        if not ok or item[0] not in SHAREABLE_KINDS:
            raise ShareError(f"{where}: identifiers[{i}] must be [kind, value], got {item!r}")
        idents.append((item[0], item[1]))
    return State(
        session=_session(h["session"], where),
        mode=_mode(h["mode"], where),
        group=h["group"],
        scalar=bytes.fromhex(scalar),
        request_digest=h["request_digest"],
        identifiers=tuple(idents),
        created_at=h["created_at"],
    )
