"""``store.reports``: tipline reports, their clusters (the triaged queue) and the
identifiers they carry (search)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from daybreak.model.identifiers import IdentifierKind, identifier_type
from daybreak.store import cases as case_ops
from daybreak.store.audit import AuditAppender, utc
from daybreak.store.auth import CASE_READERS, Actor, Role
from daybreak.store.reports import (
    Prepared,
    Receipt,
    StoredReport,
    Submission,
    decode_report,
    prepare,
    write_batch,
)
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import (
    DEFAULT_ORG,
    alerted_identifiers,
    clusters,
    of_org,
    report_identifiers,
    reports,
)
from daybreak.store.writer import BatchWriter
from daybreak.tipline.intake import ReportIn


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """One line of the triaged queue: a cluster of reports about the same identifiers."""

    cluster_id: str
    tier: int
    score: float
    report_count: int
    report_ids: tuple[str, ...]
    country: str | None
    agency: str
    is_live: bool
    reasons: tuple[str, ...]
    last_received: datetime


@dataclass(frozen=True, slots=True)
class SearchHit:
    report_ids: tuple[str, ...]
    case_ids: tuple[str, ...]


class ReportRepository:
    """Reports: stored through a group-commit writer (:meth:`submit`) or synchronously
    (:meth:`add_many`), read by id, triaged into a queue of clusters, searched by
    identifier."""

    def __init__(self, ctx: StoreContext, *, max_batch: int = 500) -> None:
        self._ctx = ctx
        self.writer: BatchWriter[tuple[Submission, Prepared], Receipt] = BatchWriter(
            self._write_prepared, max_batch=max_batch
        )

    def close(self) -> None:
        self.writer.close()

    def _write_prepared(
        self, items: list[tuple[Submission, Prepared]]
    ) -> list[Receipt | Exception]:
        return self._write_batch([s for s, _ in items], [p for _, p in items])

    def _write_batch(
        self, subs: list[Submission], prepared: list[Prepared] | None = None
    ) -> list[Receipt | Exception]:
        """Store a batch in one transaction: each organisation's submissions with its
        keys, into its rows (a batch of the group-commit writer mixes organisations)."""
        ctx = self._ctx
        preps = prepared or [prepare(s, ctx.keys.for_org(s.org_id), ctx.agencies) for s in subs]
        by_org: dict[str, list[int]] = {}
        for i, sub in enumerate(subs):
            by_org.setdefault(sub.org_id, []).append(i)
        out: list[Receipt | Exception | None] = [None] * len(subs)
        with ctx.writer_lock, ctx.engine.begin() as conn:
            for org, idx in by_org.items():
                keys = ctx.keys.for_org(org)
                audit = AuditAppender(conn, keys)
                group = [subs[i] for i in idx]
                done = write_batch(conn, keys, ctx.agencies, audit, group, [preps[i] for i in idx])
                audit.close()
                for i, result in zip(idx, done, strict=True):
                    out[i] = result
        return [r for r in out if r is not None]

    def submit(self, sub: Submission) -> Future[Receipt]:
        """Queue a report for the group-commit writer; the future resolves after commit.

        The report's database-independent parts (identifiers, blind indexes,
        ciphertexts, routing) are prepared here, in the caller's thread, so the writer
        holds the database's write lock for less time."""
        try:
            prepared = prepare(sub, self._ctx.keys.for_org(sub.org_id), self._ctx.agencies)
        except Exception as exc:  # reported through the future, like a failed write
            failed: Future[Receipt] = Future()
            failed.set_exception(exc)
            return failed
        return self.writer.submit((sub, prepared))

    def add_many(self, subs: Sequence[Submission]) -> list[Receipt]:
        """Store reports synchronously in one transaction (imports, world loads)."""
        results = self._write_batch(list(subs))
        for r in results:
            if isinstance(r, Exception):
                raise r
        return [r for r in results if isinstance(r, Receipt)]

    def add(self, report: ReportIn, actor: Actor, source: str = "import") -> Receipt:
        """Store one report in the actor's organisation."""
        return self.add_many([Submission(report, actor.name, source, org_id=actor.org_id)])[0]

    def get(self, report_id: str, actor: Actor) -> StoredReport | None:
        """A report of the actor's organisation with its payload (None: missing, or of
        another organisation). Platforms see only reports they submitted."""
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            row = conn.execute(
                select(reports).where(
                    reports.c.report_id == report_id, of_org(reports, keys.org_id)
                )
            ).first()
        if row is None or (actor.role is Role.PLATFORM and row.submitted_by != actor.name):
            return None
        ctx.audit_read(actor, "report.read", "report", report_id)
        return decode_report(keys, row)

    def by_ids(self, report_ids: Iterable[str], actor: Actor) -> list[StoredReport]:
        """The reports of the actor's organisation among ``report_ids``."""
        require(actor, CASE_READERS, "read reports")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        ids = sorted(set(report_ids))
        with ctx.reading() as conn:
            rows = list(
                conn.execute(
                    select(reports)
                    .where(reports.c.report_id.in_(ids), of_org(reports, keys.org_id))
                    .order_by(reports.c.report_id)
                )
            )
        ctx.audit_read(actor, "report.read", "report", "*", {"ids": [r.report_id for r in rows]})
        return [decode_report(keys, r) for r in rows]

    def count(self, org_id: str | None = None) -> int:
        """How many reports are stored (in ``org_id``; None: in the whole deployment)."""
        q = select(func.count()).select_from(reports)
        with self._ctx.reading() as conn:
            q = q if org_id is None else q.where(of_org(reports, org_id))
            return int(conn.execute(q).scalar_one())

    def ids(self, org_id: str | None = None) -> list[str]:
        """Stored report ids (of ``org_id``; None: all) with no content (for the
        operator's checks and tests)."""
        q = select(reports.c.report_id)
        with self._ctx.reading() as conn:
            q = q if org_id is None else q.where(of_org(reports, org_id))
            return [r[0] for r in conn.execute(q)]

    def queue(self, actor: Actor, limit: int = 100) -> list[ClusterSummary]:
        """The triaged queue: clusters by urgency (tier, then score, then most recent)."""
        require(actor, CASE_READERS, "read the queue")
        ctx = self._ctx
        org = actor.org_id
        with ctx.reading() as conn:
            top = list(
                conn.execute(
                    select(clusters)
                    .where(of_org(clusters, org))
                    .order_by(
                        clusters.c.tier, clusters.c.score.desc(), clusters.c.updated_at.desc()
                    )
                    .limit(limit)
                )
            )
            ids = [c.cluster_id for c in top]
            members: dict[str, list[Any]] = {i: [] for i in ids}
            for r in conn.execute(
                select(
                    reports.c.report_id,
                    reports.c.cluster_id,
                    reports.c.tier,
                    reports.c.score,
                    reports.c.country,
                    reports.c.agency,
                    reports.c.is_live,
                    reports.c.reasons,
                    reports.c.received_at,
                ).where(reports.c.cluster_id.in_(ids), of_org(reports, org))
            ):
                members[r.cluster_id].append(r)
        ctx.audit_read(actor, "queue.read", "cluster", "*", {"clusters": len(ids)})
        return [_summary(c, members[c.cluster_id]) for c in top]

    def mark_alerted(
        self,
        identifier_keys: Iterable[str],
        source: str,
        ref: str = "",
        *,
        org_id: str = DEFAULT_ORG,
    ) -> int:
        """Record identifiers that carry alerts elsewhere (payments, media hash matches:
        ``source='media'``); later reports of ``org_id`` about them rank higher."""
        ctx = self._ctx
        keys = ctx.keys.for_org(org_id)
        rows = [
            {"value_index": keys.index(k), "source": source, "ref": ref[:80], "org_id": org_id}
            for k in set(identifier_keys)
        ]
        with ctx.writing() as conn:
            existing = {
                r[0]
                for r in conn.execute(
                    select(alerted_identifiers.c.value_index).where(
                        alerted_identifiers.c.source == source,
                        of_org(alerted_identifiers, org_id),
                    )
                )
            }
            new = [r for r in rows if r["value_index"] not in existing]
            if new:
                conn.execute(alerted_identifiers.insert(), new)
        return len(new)

    def search(self, kind: IdentifierKind | str, value: str, actor: Actor) -> SearchHit:
        """Reports and cases carrying an identifier (normalised first)."""
        require(actor, CASE_READERS, "search")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        # the kind's node key: a beneficiary is searched as the payment handle it is
        hashed = kind == "hash"
        key = f"hash:{value.lower()}" if hashed else identifier_type(kind).node_key(value)
        index = keys.index(key)
        with ctx.writing() as conn:
            rids = sorted(
                {
                    r[0]
                    for r in conn.execute(
                        select(report_identifiers.c.report_id).where(
                            report_identifiers.c.value_index == index,
                            of_org(report_identifiers, keys.org_id),
                        )
                    )
                }
            )
            cids = case_ops.cases_with_key(conn, keys, index)
            detail = {"reports": len(rids), "cases": len(cids)}
            ctx.audit(conn, actor, "search", "identifier", index[:16], detail)
        return SearchHit(tuple(rids), tuple(sorted(cids)))


def _summary(cluster: Any, members: list[Any]) -> ClusterSummary:
    rows = sorted(members, key=lambda r: (r.tier, -r.score, r.report_id))
    lead = rows[0]
    return ClusterSummary(
        cluster_id=cluster.cluster_id,
        tier=int(cluster.tier),
        score=float(cluster.score),
        report_count=len(rows),
        report_ids=tuple(r.report_id for r in rows),
        country=lead.country,
        agency=lead.agency,
        is_live=any(r.is_live for r in rows),
        reasons=tuple(json.loads(lead.reasons)),
        last_received=max(utc(r.received_at) for r in rows),
    )
