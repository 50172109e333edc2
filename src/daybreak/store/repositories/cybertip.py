"""``store.cybertip``: where each case's submissions to the NCMEC CyberTipline stand
(:mod:`daybreak.connectors.cybertip` drives them; :mod:`daybreak.store.cybertip` keeps
the rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from daybreak.store import cases as case_ops
from daybreak.store import cybertip as cybertip_ops
from daybreak.store.auth import CASE_READERS, Actor
from daybreak.store.repositories.context import StoreContext, require
from daybreak.store.tables import cases, of_org


class CybertipRepository:
    def __init__(self, ctx: StoreContext) -> None:
        self._ctx = ctx

    def submission(
        self, case_id: str, service: str, actor: Actor
    ) -> cybertip_ops.CybertipSubmission | None:
        """Where the case's submission to NCMEC about ``service`` stands (None: never
        submitted)."""
        require(actor, CASE_READERS, "read case submissions")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.reading() as conn:
            found = cybertip_ops.get(conn, keys, case_id, service)
        ctx.audit_read(actor, "case.cybertip.read", "case", case_id)
        return found

    def record_step(
        self,
        case_id: str,
        service: str,
        step: cybertip_ops.SubmissionStep,
        actor: Actor,
        *,
        ncmec_report_id: int | None = None,
        xml_digest: str | None = None,
        response: str | None = None,
        response_code: int | None = None,
    ) -> None:
        """Persist the step a submission reached (and NCMEC's report id and response)
        with its audit entry, in one transaction, before the connector's next call."""
        require(actor, CASE_READERS, "submit cases")
        ctx = self._ctx
        keys = ctx.keys_of(actor)
        with ctx.writing() as conn:
            found = conn.execute(
                select(cases.c.case_id).where(
                    cases.c.case_id == case_id, of_org(cases, keys.org_id)
                )
            )
            if found.first() is None:
                raise case_ops.NotFound(f"case {case_id!r} not found")
            cybertip_ops.record(
                conn, keys, case_id, service, step, datetime.now(UTC),
                ncmec_report_id=ncmec_report_id, xml_digest=xml_digest, response=response,
                org_id=keys.org_id,
            )  # fmt: skip
            detail: dict[str, Any] = {"step": step.value}
            if ncmec_report_id is not None:
                detail["ncmec_report_id"] = ncmec_report_id
            if response_code is not None:
                detail["response_code"] = response_code
            ctx.audit(conn, actor, f"case.cybertip.{step.value}", "case", case_id, detail)
