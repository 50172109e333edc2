"""Writing and reading reports: dedup by idempotency key, clustering, triage, routing.

:func:`write_report` runs inside a caller's transaction (the group-commit writer puts
many reports in one) and leaves nothing behind if it raises before its first write;
the transaction commits before anyone is told the report is stored.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.sql.elements import BindParameter

from daybreak.store.audit import AuditAppender, utc
from daybreak.store.integrity import row_mac, with_mac
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import (
    DEFAULT_ORG,
    alerted_identifiers,
    clusters,
    idempotency_keys,
    identifier_clusters,
    report_identifiers,
    reports,
)
from daybreak.tipline.clustering import ClusterTally, Placement, ReportClusters
from daybreak.tipline.intake import ReportIdentifier, ReportIn
from daybreak.tipline.intake import report_identifiers as identifiers_of
from daybreak.tipline.routing import AgencyTable, Route, route

# Associated data: the column, then the row (see daybreak.store.integrity.SEALED).
PAYLOAD = "reports.payload_enc"  # :report_id
IDENT = "report_identifiers.value_enc"  # :report_id:value_index


# The roles the intake code gives identifiers. A reporter's own wording of an extra
# identifier's role is free text: it stays in the encrypted payload, and the clear
# report_identifiers.role says only "reported".
CODE_ROLES = frozenset({"reported_account", "victim", "payment", "reported_url", "media"})
OTHER_ROLE = "reported"


def stored_role(role: str) -> str:
    return role if role in CODE_ROLES else OTHER_ROLE


class IdempotencyConflict(ValueError):
    """The Idempotency-Key was used before with a different request body."""


def new_report_id() -> str:
    """Time-ordered, unguessable: ``R-`` + 12 hex digits of ms since epoch + 10 random."""
    return f"R-{int(time.time() * 1000):012x}{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class Submission:
    report: ReportIn
    submitted_by: str
    source: str = "api"
    received_at: datetime | None = None
    report_id: str | None = None  # preset for imports that keep their ids
    idempotency_key: str | None = None
    request_hash: str = ""  # SHA-256 hex of the request; default: of the report's JSON
    org_id: str = DEFAULT_ORG  # the organisation the report is stored in (the submitter's)


@dataclass(frozen=True, slots=True)
class Receipt:
    report_id: str
    cluster_id: str
    tier: int
    score: float
    agency: str
    duplicate: bool = False  # an Idempotency-Key replay: nothing new was stored


@dataclass(frozen=True, slots=True)
class StoredReport:
    report_id: str
    received_at: datetime
    source: str
    submitted_by: str
    tier: int
    score: float
    reasons: list[str]
    country: str | None
    route_basis: str
    agency: str
    cluster_id: str
    report: ReportIn


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything storing a report needs that does not depend on the database: its
    identifiers and their blind indexes, the ciphertexts, the request hash and the
    routing. Computed before the write transaction (``TiplineStore.submit`` does it in
    the caller's thread), so the transaction, which holds the database's write lock,
    only runs the queries and inserts."""

    report_id: str  # assigned here: the ciphertexts are bound to it
    request_hash: str
    payload_enc: bytes
    idents: list[ReportIdentifier]
    indexes: list[str]
    values_enc: list[bytes]
    where: Route


def prepare(sub: Submission, keys: Keyring, agencies: AgencyTable) -> Prepared:
    payload = sub.report.model_dump_json()
    idents = identifiers_of(sub.report)
    report_id = sub.report_id or new_report_id()
    indexes = [keys.index(i.key) for i in idents]
    return Prepared(
        report_id=report_id,
        request_hash=sub.request_hash or hashlib.sha256(payload.encode()).hexdigest(),
        payload_enc=keys.encrypt_text(payload, bound(PAYLOAD, report_id)),
        idents=idents,
        indexes=indexes,
        values_enc=[
            keys.encrypt_text(i.value, bound(IDENT, report_id, ix))
            for i, ix in zip(idents, indexes, strict=True)
        ],
        where=route(sub.report, agencies),
    )


# The batch's statements, built once: building a SQLAlchemy expression costs more than
# running the query it makes (the IN lists are expanding parameters, so one compiled
# statement serves every batch size). A batch is of one organisation (``org``): it
# reads and joins that organisation's clusters, alerts and idempotency keys only.
_ORG: BindParameter[str] = bindparam("org")
_OWNERS = select(identifier_clusters.c.value_index, identifier_clusters.c.cluster_id).where(
    identifier_clusters.c.value_index.in_(bindparam("ids", expanding=True)),
    identifier_clusters.c.org_id == _ORG,
)
_ALERTS = select(alerted_identifiers.c.value_index, alerted_identifiers.c.source).where(
    alerted_identifiers.c.value_index.in_(bindparam("ids", expanding=True)),
    alerted_identifiers.c.org_id == _ORG,
)
_CLUSTERS = select(clusters).where(
    clusters.c.cluster_id.in_(bindparam("ids", expanding=True)), clusters.c.org_id == _ORG
)
_IDEMPOTENCY = select(idempotency_keys).where(
    idempotency_keys.c.key.in_(bindparam("ids", expanding=True)),
    idempotency_keys.c.org_id == _ORG,
)
_REPLAYS = select(reports).where(reports.c.report_id.in_(bindparam("ids", expanding=True)))
_UPDATE_CLUSTER = (
    update(clusters)
    .where(clusters.c.cluster_id == bindparam("cid"))
    .values(
        updated_at=bindparam("updated_at"),
        report_count=bindparam("report_count"),
        tier=bindparam("tier"),
        score=bindparam("score"),
        created_at=bindparam("created_at"),
        merged_into=None,
        row_mac=bindparam("row_mac"),
    )
)
_MOVE_REPORTS = (
    update(reports)
    .where(reports.c.cluster_id == bindparam("old"))
    .values(cluster_id=bindparam("new"))
)
_MOVE_OWNERS = (
    update(identifier_clusters)
    .where(identifier_clusters.c.cluster_id == bindparam("old"))
    .values(cluster_id=bindparam("new"))
)
_DROP_CLUSTERS = delete(clusters).where(clusters.c.cluster_id == bindparam("old"))
_DROP_OWNERS = delete(identifier_clusters).where(
    identifier_clusters.c.value_index.in_(bindparam("ids", expanding=True))
)
_INSERT_CLUSTERS = insert(clusters)
_INSERT_REPORTS = insert(reports)
_INSERT_IDENTIFIERS = insert(report_identifiers)
_INSERT_OWNERS = insert(identifier_clusters)
_INSERT_IDEMPOTENCY = insert(idempotency_keys)


class _BatchState:
    """What one batch needs from the database, loaded with a handful of queries up
    front: the clusters its identifiers belong to (kept current in memory by
    :class:`ReportClusters` as each report of the batch is placed), the alerts on them
    and the idempotency keys already used."""

    def __init__(
        self, conn: Connection, org: str, subs: list[Submission], indexes: list[list[str]]
    ) -> None:
        all_idx = sorted({i for idx in indexes for i in idx})
        owner: dict[str, str] = {}
        self.alerts: dict[str, list[str]] = {}
        summaries: dict[str, ClusterTally] = {}
        for chunk in _chunks(all_idx):
            for r in conn.execute(_OWNERS, {"ids": chunk, "org": org}):
                owner[r.value_index] = r.cluster_id
            for r in conn.execute(_ALERTS, {"ids": chunk, "org": org}):
                self.alerts.setdefault(r.value_index, []).append(r.source)
        for chunk in _chunks(sorted(set(owner.values()))):
            for r in conn.execute(_CLUSTERS, {"ids": chunk, "org": org}):
                summaries[r.cluster_id] = ClusterTally(
                    int(r.report_count),
                    int(r.tier),
                    float(r.score),
                    utc(r.created_at),
                    utc(r.updated_at),
                    stored=True,
                )
        # Identifiers still pointing at a cluster that retention deleted (stores from
        # before retention removed them too): unowned again, re-pointed in _flush.
        self.orphans = sorted(i for i, c in owner.items() if c not in summaries)
        for i in self.orphans:
            del owner[i]
        self.clusters = ReportClusters(owner, summaries)
        # (principal, key) -> (request hash, report id)
        self.idem: dict[tuple[str, str], tuple[str, str]] = {}
        wanted = sorted({s.idempotency_key for s in subs if s.idempotency_key is not None})
        for chunk in _chunks(wanted):
            for r in conn.execute(_IDEMPOTENCY, {"ids": chunk, "org": org}):
                self.idem[(r.principal, r.key)] = (r.request_hash, r.report_id)

    def resolve(self, cid: str) -> str:
        return self.clusters.index.resolve(cid)

    def replay_of(self, sub: Submission, request_hash: str) -> str | Exception | None:
        """For a reused Idempotency-Key: the id of the report it stored, or the
        conflict when the request differs; None for a new request."""
        if sub.idempotency_key is None:
            return None
        prior = self.idem.get((sub.submitted_by, sub.idempotency_key))
        if prior is None:
            return None
        if prior[0] != request_hash:
            return IdempotencyConflict(
                "Idempotency-Key was already used with a different request body"
            )
        return prior[1]

    def alert_sources(self, indexes: list[str]) -> list[str]:
        return [src for i in set(indexes) for src in self.alerts.get(i, [])]


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class _Rows:
    """The rows a batch inserts, gathered while its reports are placed."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    identifiers: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)  # value index -> cluster id
    idempotency: list[dict[str, Any]] = field(default_factory=list)


def write_batch(
    conn: Connection,
    keys: Keyring,
    agencies: AgencyTable,
    audit: AuditAppender,
    subs: list[Submission],
    prepared: list[Prepared] | None = None,
) -> list[Receipt | Exception]:
    """Store ``subs`` in the caller's transaction with a fixed number of statements per
    batch (bulk inserts), clustering them against the store and against each other.
    ``prepared`` (one per submission, from :func:`prepare`) is computed here if absent.
    Every submission must be of ``keys.org_id``, the organisation the rows are written
    in (and the only one whose clusters they join)."""
    org = keys.org_id
    if any(s.org_id != org for s in subs):
        raise ValueError(f"a batch of organisation {org} holds another organisation's report")
    preps = prepared if prepared is not None else [prepare(s, keys, agencies) for s in subs]
    st = _BatchState(conn, org, subs, [p.indexes for p in preps])
    rows = _Rows()
    results: list[Receipt | Exception | str] = []  # str: replay of this report id
    for sub, prep in zip(subs, preps, strict=True):
        replay = st.replay_of(sub, prep.request_hash)
        if replay is not None:
            results.append(replay)
            continue
        received = utc(sub.received_at or datetime.now(UTC))
        placed = st.clusters.place(
            prep.report_id, sub.report, prep.indexes, st.alert_sources(prep.indexes), received
        )
        for i in placed.new_keys:
            rows.owners[i] = placed.cluster_id
        _add_rows(rows, sub, prep, placed, received)
        if sub.idempotency_key is not None:
            st.idem[(sub.submitted_by, sub.idempotency_key)] = (prep.request_hash, prep.report_id)
        tier = int(placed.triage.tier)
        audit.append(
            sub.submitted_by,
            "report.create",
            "report",
            prep.report_id,
            {"tier": tier, "source": sub.source},
            at=received,
        )
        results.append(
            Receipt(prep.report_id, placed.cluster_id, tier, placed.triage.score, prep.where.agency)
        )
    for table_rows in (rows.reports, rows.identifiers, rows.idempotency):
        for row in table_rows:
            row["org_id"] = org
    for row in rows.reports:
        row["row_mac"] = row_mac(keys, reports, row)
    _flush(conn, keys, st, rows)
    return _finish(conn, st, results)


def _add_rows(
    rows: _Rows, sub: Submission, prep: Prepared, placed: Placement, received: datetime
) -> None:
    """The report's row, its identifiers' rows and its Idempotency-Key's row."""
    report, result, where = sub.report, placed.triage, prep.where
    rows.reports.append(
        {
            "report_id": prep.report_id,
            "received_at": received,
            "source": sub.source,
            "submitted_by": sub.submitted_by,
            "reporter_type": report.reporter.type.value,
            "incident_type": report.incident_type.value,
            "is_live": report.is_live,
            # in UTC: SQLite keeps the wall time only, and the row MAC covers it
            "occurred_at": utc(report.occurred_at) if report.occurred_at else None,
            "tier": int(result.tier),
            "score": result.score,
            "reasons": json.dumps(list(result.reasons)),
            "country": where.country,
            "route_basis": where.basis,
            "agency": where.agency,
            "cluster_id": placed.cluster_id,
            "payload_enc": prep.payload_enc,
        }
    )
    rows.identifiers += [
        {
            "report_id": prep.report_id,
            "kind": i.kind,
            "role": stored_role(i.role),
            "value_index": ix,
            "value_enc": enc,
            "seen_at": i.seen_at,
        }
        for i, ix, enc in zip(prep.idents, prep.indexes, prep.values_enc, strict=True)
    ]
    if sub.idempotency_key is not None:
        rows.idempotency.append(
            {
                "principal": sub.submitted_by,
                "key": sub.idempotency_key,
                "request_hash": prep.request_hash,
                "report_id": prep.report_id,
                "created_at": received,
            }
        )


def _cluster_row(keys: Keyring, cid: str, c: ClusterTally) -> dict[str, Any]:
    return with_mac(
        keys,
        clusters,
        {
            "org_id": keys.org_id,
            "cluster_id": cid,
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "report_count": c.count,
            "tier": c.tier,
            "score": c.score,
            "merged_into": None,
        },
    )


def _flush(conn: Connection, keys: Keyring, st: _BatchState, rows: _Rows) -> None:
    # Clusters stored earlier that this batch joined together: each moves straight to
    # its final cluster (never itself merged away), so the order of the moves is free.
    merges = [{"old": other, "new": st.resolve(other)} for other in st.clusters.merged_stored]
    if merges:
        conn.execute(_MOVE_REPORTS, merges)
        conn.execute(_MOVE_OWNERS, merges)
        conn.execute(_DROP_CLUSTERS, merges)
    for chunk in _chunks(st.orphans):
        conn.execute(_DROP_OWNERS, {"ids": chunk})
    for row in rows.reports:
        row["cluster_id"] = st.resolve(row["cluster_id"])
    summaries = st.clusters.summaries
    new = [_cluster_row(keys, cid, c) for cid, c in summaries.items() if not c.stored]
    old = []
    for cid, c in summaries.items():
        if c.stored:
            row = _cluster_row(keys, cid, c)
            del row["cluster_id"], row["merged_into"], row["org_id"]  # the WHERE, NULL, kept
            old.append({"cid": cid, **row})
    if new:
        conn.execute(_INSERT_CLUSTERS, new)
    if old:
        conn.execute(_UPDATE_CLUSTER, old)
    if rows.reports:
        conn.execute(_INSERT_REPORTS, rows.reports)
    if rows.identifiers:
        conn.execute(_INSERT_IDENTIFIERS, rows.identifiers)
    if rows.owners:
        conn.execute(
            _INSERT_OWNERS,
            [
                {"value_index": i, "cluster_id": st.resolve(c), "org_id": keys.org_id}
                for i, c in rows.owners.items()
            ],
        )
    if rows.idempotency:
        conn.execute(_INSERT_IDEMPOTENCY, rows.idempotency)


def _finish(
    conn: Connection, st: _BatchState, results: list[Receipt | Exception | str]
) -> list[Receipt | Exception]:
    replay_ids = sorted({r for r in results if isinstance(r, str)})
    replays: dict[str, Receipt] = {}
    for chunk in _chunks(replay_ids):
        for row in conn.execute(_REPLAYS, {"ids": chunk}):
            replays[row.report_id] = Receipt(
                row.report_id, row.cluster_id, row.tier, row.score, row.agency, duplicate=True
            )
    out: list[Receipt | Exception] = []
    for r in results:
        if isinstance(r, str):
            out.append(replays[r])
        elif isinstance(r, Receipt):
            out.append(Receipt(r.report_id, st.resolve(r.cluster_id), r.tier, r.score, r.agency))
        else:
            out.append(r)
    return out


def decode_report(keys: Keyring, row: Any) -> StoredReport:
    return StoredReport(
        report_id=row.report_id,
        received_at=utc(row.received_at),
        source=row.source,
        submitted_by=row.submitted_by,
        tier=row.tier,
        score=row.score,
        reasons=json.loads(row.reasons),
        country=row.country,
        route_basis=row.route_basis,
        agency=row.agency,
        cluster_id=row.cluster_id,
        report=ReportIn.model_validate_json(
            keys.decrypt_text(row.payload_enc, bound(PAYLOAD, row.report_id))
        ),
    )
