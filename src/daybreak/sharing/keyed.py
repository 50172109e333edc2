"""Keyed hashes of normalised identifiers: who else has seen this phone, this wallet?

Members of a sharing group hold one secret. Each publishes
``HMAC-SHA256(secret, kind 0x00 normalised value)`` for its identifiers; two members
compare the hashes and learn the identifiers they have in common, nothing else. Without
the secret the hashes cannot be tested against guesses (a plain SHA-256 of a phone
number can: there are only ~10^10 of them).

Limits (docs/link-analysis.md): every member can test guesses against another member's
file, so the secret must stay inside the group and be rotated when a member leaves; the
file reveals how many identifiers of each kind a member has.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from daybreak.model.identifiers import IdentifierError, IdentifierKind, normalize

FORMAT = "daybreak-share/1"
MIN_SECRET_BYTES = 32
# An institution's own customer ids mean nothing elsewhere and are never shared.
SHAREABLE = frozenset(IdentifierKind) - {IdentifierKind.CUSTOMER}


class ShareError(ValueError):
    """A bad secret or a share file that cannot be used; the message says why."""


def check_secret(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ShareError(
            f"the group secret must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
        )
    return secret


def secret_id(secret: bytes) -> str:
    """A public fingerprint of the secret, so files made with another key are refused."""
    return hmac.new(check_secret(secret), b"daybreak-share key id", hashlib.sha256).hexdigest()[:16]


def canonical(kind: str, raw: str) -> tuple[str, str]:
    """The normalised (kind, value); beneficiaries are payment handles."""
    k = IdentifierKind(kind)
    if k is IdentifierKind.BENEFICIARY:
        k = IdentifierKind.PAYMENT_HANDLE
    if k not in SHAREABLE:
        raise ShareError(f"{kind!r} identifiers are internal ids and are never shared")
    return k.value, normalize(k, raw)


def keyed_hash(secret: bytes, kind: str, value: str) -> str:
    k, v = canonical(kind, value)
    msg = k.encode() + b"\x00" + v.encode()
    return hmac.new(check_secret(secret), msg, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SharedSet:
    group: str
    key_id: str
    hashes: frozenset[tuple[str, str]]  # (kind, hex digest)


def hash_all(
    secret: bytes, identifiers: Iterable[tuple[str, str]]
) -> tuple[dict[tuple[str, str], set[tuple[str, str]]], list[str]]:
    """(kind, hash) -> the clear identifiers behind it (kept locally), and the values
    that could not be normalised (reported, not dropped silently)."""
    out: dict[tuple[str, str], set[tuple[str, str]]] = {}
    problems: list[str] = []
    for kind, raw in identifiers:
        try:
            k, v = canonical(kind, raw)
        except (IdentifierError, ValueError) as exc:
            problems.append(f"{kind}:{raw!r}: {exc}")
            continue
        out.setdefault((k, keyed_hash(secret, k, v)), set()).add((k, v))
    return out, problems


def export_lines(
    secret: bytes, group: str, identifiers: Iterable[tuple[str, str]]
) -> tuple[list[str], list[str]]:
    """JSON lines: a header, then one ``{"kind", "hash"}`` per identifier, sorted by
    hash so the order says nothing about where a value came from."""
    hashed, problems = hash_all(secret, identifiers)
    header = {"format": FORMAT, "group": group, "key_id": secret_id(secret), "count": len(hashed)}
    body = [json.dumps({"kind": k, "hash": h}) for k, h in sorted(hashed, key=lambda kh: kh[1])]
    return [json.dumps(header), *body], problems


def parse_lines(lines: Iterable[str], name: str = "<share file>") -> SharedSet:
    it: Iterator[str] = iter(lines)
    try:
        header = json.loads(next(it))
    except (StopIteration, json.JSONDecodeError) as exc:
        raise ShareError(f"{name}: line 1: expected a {FORMAT} header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ShareError(f"{name}: line 1: not a {FORMAT} file")
    hashes: set[tuple[str, str]] = set()
    for n, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            kind, digest = str(row["kind"]), str(row["hash"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ShareError(f"{name}: line {n}: expected {{'kind', 'hash'}} ({exc})") from exc
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ShareError(f"{name}: line {n}: 'hash' is not a hex SHA-256 digest")
        hashes.add((kind, digest))
    if header.get("count") != len(hashes):
        raise ShareError(
            f"{name}: header says {header.get('count')} hashes, the file has {len(hashes)}"
        )
    return SharedSet(str(header.get("group", "")), str(header.get("key_id", "")), frozenset(hashes))


def match(
    secret: bytes, mine: Iterable[tuple[str, str]], theirs: SharedSet
) -> list[tuple[str, str]]:
    """My identifiers (in clear: they are mine) that the other side also holds."""
    if theirs.key_id != secret_id(secret):
        raise ShareError(
            "the other file was made with a different group secret "
            f"(key id {theirs.key_id}, ours {secret_id(secret)}): nothing can match"
        )
    hashed, _ = hash_all(secret, mine)
    common = [ident for kh in hashed if kh in theirs.hashes for ident in hashed[kh]]
    return sorted(common)
