"""Integrity of stored rows beyond the audit chain: row MACs and the row-binding upgrade.

*Row MACs.* The plain columns that triage and the case workflow act on (a case's status,
assignee, outcome, tier and priority; a report's tier, score and routing; a cluster's
tier and score) are sorted and filtered by the database, so they cannot be encrypted.
Each such row carries ``row_mac = HMAC(row key, table, primary key, values)`` under a
key derived from the audit key; every write path of the store recomputes it, and
``daybreak audit verify`` recomputes it for every row and names each row whose values
were changed outside Daybreak (by SQL). A deleted row is not detectable here: the audit
chain records every creation.

*Row binding.* Ciphertexts carry ``table.column:primary key`` as AES-GCM associated data,
so a value copied into another row does not decrypt. Stores written before that used
``table.column`` only; :func:`upgrade` re-encrypts them once, when the store opens with
its keys (Alembic migrations have no keys), and records it in ``store_meta``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, select, update

from daybreak.store import meta
from daybreak.store.audit import AuditAppender, utc
from daybreak.store.keys import KeyError_, Keyring, bound
from daybreak.store.tables import (
    DEFAULT_ORG,
    case_events,
    case_links,
    case_notes,
    case_referrals,
    case_tier_overrides,
    cases,
    clusters,
    estimates,
    report_identifiers,
    reports,
    subject_labels,
)

# The columns each row MAC covers (besides the primary key). reports.cluster_id is left
# out: merges move reports between clusters in bulk, and the cluster's own row is
# covered. Timestamps are stored in UTC so that they read back as written.
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "reports": (
        "received_at",
        "source",
        "submitted_by",
        "reporter_type",
        "incident_type",
        "is_live",
        "occurred_at",
        "tier",
        "score",
        "reasons",
        "country",
        "route_basis",
        "agency",
    ),
    "cases": (
        "priority",
        "tier",
        "status",
        "outcome",
        "assignee",
        "country",
        "routed_agency",
        "created_at",
        "updated_at",
    ),
    "clusters": ("created_at", "updated_at", "report_count", "tier", "score", "merged_into"),
}
MACED: tuple[Table, ...] = (reports, cases, clusters)
_FLOATS = frozenset({"priority", "score"})


def primary_key(table: Table) -> Column[Any]:
    (col,) = table.primary_key.columns
    return col


def _plain(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat(timespec="microseconds")
    if name in _FLOATS and value is not None:
        return float(value)
    return value


def row_mac(keys: Keyring, table: Table, values: Mapping[Any, Any]) -> str:
    """The MAC of one row of ``reports``, ``cases`` or ``clusters`` from its values. The
    row's organisation is covered when it is not the default one (rows written before
    organisations existed keep their MACs; a row moved to another organisation by SQL
    no longer matches)."""
    names = ROW_FIELDS[table.name]
    fields: list[Any] = [
        table.name,
        values[primary_key(table).name],
        [_plain(n, values[n]) for n in names],
    ]
    org = values.get("org_id", DEFAULT_ORG)
    if org != DEFAULT_ORG:
        fields.append(org)
    body = json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    return keys.row_mac(body)


def with_mac(keys: Keyring, table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (a whole row) with its ``row_mac`` set."""
    values["row_mac"] = row_mac(keys, table, values)
    return values


def refresh_mac(conn: Connection, keys: Keyring, table: Table, pk: str) -> None:
    """Recompute one row's MAC from what is stored (after a partial update)."""
    key = primary_key(table)
    cols = [key, table.c.org_id, *(table.c[n] for n in ROW_FIELDS[table.name])]
    row = conn.execute(select(*cols).where(key == pk)).mappings().first()
    if row is not None:
        conn.execute(update(table).where(key == pk).values(row_mac=row_mac(keys, table, dict(row))))


@dataclass
class RowCheck:
    rows: int = 0
    bad: int = 0
    problems: list[str] = field(default_factory=list)


def check_rows(conn: Connection, keys: Keyring, max_listed: int = 50) -> RowCheck:
    """Recompute every row MAC; name each row that does not match (up to ``max_listed``)."""
    out = RowCheck()
    for table in MACED:
        key = primary_key(table)
        cols = [key, table.c.row_mac, table.c.org_id, *(table.c[n] for n in ROW_FIELDS[table.name])]
        q = select(*cols).order_by(key)
        for row in conn.execute(q).mappings().yield_per(2000):
            out.rows += 1
            stored = row["row_mac"]
            if stored is not None and stored == row_mac(keys, table, row):
                continue
            out.bad += 1
            if len(out.problems) < max_listed:
                what = "has no row MAC" if stored is None else "does not match its row MAC"
                names = ", ".join(ROW_FIELDS[table.name])
                out.problems.append(
                    f"{table.name} {row[key.name]}: {what} (one of {names} was changed "
                    "outside Daybreak)"
                )
    return out


# ---- the row-binding upgrade -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sealed:
    """An encrypted column and the columns that name its row in the associated data."""

    table: Table
    column: str
    row_key: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"

    def context(self, row: Mapping[str, Any]) -> str:
        return bound(self.name, *(row[k] for k in self.row_key))


# report_identifiers and subject_labels are bound to their natural unique key, known
# before the insert (the surrogate id is assigned by the database in bulk inserts).
SEALED: tuple[Sealed, ...] = (
    Sealed(reports, "payload_enc", ("report_id",)),
    Sealed(report_identifiers, "value_enc", ("report_id", "value_index")),
    Sealed(cases, "body_enc", ("case_id",)),
    Sealed(cases, "summary_enc", ("case_id",)),
    Sealed(case_notes, "text_enc", ("id",)),
    Sealed(case_events, "reason_enc", ("id",)),
    Sealed(case_tier_overrides, "reason_enc", ("id",)),
    Sealed(case_links, "detail_enc", ("id",)),
    Sealed(case_referrals, "export_enc", ("id",)),
    Sealed(case_referrals, "reference_enc", ("id",)),
    Sealed(subject_labels, "subject_enc", ("case_id", "subject_type", "value_index")),
    Sealed(estimates, "body_enc", ("estimate_id",)),
)


def pages(conn: Connection, table: Table, cols: list[Any], size: int = 500) -> Iterator[list[Any]]:
    """All rows of ``table`` in primary-key order, a page at a time (keyset paging)."""
    key = primary_key(table)
    last: Any = None
    while True:
        q = select(key, *cols).order_by(key).limit(size)
        if last is not None:
            q = q.where(key > last)
        page = list(conn.execute(q).mappings())
        if not page:
            return
        yield page
        last = page[-1][key.name]


def _rebind(conn: Connection, keys: Keyring, spec: Sealed) -> int:
    key = primary_key(spec.table)
    cols = [spec.table.c[spec.column], *(spec.table.c[k] for k in spec.row_key if k != key.name)]
    stmt = (
        update(spec.table).where(key == bindparam("_pk")).values({spec.column: bindparam("_blob")})
    )
    done = 0
    for page in pages(conn, spec.table, cols):
        changes = []
        for row in page:
            blob = row[spec.column]
            if blob is None:
                continue
            try:
                plain = keys.decrypt(blob, spec.name)  # the format before 0003, only here
            except KeyError_ as exc:
                raise KeyError_(
                    f"upgrade: {spec.name} of row {row[key.name]} does not decrypt with "
                    "this field key (wrong key, or the value was tampered with)"
                ) from exc
            changes.append({"_pk": row[key.name], "_blob": keys.encrypt(plain, spec.context(row))})
        if changes:
            conn.execute(stmt, changes)
            done += len(changes)
    return done


def write_macs(conn: Connection, keys: Keyring, table: Table) -> int:
    key = primary_key(table)
    cols = [table.c.org_id, *(table.c[n] for n in ROW_FIELDS[table.name])]
    stmt = update(table).where(key == bindparam("_pk")).values(row_mac=bindparam("_mac"))
    done = 0
    for page in pages(conn, table, cols):
        conn.execute(stmt, [{"_pk": r[key.name], "_mac": row_mac(keys, table, r)} for r in page])
        done += len(page)
    return done


def needs_upgrade(conn: Connection) -> bool:
    return meta.get(conn, meta.ROW_BINDING) != "1"


def upgrade(conn: Connection, keys: Keyring) -> bool:
    """Bind every ciphertext to its row, write the row MACs and the head MAC, and
    record the last audit entry keyed from the field key. Runs once (in the caller's
    write transaction, with the audit head locked, so concurrent openers wait and then
    find it done); returns whether it ran."""
    if not needs_upgrade(conn):
        return False
    audit = AuditAppender(conn, keys)  # locks the head: concurrent openers wait here
    if not needs_upgrade(conn):
        return False
    legacy_until = audit.seq
    rebound = {spec.name: _rebind(conn, keys, spec) for spec in SEALED}
    macs = {table.name: write_macs(conn, keys, table) for table in MACED}
    meta.put(conn, meta.AUDIT_LEGACY_UNTIL, str(legacy_until))
    meta.put(conn, meta.ROW_BINDING, "1")
    audit.append(
        "system",
        "store.upgrade",
        "store",
        "row_binding",
        {"rebound": rebound, "row_macs": macs, "audit_legacy_until": legacy_until},
    )
    audit.close()
    return True
