"""The tamper-evident audit log: a keyed hash chain over every read and write of case data.

Entry ``n`` stores ``hash_n = HMAC(audit_key, hash_{n-1} || canonical(entry_n))`` and the
single-row ``audit_head`` holds the last ``(seq, hash)`` with a MAC over both. The audit
key is separate from the field key (:mod:`daybreak.store.keys`), so holding the field key
does not let anyone rebuild the chain. Editing, deleting or re-ordering any entry breaks
the chain; cutting entries off the end and setting the head back needs the head's MAC,
and even a whole older copy of the database (a consistent chain and head) is caught by
the checkpoints written outside it (:mod:`daybreak.store.checkpoints`). Entries carry
ids, actions and counts only, never personal data, so the log can outlive retention.
Entries written before the audit key was separate (up to ``audit_legacy_until`` in
``store_meta``) are verified with the key derived from the field key.

Appends happen inside the caller's transaction (with the head row locked), so an audit
entry exists exactly when the change it records was committed. Reads are audited by
group commit (:class:`~daybreak.store.repositories.context.AuditCommitter`): the read
runs on the read connection, its entry joins the next batch of entries (one transaction,
one fsync) and the reader waits for that commit before it returns anything, so no case
data leaves the store before the entry recording its read is on disk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from daybreak.store import meta
from daybreak.store.checkpoints import Checkpoint, compare
from daybreak.store.keys import Keyring
from daybreak.store.tables import DEFAULT_ORG, audit_head, audit_log

GENESIS = "0" * 64


def utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; everything the store hands out is UTC-aware."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    otype: str,
    oid: str,
    detail: str,
    org_id: str = DEFAULT_ORG,
) -> str:
    """The text an entry's hash covers. The organisation is part of it when it is not
    the default one (so entries written before organisations existed verify as they
    were, and an entry cannot be moved to another organisation without breaking the
    chain)."""
    fields: list[object] = [seq, utc(at).isoformat(timespec="microseconds"), actor, action]
    fields += [otype, oid, detail]
    if org_id != DEFAULT_ORG:
        fields.append(org_id)
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True)


# Built once: every write transaction appends, and building the expressions costs
# more than running them.
_HEAD = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
_INSERT_ENTRIES = insert(audit_log)
_UPDATE_HEAD = update(audit_head).where(audit_head.c.id == 1)


class AuditAppender:
    """Appends entries within one transaction; call :meth:`close` before commit. The
    entries belong to ``keys.org_id``, the organisation of the keyring (one chain, with
    the deployment's audit keys, for every organisation)."""

    def __init__(self, conn: Connection, keys: Keyring) -> None:
        self.conn = conn
        self.keys = keys
        row = conn.execute(_HEAD).first()
        if row is None:
            conn.execute(
                insert(audit_head).values(id=1, seq=0, hash=GENESIS, mac=keys.head_mac(0, GENESIS))
            )
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
        org = self.keys.org_id
        body = canonical(seq, at, actor, action, object_type, object_id, detail_text, org)
        digest = self.keys.audit_mac(self.hash, body)
        self._rows.append(
            {
                "org_id": org,
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
        self.conn.execute(
            _UPDATE_HEAD,
            {"seq": self.seq, "hash": self.hash, "mac": self.keys.head_mac(self.seq, self.hash)},
        )
        self._rows = []


def ensure_head(conn: Connection, keys: Keyring) -> None:
    """Create the chain's head row if the store has none yet. Called at start-up (under
    :func:`daybreak.store.db.startup_lock`): otherwise the first appends of several
    server processes would race to insert it and all but one fail."""
    AuditAppender(conn, keys)


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
class PendingEntry:
    """An entry waiting to be appended: ``keys`` are its organisation's."""

    keys: Keyring
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, Any] | None = None


def append_entries(conn: Connection, entries: list[PendingEntry]) -> None:
    """Append ``entries`` in order in ``conn``'s transaction (one appender per run of
    entries of one organisation, each closed before the next reads the head)."""
    appender: AuditAppender | None = None
    for e in entries:
        if appender is None or appender.keys.org_id != e.keys.org_id:
            if appender is not None:
                appender.close()
            appender = AuditAppender(conn, e.keys)
        appender.append(e.actor, e.action, e.object_type, e.object_id, e.detail)
    if appender is not None:
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
    org_id: str = DEFAULT_ORG


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries: int
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    checkpoints: int = 0  # checkpoint lines compared with the chain
    rows: int = 0  # rows whose MAC was recomputed
    bad_rows: int = 0


def iter_entries(
    conn: Connection, object_id: str | None = None, org_id: str | None = None
) -> Iterator[AuditEntry]:
    """Entries in order (about ``object_id``; of ``org_id``; None: of every one)."""
    q = select(audit_log).order_by(audit_log.c.seq)
    if object_id is not None:
        q = q.where(audit_log.c.object_id == object_id)
    if org_id is not None:
        q = q.where(audit_log.c.org_id == org_id)
    for r in conn.execute(q):
        yield entry_of(r)


def entry_of(r: Any) -> AuditEntry:
    """The entry of one ``audit_log`` row."""
    detail = json.loads(r.detail)
    return AuditEntry(
        r.seq, utc(r.at), r.actor, r.action, r.object_type, r.object_id, detail, r.org_id
    )


def head_for_checkpoint(conn: Connection, keys: Keyring) -> tuple[int, str] | str:
    """The head ``(seq, hash)`` if its MAC holds and the chain has that entry; else why
    not (a checkpoint must never write down a forged or dangling head)."""
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash, audit_head.c.mac).where(audit_head.c.id == 1)
    ).first()
    if head is None:
        return 0, GENESIS
    if head.mac != keys.head_mac(head.seq, head.hash):
        return "the audit head's MAC does not match (edited outside Daybreak)"
    if head.seq:
        stored = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == head.seq)).scalar()
        if stored != head.hash:
            return f"the audit head records entry {head.seq}, which the chain does not hold"
    return int(head.seq), str(head.hash)


def verify(
    conn: Connection,
    keys: Keyring,
    checkpoints: list[Checkpoint] | None = None,
    where: str = "checkpoints",
    max_problems: int = 20,
    previous: Keyring | None = None,
) -> VerifyResult:
    """Recompute the chain from the genesis and compare it with the stored hashes, the
    head (and its MAC) and the ``checkpoints`` (lines of the file ``where``).
    ``previous``: the keys before the last audit-key rotation, to check the checkpoints
    written before it (against the chain as that key hashed it)."""
    legacy_until = int(meta.get(conn, meta.AUDIT_LEGACY_UNTIL) or 0)
    upgraded = meta.get(conn, meta.ROW_BINDING) == "1"
    wanted = {p.seq for p in checkpoints or ()}
    seen: dict[int, str] = {}
    problems: list[str] = []
    before = _Before.of(conn, previous)
    prev, expected_seq, count = GENESIS, 1, 0
    for r in conn.execute(select(audit_log).order_by(audit_log.c.seq)).yield_per(2000):
        if before is not None:
            before.follow(r, wanted)
        count += 1
        if r.seq != expected_seq:
            problems.append(f"entry {expected_seq}: missing (next stored entry is {r.seq})")
        if r.prev_hash != prev:
            problems.append(f"entry {r.seq}: prev_hash does not match the entry before it")
        body = canonical(
            r.seq, r.at, r.actor, r.action, r.object_type, r.object_id, r.detail, r.org_id
        )
        mac = keys.legacy_audit_mac if r.seq <= legacy_until else keys.audit_mac
        if mac(r.prev_hash, body) != r.hash:
            problems.append(f"entry {r.seq}: content does not match its hash (edited)")
        if r.seq in wanted:
            seen[r.seq] = r.hash
        prev, expected_seq = r.hash, r.seq + 1
        if len(problems) >= max_problems:
            break
    last = expected_seq - 1
    if len(problems) < max_problems:
        problems += _head_problems(conn, keys, count, last, prev, upgraded)
        if upgraded and last <= legacy_until:
            problems.append(
                f"the store was upgraded at entry {legacy_until + 1} but the chain ends at "
                f"entry {last}: entries were removed from the end"
            )
    warnings: list[str] = []
    if checkpoints is None:
        warnings.append(
            "no checkpoint file: a chain cut at its end, or a database restored from an "
            "older copy, cannot be detected (docs/operations.md, audit checkpoints)"
        )
    else:
        older = None
        if before is not None:
            problems += before.problems()
            older = (before.keys, before.seen, before.handover)
        problems += compare(checkpoints, keys, seen, last, where, older)
    return VerifyResult(
        ok=not problems,
        entries=count,
        problems=tuple(problems),
        warnings=tuple(warnings),
        checkpoints=len(checkpoints or ()),
    )


ROTATE_AUDIT_KEY = "store.rotate_audit_key"  # the hand-over entry of a rotation


@dataclass
class _Before:
    """The chain as the audit key before the last rotation hashed it, up to the
    hand-over recorded in the rotation's own entry (under the new key)."""

    keys: Keyring
    handover: int
    head: str
    legacy_until: int
    prev: str = GENESIS
    seen: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, conn: Connection, keys: Keyring | None) -> _Before | None:
        if keys is None:
            return None
        detail = conn.execute(
            select(audit_log.c.detail)
            .where(audit_log.c.action == ROTATE_AUDIT_KEY)
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).scalar()
        if detail is None:
            return None
        d = json.loads(detail)
        return cls(
            keys,
            int(d["verified_until"]),
            str(d["previous_head"]),
            int(d.get("previous_legacy_until", 0)),
        )

    def follow(self, r: Any, wanted: set[int]) -> None:
        if r.seq > self.handover:
            return
        body = canonical(
            r.seq, r.at, r.actor, r.action, r.object_type, r.object_id, r.detail, r.org_id
        )
        mac = self.keys.legacy_audit_mac if r.seq <= self.legacy_until else self.keys.audit_mac
        self.prev = mac(self.prev, body)
        if r.seq in wanted:
            self.seen[r.seq] = self.prev

    def problems(self) -> list[str]:
        if self.prev == self.head:
            return []
        return [
            f"entries 1-{self.handover} do not hash, under the previous audit key, to the head "
            "the rotation recorded (wrong previous key, or entries edited since)"
        ]


def _head_problems(
    conn: Connection, keys: Keyring, count: int, last: int, last_hash: str, upgraded: bool
) -> list[str]:
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash, audit_head.c.mac).where(audit_head.c.id == 1)
    ).first()
    if head is None:
        return ["audit head is missing"] if count else []
    out = []
    if upgraded and head.mac != keys.head_mac(head.seq, head.hash):
        out.append("the audit head's MAC does not match (the head was edited outside Daybreak)")
    if head.seq != last or head.hash != last_hash:
        out.append(
            f"chain ends at entry {last} but the head records entry {head.seq}"
            " (entries removed from the end, or the head was edited)"
        )
    return out
