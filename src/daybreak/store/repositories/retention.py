"""``store.retention``: deleting what is kept no longer than the retention period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.sql.elements import ColumnElement

from daybreak.model.cases import CaseStatus
from daybreak.store import integrity, meta
from daybreak.store.auth import SYSTEM, Actor, is_operator
from daybreak.store.repositories.accounts import ADMINS
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import (
    case_reports,
    cases,
    clusters,
    idempotency_keys,
    identifier_clusters,
    of_org,
    report_identifiers,
    reports,
    sessions,
)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    cutoff: datetime
    reports_deleted: int
    cases_deleted: int
    idempotency_keys_deleted: int
    dry_run: bool


class Retention:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def apply(
        self,
        days: int,
        actor: Actor = SYSTEM,
        *,
        dry_run: bool = False,
        idempotency_hours: int = 24,
    ) -> RetentionResult:
        """Delete reports older than ``days`` unless an open case uses them, closed cases
        not touched for ``days``, and idempotency keys older than ``idempotency_hours``:
        of the admin's organisation (the operator: of every organisation). The audit log
        is kept (it holds no personal data)."""
        require(actor, ADMINS, "apply retention")
        if days < 1:
            raise ValueError("retention must be at least 1 day")
        ctx = self._ctx
        now = datetime.now(UTC)
        cutoff = now - timedelta(days=days)
        idem_cut = now - timedelta(hours=idempotency_hours)
        org = None if is_operator(actor) else actor.org_id
        old_idem = idempotency_keys.c.created_at < idem_cut
        if org is not None:
            old_idem &= of_org(idempotency_keys, org)
        with ctx.writing() as conn:
            old_cases = _closed_before(conn, cutoff, org)
            old_reports = _unused_reports_before(conn, cutoff, org)
            n_idem = int(
                conn.execute(
                    select(func.count()).select_from(idempotency_keys).where(old_idem)
                ).scalar_one()
            )
            if not dry_run:
                self._delete(conn, old_cases, old_reports, old_idem, now)
                detail = {"days": days, "reports": len(old_reports), "cases": len(old_cases)}
                ctx.audit(conn, actor, "retention.apply", "store", "*", detail)
        return RetentionResult(cutoff, len(old_reports), len(old_cases), n_idem, dry_run)

    def _delete(
        self,
        conn: Connection,
        case_ids: list[str],
        report_ids: list[str],
        old_idem: ColumnElement[bool],
        now: datetime,
    ) -> None:
        for chunk in range(0, len(case_ids), 500):
            conn.execute(delete(cases).where(cases.c.case_id.in_(case_ids[chunk : chunk + 500])))
        if case_ids:  # the cases' version (daybreak.store.cases.version) changes
            meta.add(conn, meta.CASES_DELETED, len(case_ids))
        touched: set[str] = set()
        for chunk in range(0, len(report_ids), 500):
            ids = report_ids[chunk : chunk + 500]
            touched |= {
                r[0]
                for r in conn.execute(
                    select(reports.c.cluster_id).where(reports.c.report_id.in_(ids))
                )
            }
            conn.execute(delete(report_identifiers).where(report_identifiers.c.report_id.in_(ids)))
            conn.execute(delete(reports).where(reports.c.report_id.in_(ids)))
        for cid in touched:
            self._shrink_cluster(conn, cid)
        conn.execute(delete(idempotency_keys).where(old_idem))
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))

    def _shrink_cluster(self, conn: Connection, cid: str) -> None:
        """Recount a cluster that lost reports; delete it when none is left."""
        n = int(
            conn.execute(
                select(func.count()).select_from(reports).where(reports.c.cluster_id == cid)
            ).scalar_one()
        )
        if n:
            conn.execute(
                update(clusters).where(clusters.c.cluster_id == cid).values(report_count=n)
            )
            integrity.refresh_mac(conn, self._ctx.keys, clusters, cid)
        else:  # its identifiers start a new cluster when reported again
            conn.execute(delete(clusters).where(clusters.c.cluster_id == cid))
            conn.execute(delete(identifier_clusters).where(identifier_clusters.c.cluster_id == cid))


def _closed_before(conn: Connection, cutoff: datetime, org: str | None) -> list[str]:
    """Cases closed and untouched since before ``cutoff`` (of ``org``; None: all)."""
    q = select(cases.c.case_id).where(
        cases.c.status == CaseStatus.CLOSED.value, cases.c.updated_at < cutoff
    )
    return [r[0] for r in conn.execute(q if org is None else q.where(of_org(cases, org)))]


def _unused_reports_before(conn: Connection, cutoff: datetime, org: str | None) -> list[str]:
    """Reports received before ``cutoff`` that no open case refers to (of ``org``)."""
    open_refs = (
        select(case_reports.c.report_id)
        .join(cases, cases.c.case_id == case_reports.c.case_id)
        .where(cases.c.status != CaseStatus.CLOSED.value)
    )
    q = select(reports.c.report_id).where(
        reports.c.received_at < cutoff, reports.c.report_id.not_in(open_refs)
    )
    return [r[0] for r in conn.execute(q if org is None else q.where(of_org(reports, org)))]
