"""Keyed hashes of normalised identifiers: who else has seen this phone, this wallet?

Members of a sharing group hold one secret. Each publishes
``HMAC-SHA256(secret, kind 0x00 normalised value)`` for its identifiers; two members
compare the hashes and learn the identifiers they have in common. Outsiders, who lack
the secret, cannot test guesses (a plain SHA-256 of a phone number can be: there are
only ~10^10 of them).

Limits (docs/link-analysis.md): every member holds the secret, so every member can test
guesses against another member's file offline (a block of a million phone numbers takes
seconds). Where members must not be able to do that, use :mod:`daybreak.sharing.psi`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from daybreak.sharing.canonical import ShareError, canonical, prepare

FORMAT = "daybreak-share/1"
MIN_SECRET_BYTES = 32


def check_secret(secret: bytes) -> bytes:
    if len(secret) < MIN_SECRET_BYTES:
        raise ShareError(
            f"the group secret must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
        )
    return secret


def secret_id(secret: bytes) -> str:
    """A public fingerprint of the secret, so files made with another key are refused."""
    return hmac.new(check_secret(secret), b"daybreak-share key id", hashlib.sha256).hexdigest()[:16]


def _hmac(secret: bytes, kind: str, value: str) -> str:
    msg = kind.encode() + b"\x00" + value.encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def keyed_hash(secret: bytes, kind: str, value: str, region: str | None = None) -> str:
    k, v = canonical(kind, value, region)
    return _hmac(check_secret(secret), k, v)


@dataclass(frozen=True)
class SharedSet:
    group: str
    key_id: str
    hashes: frozenset[tuple[str, str]]  # (kind, hex digest)


def hash_all(
    secret: bytes, identifiers: Iterable[tuple[str, str]], region: str | None = None
) -> tuple[dict[tuple[str, str], tuple[str, str]], list[str]]:
    """(kind, hash) -> the canonical identifier behind it (kept locally), and the
    values that could not be normalised (reported, not dropped silently)."""
    check_secret(secret)
    prepared = prepare(identifiers, region)
    hashed = {(k, _hmac(secret, k, v)): (k, v) for k, v in prepared.identifiers}
    return hashed, list(prepared.skipped)


def export_lines(
    secret: bytes, group: str, identifiers: Iterable[tuple[str, str]], region: str | None = None
) -> tuple[list[str], list[str]]:
    """JSON lines: a header, then one ``{"kind", "hash"}`` per identifier, sorted by
    hash so the order says nothing about where a value came from; and the skipped values."""
    hashed, problems = hash_all(secret, identifiers, region)
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
    secret: bytes,
    mine: Iterable[tuple[str, str]],
    theirs: SharedSet,
    region: str | None = None,
) -> tuple[list[tuple[str, str]], list[str]]:
    """My identifiers (in clear: they are mine) that the other side also holds, and my
    values that could not be normalised (so could not be compared)."""
    if theirs.key_id != secret_id(secret):
        raise ShareError(
            "the other file was made with a different group secret "
            f"(key id {theirs.key_id}, ours {secret_id(secret)}): nothing can match"
        )
    hashed, problems = hash_all(secret, mine, region)
    common = sorted(ident for kh, ident in hashed.items() if kh in theirs.hashes)
    return common, problems
