"""Persisting analysts' dispositions of a case's payments subjects (the model's labels).

A disposition names one payments subject of the case (a customer or beneficiary some
payments alert of the case is about); it is stored as a blind index of
``subject_type:subject_id`` and an encrypted copy of the id, one row per case and
subject. Recording again for the same case and subject replaces the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from daybreak.model.cases import DISPOSITION_SUBJECTS, Case, Disposition, SubjectLabel
from daybreak.store.audit import utc
from daybreak.store.cases import NotFound, WorkflowError, get
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import of_org, subject_labels

SUBJECT = "subject_labels.subject_enc"  # :case_id:subject_type:value_index (its unique key)
PAYMENTS = "payments"


def payments_subjects(case: Case) -> list[tuple[str, str]]:
    """(subject_type, subject_id) of every payments alert of the case, sorted."""
    return sorted(
        {
            (a.subject_type, a.subject_id)
            for a in case.alerts
            if a.detector == PAYMENTS and a.subject_type in ("customer", "beneficiary")
        }
    )


def subject_key(subject_type: str, subject_id: str) -> str:
    return f"{subject_type}:{subject_id}"


def record(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    subject: tuple[str, str],
    disposition: Disposition,
    actor: str,
    now: datetime,
) -> SubjectLabel:
    """Store one disposition and return it."""
    case = get(conn, keys, case_id)
    if case is None:
        raise NotFound(case_id)
    subject_type, subject_id = subject
    known = payments_subjects(case)
    if subject not in known:
        listed = ", ".join(subject_key(*s) for s in known) or "none"
        raise WorkflowError(
            f"{subject_key(*subject)} is not a payments subject of case {case_id} "
            f"(its payments subjects: {listed})"
        )
    if subject_type not in DISPOSITION_SUBJECTS[disposition]:
        allowed = " or ".join(sorted(DISPOSITION_SUBJECTS[disposition]))
        raise WorkflowError(f"{disposition.value} applies to a {allowed}, not a {subject_type}")
    index = keys.index(subject_key(*subject))
    conn.execute(
        delete(subject_labels).where(
            subject_labels.c.case_id == case_id,
            subject_labels.c.subject_type == subject_type,
            subject_labels.c.value_index == index,
        )
    )
    conn.execute(
        insert(subject_labels).values(
            org_id=keys.org_id,
            case_id=case_id,
            subject_type=subject_type,
            value_index=index,
            subject_enc=keys.encrypt_text(subject_id, bound(SUBJECT, case_id, subject_type, index)),
            disposition=disposition.value,
            label=disposition.label,
            actor=actor,
            at=now,
        )
    )
    return SubjectLabel.model_validate(
        {
            "case_id": case_id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "disposition": disposition,
            "actor": actor,
            "at": now,
        }
    )


def listing(conn: Connection, keys: Keyring, case_id: str | None = None) -> list[SubjectLabel]:
    """Every stored disposition (of one case), oldest first."""
    q = (
        select(subject_labels)
        .where(of_org(subject_labels, keys.org_id))
        .order_by(subject_labels.c.at, subject_labels.c.id)
    )
    if case_id is not None:
        q = q.where(subject_labels.c.case_id == case_id)
    return [
        SubjectLabel(
            case_id=r.case_id,
            subject_type=r.subject_type,
            subject_id=keys.decrypt_text(
                r.subject_enc, bound(SUBJECT, r.case_id, r.subject_type, r.value_index)
            ),
            disposition=Disposition(r.disposition),
            actor=r.actor,
            at=utc(r.at),
        )
        for r in conn.execute(q)
    ]
