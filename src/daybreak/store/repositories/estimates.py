"""``store.estimates``: the runs of ``daybreak estimate --db`` (multiple-systems
estimation, :mod:`daybreak.graph.estimate`) per organisation, for the console's
dashboards. Saving is audited in the same transaction; reading the latest is an
audited read, like a case's."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select

from daybreak.graph.estimate import EstimateReport
from daybreak.store.auth import CASE_READERS, MANAGERS, Actor
from daybreak.store.keys import bound
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import estimates, of_org

BODY = "estimates.body_enc"
AUDIT_TYPE = "estimate"


@dataclass(frozen=True, slots=True)
class StoredEstimate:
    estimate_id: str
    created_at: datetime
    created_by: str
    report: EstimateReport


class EstimateRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def save(self, actor: Actor, report: EstimateReport) -> StoredEstimate:
        """Keep one run for the actor's organisation (a supervisor, an admin or the
        operator; audited as ``estimate.store``)."""
        require(actor, MANAGERS, "store estimates")
        keys = self._ctx.keys_of(actor)
        made = StoredEstimate(f"est-{secrets.token_hex(8)}", datetime.now(UTC), actor.name, report)

        def write(conn: Connection) -> None:
            conn.execute(
                insert(estimates).values(
                    estimate_id=made.estimate_id,
                    org_id=keys.org_id,
                    created_at=made.created_at,
                    created_by=made.created_by,
                    body_enc=keys.encrypt_text(report.to_json(), bound(BODY, made.estimate_id)),
                )
            )

        self._ctx.audited(actor, "estimate.store", AUDIT_TYPE, made.estimate_id, write)
        return made

    def latest(self, actor: Actor) -> StoredEstimate | None:
        """The organisation's most recent run, or None (audited as ``estimate.read``
        when there is one)."""
        require(actor, CASE_READERS, "read estimates")
        keys = self._ctx.keys_of(actor)
        query = (
            select(estimates)
            .where(of_org(estimates, keys.org_id))
            .order_by(estimates.c.created_at.desc(), estimates.c.estimate_id.desc())
            .limit(1)
        )
        with self._ctx.reading() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        body = keys.decrypt_text(row.body_enc, bound(BODY, row.estimate_id))
        self._ctx.audit_read(actor, "estimate.read", AUDIT_TYPE, row.estimate_id)
        at = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return StoredEstimate(row.estimate_id, at, row.created_by, EstimateReport.from_json(body))
