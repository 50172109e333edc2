"""The tamper-evident audit log: a keyed hash chain over every read and write of case data.

Entry ``n`` stores ``hash_n = HMAC(audit_key, hash_{n-1} || canonical(entry_n))`` and the
single-row ``audit_head`` holds the last ``(seq, hash)``. Editing, deleting or
re-ordering any entry, or cutting entries off the end, breaks the chain or its match with
the head; without the key a forger cannot compute valid hashes. Entries carry ids,
actions and counts only, never personal data, so the log can outlive retention.

Appends happen inside the caller's transaction (with the head row locked), so an audit
entry exists exactly when the change or read it records was committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from daybreak.store.keys import Keyring
from daybreak.store.tables import audit_head, audit_log

GENESIS = "0" * 64


def utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; everything the store hands out is UTC-aware."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _canonical(
    seq: int, at: datetime, actor: str, action: str, otype: str, oid: str, detail: str
) -> str:
    return json.dumps(
        [seq, utc(at).isoformat(timespec="microseconds"), actor, action, otype, oid, detail],
        separators=(",", ":"),
        ensure_ascii=True,
    )


# Built once: every write transaction appends, and building the expressions costs
# more than running them.
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
_INSERT_ENTRIES = insert(audit_log)
_UPDATE_HEAD = update(audit_head).where(audit_head.c.id == 1)


class AuditAppender:
    """Appends entries within one transaction; call :meth:`close` before commit."""

    def __init__(self, conn: Connection, keys: Keyring) -> None:
        self.conn = conn
        self.keys = keys
        row = conn.execute(_HEAD).first()
        if row is None:
            conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
            self.seq, self.hash = 0, GENESIS
        else:
            self.seq, self.hash = int(row.seq), str(row.hash)
        self._start = self.seq
        self._rows: list[dict[str, Any]] = []

    def append(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        at = utc(at or datetime.now(UTC))
        detail_text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"))
        seq = self.seq + 1
        body = _canonical(seq, at, actor, action, object_type, object_id, detail_text)
        digest = self.keys.audit_mac(self.hash, body)
        self._rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "detail": detail_text,
                "prev_hash": self.hash,
                "hash": digest,
            }
        )
        self.seq, self.hash = seq, digest

    def close(self) -> None:
        if not self._rows:
            return
        self.conn.execute(_INSERT_ENTRIES, self._rows)
        self.conn.execute(_UPDATE_HEAD, {"seq": self.seq, "hash": self.hash})
        self._rows = []


def append_one(
    conn: Connection,
    keys: Keyring,
    actor: str,
    action: str,
    otype: str,
    oid: str,
    detail: dict[str, Any] | None = None,
) -> None:
    appender = AuditAppender(conn, keys)
    appender.append(actor, action, otype, oid, detail)
    appender.close()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    problems: tuple[str, ...] = ()


def iter_entries(conn: Connection, object_id: str | None = None) -> Iterator[AuditEntry]:
    q = select(audit_log).order_by(audit_log.c.seq)
    if object_id is not None:
        q = q.where(audit_log.c.object_id == object_id)
    for r in conn.execute(q):
        yield AuditEntry(
            r.seq, utc(r.at), r.actor, r.action, r.object_type, r.object_id, json.loads(r.detail)
        )


def verify(conn: Connection, keys: Keyring, max_problems: int = 20) -> VerifyResult:
    """Recompute the chain from the genesis and compare it with the stored hashes and head."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)).yield_per(2000):
        count += 1
        if r.seq != expected_seq:
            problems.append(f"entry {expected_seq}: missing (next stored entry is {r.seq})")
        if r.prev_hash != prev:
            problems.append(f"entry {r.seq}: prev_hash does not match the entry before it")
        body = _canonical(r.seq, r.at, r.actor, r.action, r.object_type, r.object_id, r.detail)
        if keys.audit_mac(r.prev_hash, body) != r.hash:
            problems.append(f"entry {r.seq}: content does not match its hash (edited)")
        prev, expected_seq = r.hash, r.seq + 1
        if len(problems) >= max_problems:
            break
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    ).first()
    if len(problems) < max_problems:
        if head is None:
            if count:
                problems.append("audit head is missing")
        elif head.seq != expected_seq - 1 or head.hash != prev:
            problems.append(
                f"chain ends at entry {expected_seq - 1} but the head records entry {head.seq}"
                " (entries removed from the end, or the head was edited)"
            )
    return VerifyResult(ok=not problems, entries=count, problems=tuple(problems))
