"""Rotating the store's keys: the field key (and with it every organisation's keys) and
the audit key. Each rotation runs in one transaction of the caller (the writer lock
held, the audit head locked): a crash or an error anywhere leaves the store exactly as
it was, readable with the old key, and the command can simply be run again.

*Field key.* Every ciphertext is decrypted with the old keys and encrypted with the new
ones (of the row's organisation, bound to the same row), and every blind index is
recomputed from the plain value it stands for: report identifiers from the report's
payload, a case's entity keys and search forms from its body, labelled subjects from
their ciphertext, and the tables that hold only an index (which identifier belongs to
which cluster, which identifiers carry alerts, NCMEC submissions per service) through
the old-to-new map those give. Pointers the map cannot translate (identifiers of
reports retention deleted, alerts about identifiers no stored report or case carries)
are deleted and counted. Console sessions (their state is encrypted) and rate-limit
buckets (keyed) are deleted: everyone signs in again. Per-organisation keys are derived
from the field key, so they all rotate with it. Row MACs and the audit chain are keyed
with the audit key and do not change. ``store_meta`` then records a check value of the
new key, so a process started with the old one is refused when it opens the store.

*Audit key.* The chain is a keyed chain (each entry's hash is an HMAC under the audit
key), so re-keying it recomputes every entry's hash from the genesis under the new key;
the head MAC and every row MAC are rewritten too, and an entry
``store.rotate_audit_key`` records the hand-over: the last entry verified under the old
key and the chain's head hash under it. Checkpoints written before hold the old hashes
under the old key; :func:`daybreak.store.audit.verify` checks them when given that key
(it recomputes the old chain up to the hand-over).

Both refuse to start unless the audit chain and every row MAC verify with the current
keys (and the checkpoints, when given), and unless the old field key decrypts the
store's first report and case.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, delete, select, update

from daybreak.model.cases import Case, case_search_forms
from daybreak.store import cases as case_ops
from daybreak.store import integrity, meta
from daybreak.store.audit import GENESIS, ROTATE_AUDIT_KEY, AuditAppender, canonical, verify
from daybreak.store.checkpoints import Checkpoint
from daybreak.store.cybertip import RESPONSE, service_key
from daybreak.store.integrity import SEALED, Sealed, check_rows, pages
from daybreak.store.keys import KeyError_, Keyring, bound
from daybreak.store.labels import subject_key
from daybreak.store.reports import PAYLOAD
from daybreak.store.tables import (
    alerted_identifiers,
    audit_head,
    audit_log,
    cases,
    cybertip_submissions,
    identifier_clusters,
    rate_buckets,
    reports,
    web_sessions,
)
from daybreak.tipline.intake import ReportIn
from daybreak.tipline.intake import report_identifiers as identifiers_of

FIELD_ACTION = "store.rotate_field_key"


class RotationRefused(ValueError):
    """The store is not in a state a rotation may start from (or cannot finish)."""


# (organisation, blind index under the old key) -> blind index under the new key
IndexMap = dict[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class _Keys:
    old: Keyring
    new: Keyring

    def of(self, org: str) -> tuple[Keyring, Keyring]:
        return self.old.for_org(org), self.new.for_org(org)


def check_before(
    conn: Connection, keys: Keyring, points: list[Checkpoint] | None, where: str
) -> int:
    """Refuse unless the chain, its head, ``points`` and every row MAC verify under
    ``keys``, and the field key decrypts the first report and case; returns the
    number of entries verified."""
    chain = verify(conn, keys, points, where)
    rows = check_rows(conn, keys, max_listed=5)
    problems = [*chain.problems, *rows.problems]
    if problems:
        raise RotationRefused(
            "the audit trail does not verify with the current keys, so nothing is rotated "
            "(run `daybreak audit verify`): " + "; ".join(problems[:5])
        )
    _sample_decrypts(conn, keys)
    return chain.entries


def _sample_decrypts(conn: Connection, keys: Keyring) -> None:
    first = conn.execute(
        select(reports.c.report_id, reports.c.org_id, reports.c.payload_enc)
        .order_by(reports.c.report_id)
        .limit(1)
    ).first()
    tried = []
    if first is not None:
        tried.append((keys.for_org(first.org_id), first.payload_enc, bound(PAYLOAD, first[0])))
    case = conn.execute(
        select(cases.c.case_id, cases.c.org_id, cases.c.body_enc).order_by(cases.c.case_id).limit(1)
    ).first()
    if case is not None:
        tried.append((keys.for_org(case.org_id), case.body_enc, bound(case_ops.BODY, case[0])))
    for own, blob, context in tried:
        try:
            own.decrypt(blob, context)
        except KeyError_ as exc:
            raise RotationRefused(
                f"the current field key does not decrypt {context} ({exc}); nothing rotated"
            ) from exc


# ---- the field key ---------------------------------------------------------------------


def rotate_field_key(conn: Connection, old: Keyring, new: Keyring) -> dict[str, int]:
    """Re-encrypt and re-index the whole store from ``old``'s field key to ``new``'s
    (same audit key), in ``conn``'s transaction; returns counts (also in the audit
    entry it appends)."""
    if not same_audit_key(old, new):
        raise RotationRefused("rotate the field key and the audit key one at a time")
    if old.field_key_check() == new.field_key_check():
        raise RotationRefused("the new field key is the current one")
    audit = AuditAppender(conn, old)  # locks the head: every other writer waits
    if int(meta.get(conn, meta.AUDIT_LEGACY_UNTIL) or 0) > 0:
        raise RotationRefused(
            "the first entries of the audit chain are keyed from the field key (a store "
            "from before revision 0004): run `daybreak admin rotate-audit-key` first, "
            "which re-keys them under the audit key"
        )
    both = _Keys(old, new)
    index_map: IndexMap = {}
    counts = {"reports": _reports(conn, both, index_map), "cases": _cases(conn, both, index_map)}
    counts |= _resealed(conn, both, index_map)
    counts["cybertip_submissions"] = _cybertip(conn, both, index_map)
    for table in (identifier_clusters, alerted_identifiers):
        moved, dropped = _translate(conn, table, index_map)
        counts[table.name] = moved
        counts[f"{table.name}_dropped"] = dropped
    counts["web_sessions_ended"] = conn.execute(delete(web_sessions)).rowcount
    counts["rate_buckets_cleared"] = conn.execute(delete(rate_buckets)).rowcount
    meta.put(conn, meta.FIELD_KEY_CHECK, new.field_key_check())
    audit.close()
    done = AuditAppender(conn, new)
    done.append("system", FIELD_ACTION, "store", "field_key", counts)
    done.close()
    return counts


def same_audit_key(a: Keyring, b: Keyring) -> bool:
    """Whether two keyrings hold the same audit key (compared by a MAC of each)."""
    return a.row_mac("rotation check") == b.row_mac("rotation check")


def _reports(conn: Connection, both: _Keys, index_map: IndexMap) -> int:
    """Re-encrypt every payload; map the blind index of each identifier it carries."""
    cols = [reports.c.org_id, reports.c.payload_enc]
    stmt = (
        update(reports)
        .where(reports.c.report_id == bindparam("_pk"))
        .values(payload_enc=bindparam("_blob"))
    )
    done = 0
    for page in pages(conn, reports, cols):
        changes = []
        for row in page:
            org, rid = row["org_id"], row["report_id"]
            old, new = both.of(org)
            context = bound(PAYLOAD, rid)
            plain = _opened(old, row["payload_enc"], context)
            report = ReportIn.model_validate_json(plain)
            for ident in identifiers_of(report):
                index_map[(org, old.index(ident.key))] = new.index(ident.key)
            for name in _services(report):  # NCMEC submissions are kept per service
                index_map[(org, service_key(old, name))] = service_key(new, name)
            changes.append({"_pk": rid, "_blob": new.encrypt(plain, context)})
        conn.execute(stmt, changes)
        done += len(changes)
    return done


def _services(report: ReportIn) -> set[str]:
    """The names a case's NCMEC submission may be kept under, from one of its reports."""
    names = {a.service for a in report.reported_accounts}
    if report.service:
        names.add(report.service)
    return names | {n.lower() for n in names}


def _cases(conn: Connection, both: _Keys, index_map: IndexMap) -> int:
    """Re-encrypt every case body and rewrite its blind indexes from it (the summary
    is re-encrypted with the other sealed columns)."""
    cols = [cases.c.org_id, cases.c.body_enc]
    done = 0
    for page in pages(conn, cases, cols):
        for row in page:
            org, cid = row["org_id"], row["case_id"]
            old, new = both.of(org)
            context = bound(case_ops.BODY, cid)
            plain = _opened(old, row["body_enc"], context)
            case = Case.model_validate_json(plain)
            for key in (*case.entity_keys, *case_search_forms(case)):
                index_map[(org, old.index(key))] = new.index(key)
            conn.execute(
                update(cases)
                .where(cases.c.case_id == cid)
                .values(body_enc=new.encrypt(plain, context))
            )
            case_ops.write_blind_indexes(conn, new, case, replace=True)
        done += len(page)
    return done


# The sealed columns other than the payloads and case bodies (done above), and how the
# columns their associated data names change (a blind index, recomputed).
Renamer = Callable[[Mapping[str, Any], bytes, Keyring, IndexMap], dict[str, Any]]


def _identifier_index(
    row: Mapping[str, Any], plain: bytes, new: Keyring, m: IndexMap
) -> dict[str, Any]:
    found = m.get((row["org_id"], row["value_index"]))
    if found is None:
        raise RotationRefused(
            f"report_identifiers row {row['id']} (report {row['report_id']}): its blind index "
            "is not among the identifiers of the report's payload; nothing rotated"
        )
    return {"value_index": found}


def _subject_index(
    row: Mapping[str, Any], plain: bytes, new: Keyring, m: IndexMap
) -> dict[str, Any]:
    return {"value_index": new.index(subject_key(row["subject_type"], plain.decode("utf-8")))}


_RENAMERS: dict[str, Renamer] = {
    "report_identifiers.value_enc": _identifier_index,
    "subject_labels.subject_enc": _subject_index,
}
_DONE_APART = frozenset({"reports.payload_enc", "cases.body_enc"})


def _resealed(conn: Connection, both: _Keys, index_map: IndexMap) -> dict[str, int]:
    return {
        spec.name: _reseal(conn, both, spec, index_map, _RENAMERS.get(spec.name))
        for spec in SEALED
        if spec.name not in _DONE_APART
    }


def _reseal(
    conn: Connection, both: _Keys, spec: Sealed, index_map: IndexMap, rename: Renamer | None
) -> int:
    key = integrity.primary_key(spec.table)
    named = [spec.table.c[k] for k in spec.row_key if k != key.name]
    cols = [spec.table.c.org_id, spec.table.c[spec.column], *named]
    done = 0
    for page in pages(conn, spec.table, cols):
        for row in page:
            blob = row[spec.column]
            if blob is None:
                continue
            old, new = both.of(row["org_id"])
            plain = _opened(old, blob, spec.context(row))
            changes = rename(row, plain, new, index_map) if rename else {}
            sealed = new.encrypt(plain, spec.context({**row, **changes}))
            conn.execute(
                update(spec.table)
                .where(key == row[key.name])
                .values({spec.column: sealed, **changes})
            )
            done += 1
    return done


def _cybertip(conn: Connection, both: _Keys, index_map: IndexMap) -> int:
    t = cybertip_submissions
    rows = list(conn.execute(select(t.c.case_id, t.c.service_index, t.c.org_id, t.c.response_enc)))
    for r in rows:
        new_index = index_map.get((r.org_id, r.service_index))
        if new_index is None:
            raise RotationRefused(
                f"the NCMEC submission of case {r.case_id}: its service is not among the "
                "services of the organisation's reports; nothing rotated"
            )
        values: dict[str, Any] = {"service_index": new_index}
        if r.response_enc is not None:
            old, new = both.of(r.org_id)
            plain = _opened(old, r.response_enc, bound(RESPONSE, r.case_id, r.service_index))
            values["response_enc"] = new.encrypt(plain, bound(RESPONSE, r.case_id, new_index))
        conn.execute(
            update(t)
            .where(t.c.case_id == r.case_id, t.c.service_index == r.service_index)
            .values(**values)
        )
    return len(rows)


def _translate(conn: Connection, table: Table, index_map: IndexMap) -> tuple[int, int]:
    """Move ``table``'s blind indexes to the new key; delete the rows whose index no
    stored report or case carries (their identifier is unknown to the store)."""
    c = table.c
    held = sorted(
        {(r.org_id, r.value_index) for r in conn.execute(select(c.org_id, c.value_index))}
    )
    where = and_(c.value_index == bindparam("_old"), c.org_id == bindparam("_org"))
    moved = [
        {"_org": o, "_old": i, "_new": index_map[(o, i)]} for o, i in held if (o, i) in index_map
    ]
    dropped = [{"_org": o, "_old": i} for o, i in held if (o, i) not in index_map]
    if moved:
        conn.execute(update(table).where(where).values(value_index=bindparam("_new")), moved)
    if dropped:
        conn.execute(delete(table).where(where), dropped)
    return len(moved), len(dropped)


def _opened(keys: Keyring, blob: bytes, context: str) -> bytes:
    try:
        return keys.decrypt(blob, context)
    except KeyError_ as exc:
        raise RotationRefused(f"{exc}; nothing rotated") from exc


def field_key_problem(conn: Connection, keys: Keyring) -> str | None:
    """Why ``keys`` cannot open this store (its field key was rotated to another), or
    None."""
    stored = meta.get(conn, meta.FIELD_KEY_CHECK)
    if stored is None or stored == keys.field_key_check():
        return None
    return (
        "this store's field key was rotated and the DAYBREAK_FIELD_KEY given is not its "
        "key (an old key opens nothing; give the key `daybreak admin rotate-field-key` "
        "moved it to)"
    )


# ---- the audit key ---------------------------------------------------------------------


def rotate_audit_key(conn: Connection, old: Keyring, new: Keyring) -> dict[str, Any]:
    """Re-key the audit chain, its head and every row MAC from ``old``'s audit key to
    ``new``'s (same field key), in ``conn``'s transaction; returns the hand-over (also
    in the ``store.rotate_audit_key`` entry it appends)."""
    if same_audit_key(old, new):
        raise RotationRefused("the new audit key is the current one")
    audit = AuditAppender(conn, old)  # locks the head
    handover, old_head = audit.seq, audit.hash
    legacy_until = int(meta.get(conn, meta.AUDIT_LEGACY_UNTIL) or 0)
    head = rechain(conn, new)
    conn.execute(
        update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=handover, hash=head, mac=new.head_mac(handover, head))
    )
    row_macs = {t.name: integrity.write_macs(conn, new, t) for t in integrity.MACED}
    meta.put(conn, meta.AUDIT_LEGACY_UNTIL, "0")
    detail: dict[str, Any] = {
        "verified_until": handover,
        "previous_head": old_head,
        "previous_legacy_until": legacy_until,
        "row_macs": row_macs,
    }
    done = AuditAppender(conn, new)
    done.append("system", ROTATE_AUDIT_KEY, "store", "audit_key", detail)
    done.close()
    return {**detail, "seq": done.seq, "head": done.hash}


def rechain(conn: Connection, keys: Keyring) -> str:
    """Recompute every entry's hash from the genesis under ``keys``' audit key (the
    entries themselves are unchanged); returns the last hash."""
    prev = GENESIS
    stmt = (
        update(audit_log)
        .where(audit_log.c.seq == bindparam("_pk"))
        .values(prev_hash=bindparam("_prev"), hash=bindparam("_hash"))
    )
    for page in pages(conn, audit_log, list(_ENTRY_COLUMNS), size=2000):
        changes = []
        for r in page:
            digest = keys.audit_mac(prev, canonical_of(r))
            changes.append({"_pk": r["seq"], "_prev": prev, "_hash": digest})
            prev = digest
        conn.execute(stmt, changes)
    return prev


_ENTRY_COLUMNS = (
    audit_log.c.at,
    audit_log.c.actor,
    audit_log.c.action,
    audit_log.c.object_type,
    audit_log.c.object_id,
    audit_log.c.detail,
    audit_log.c.org_id,
)


def canonical_of(r: Mapping[str, Any]) -> str:
    return canonical(
        r["seq"], r["at"], r["actor"], r["action"], r["object_type"], r["object_id"],
        r["detail"], r["org_id"],
    )  # fmt: skip
