"""The state of a case's submission to the NCMEC CyberTipline Reporting API.

One row per case and service (NCMEC takes one report per service). The connector
(:mod:`daybreak.connectors.cybertip`) writes the step it is about to take, and NCMEC's
report id as soon as it has one, *before* each next call to NCMEC: after a crash at any
point the row says where to resume. The service is kept only as a blind index; NCMEC's
last response document is encrypted and bound to its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from daybreak.store.audit import utc
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import cybertip_submissions, of_org

RESPONSE = "cybertip_submissions.response_enc"  # :case_id:service_index
DEFAULT_ORG = "default"


class SubmissionStep(StrEnum):
    """Where a submission stands. The ``*ING`` steps are written before the call they
    name: finding one on resume means the call's outcome is unknown."""

    SUBMITTING = "submitting"  # /submit called, no report id known yet
    REJECTED = "rejected"  # /submit answered with an error: no report was opened
    OPENED = "opened"  # NCMEC's report id is known; the report is open
    FINISHING = "finishing"  # /finish called for the open report
    FINISHED = "finished"  # NCMEC confirmed the report: done, never sent again
    RETRACTED = "retracted"  # /retract confirmed after a failure: a retry opens anew
    EXPIRED = "expired"  # NCMEC no longer knows the open report (deleted after 24 h)


@dataclass(frozen=True, slots=True)
class CybertipSubmission:
    case_id: str
    step: SubmissionStep
    ncmec_report_id: int | None
    xml_digest: str | None
    submits: int
    created_at: datetime
    updated_at: datetime
    response: str | None  # NCMEC's last response document (XML)


def service_key(keys: Keyring, service: str) -> str:
    return keys.index(f"cybertip_service:{service}")


def get(conn: Connection, keys: Keyring, case_id: str, service: str) -> CybertipSubmission | None:
    index = service_key(keys, service)
    row = conn.execute(
        select(cybertip_submissions).where(
            cybertip_submissions.c.case_id == case_id,
            cybertip_submissions.c.service_index == index,
            of_org(cybertip_submissions, keys.org_id),
        )
    ).first()
    if row is None:
        return None
    response = None
    if row.response_enc is not None:
        response = keys.decrypt_text(row.response_enc, bound(RESPONSE, case_id, index))
    return CybertipSubmission(
        case_id=case_id,
        step=SubmissionStep(row.step),
        ncmec_report_id=row.ncmec_report_id,
        xml_digest=row.xml_digest,
        submits=int(row.submits),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        response=response,
    )


def record(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    service: str,
    step: SubmissionStep,
    now: datetime,
    *,
    ncmec_report_id: int | None = None,
    xml_digest: str | None = None,
    response: str | None = None,
    org_id: str = DEFAULT_ORG,
) -> None:
    """Write ``step`` (and whatever else is given) for the case's submission. Entering
    SUBMITTING counts a /submit call and forgets the previous report id."""
    index = service_key(keys, service)
    key = (cybertip_submissions.c.case_id == case_id) & (
        cybertip_submissions.c.service_index == index
    )
    exists = conn.execute(
        select(cybertip_submissions.c.submits).where(key).with_for_update()
    ).first()
    values: dict[str, object] = {"step": step.value, "updated_at": now}
    if xml_digest is not None:
        values["xml_digest"] = xml_digest
    if response is not None:
        values["response_enc"] = keys.encrypt_text(response, bound(RESPONSE, case_id, index))
    if step is SubmissionStep.SUBMITTING:
        values["ncmec_report_id"] = None
    if ncmec_report_id is not None:
        values["ncmec_report_id"] = ncmec_report_id
    submits = int(step is SubmissionStep.SUBMITTING)
    if exists is None:
        conn.execute(
            insert(cybertip_submissions).values(
                case_id=case_id,
                service_index=index,
                org_id=org_id,
                submits=submits,
                created_at=now,
                **values,
            )
        )
    else:
        values["submits"] = int(exists.submits) + submits
        conn.execute(update(cybertip_submissions).where(key).values(**values))
