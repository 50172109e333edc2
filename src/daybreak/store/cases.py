"""Persisting :class:`daybreak.model.cases.Case` and its workflow.

The analytical content of a case (nodes, edges, evidence, timeline, reasons) is
re-computed by the case builder and replaced on every upsert; the workflow state
(status, assignee, outcome, notes, history) belongs to people and is kept. Case bodies
and notes are encrypted, bound to their row; entity keys are stored as blind indexes
for search. The plain workflow columns carry a row MAC, recomputed by every write here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, CursorResult, delete, insert, select, update

from daybreak.model.cases import TRANSITIONS, Case, CaseStatus, Outcome, Tier
from daybreak.store.audit import utc
from daybreak.store.integrity import refresh_mac, row_mac, with_mac
from daybreak.store.keys import Keyring, bound
from daybreak.store.tables import (
    case_events,
    case_keys,
    case_notes,
    case_reports,
    cases,
    of_org,
)

# Associated data: the column, then the row (see daybreak.store.integrity.SEALED).
BODY = "cases.body_enc"  # :case_id
NOTE = "case_notes.text_enc"  # :id
REASON = "case_events.reason_enc"  # :id


class WorkflowError(ValueError):
    """A transition the workflow does not allow, or a missing outcome/assignee."""


class NotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class StatusChange:
    case_id: str
    at: datetime
    actor: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str


@dataclass(frozen=True, slots=True)
class CaseFilter:
    status: CaseStatus | None = None
    assignee: str | None = None
    min_priority: float | None = None
    tier: int | None = None
    limit: int = 200
    offset: int = 0


def _row_to_case(keys: Keyring, r: Any) -> Case:
    case = Case.model_validate_json(keys.decrypt_text(r.body_enc, bound(BODY, r.case_id)))
    return case.model_copy(
        update={
            "status": CaseStatus(r.status),
            "tier": Tier(r.tier),  # the effective tier: an analyst's override wins
            "outcome": Outcome(r.outcome) if r.outcome else None,
            "assignee": r.assignee,
            "created_at": utc(r.created_at),
            "updated_at": utc(r.updated_at),
        }
    )


def _select_case(keys: Keyring, case_id: str) -> Any:
    """The case's row, in the keyring's organisation only (another organisation's case
    is not found, like a missing one)."""
    return select(cases).where(cases.c.case_id == case_id, of_org(cases, keys.org_id))


def upsert(conn: Connection, keys: Keyring, case: Case, now: datetime) -> bool:
    """Insert or update one case of ``keys.org_id``; returns True when it was new.
    Raises :class:`WorkflowError` when another organisation holds the case id."""
    existing = conn.execute(select(cases).where(cases.c.case_id == case.case_id)).first()
    if existing is not None and existing.org_id != keys.org_id:
        raise WorkflowError(f"case id {case.case_id} is held by another organisation")
    org = keys.org_id
    body = keys.encrypt_text(case.model_dump_json(), bound(BODY, case.case_id))
    values = {
        "priority": case.priority,
        "tier": int(case.tier),
        "country": case.country,
        "routed_agency": case.routed_agency,
        "updated_at": utc(now),
        "body_enc": body,
    }
    if existing is None:
        row = {
            "case_id": case.case_id,
            "status": case.status.value,
            "outcome": case.outcome.value if case.outcome else None,
            "assignee": case.assignee,
            "created_at": utc(case.created_at or now),
            **values,
            "org_id": org,
        }
        conn.execute(insert(cases).values(**with_mac(keys, cases, row)))
        conn.execute(
            insert(case_events).values(
                org_id=org,
                case_id=case.case_id,
                at=now,
                actor="system",
                from_status=None,
                to_status=case.status.value,
                reason_enc=None,
            )
        )
    else:
        kept = {n: existing._mapping[n] for n in ("status", "outcome", "assignee", "created_at")}
        mac_of = {"case_id": case.case_id, "org_id": org, **kept, **values}
        values["row_mac"] = row_mac(keys, cases, mac_of)
        conn.execute(update(cases).where(cases.c.case_id == case.case_id).values(**values))
        conn.execute(delete(case_keys).where(case_keys.c.case_id == case.case_id))
        conn.execute(delete(case_reports).where(case_reports.c.case_id == case.case_id))
    indexes = sorted({keys.index(k) for k in case.entity_keys})
    if indexes:
        conn.execute(
            insert(case_keys),
            [{"org_id": org, "case_id": case.case_id, "value_index": i} for i in indexes],
        )
    report_ids = sorted(set(case.report_ids))
    if report_ids:
        conn.execute(
            insert(case_reports),
            [{"org_id": org, "case_id": case.case_id, "report_id": r} for r in report_ids],
        )
    return existing is None


def get(conn: Connection, keys: Keyring, case_id: str) -> Case | None:
    r = conn.execute(_select_case(keys, case_id)).first()
    return None if r is None else _row_to_case(keys, r)


def query(
    conn: Connection, keys: Keyring, f: CaseFilter, case_ids: list[str] | None = None
) -> list[Case]:
    q = select(cases).where(of_org(cases, keys.org_id))
    if f.status is not None:
        q = q.where(cases.c.status == f.status.value)
    if f.assignee is not None:
        q = q.where(cases.c.assignee == f.assignee)
    if f.min_priority is not None:
        q = q.where(cases.c.priority >= f.min_priority)
    if f.tier is not None:
        q = q.where(cases.c.tier == f.tier)
    if case_ids is not None:
        q = q.where(cases.c.case_id.in_(case_ids))
    q = (
        q.order_by(cases.c.tier, cases.c.priority.desc(), cases.c.case_id)
        .limit(f.limit)
        .offset(f.offset)
    )
    return [_row_to_case(keys, r) for r in conn.execute(q)]


def cases_with_key(conn: Connection, keys: Keyring, index: str) -> list[str]:
    """The ids of ``keys.org_id``'s cases carrying the identifier of blind index ``index``."""
    q = select(case_keys.c.case_id).where(
        case_keys.c.value_index == index, of_org(case_keys, keys.org_id)
    )
    return [r[0] for r in conn.execute(q)]


def transition(
    conn: Connection,
    keys: Keyring,
    case_id: str,
    to: CaseStatus,
    actor: str,
    reason: str,
    now: datetime,
    *,
    outcome: Outcome | None = None,
    assignee: str | None = None,
) -> Case:
    r = conn.execute(_select_case(keys, case_id)).first()
    if r is None:
        raise NotFound(case_id)
    current = CaseStatus(r.status)
    if to not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise WorkflowError(
            f"cannot move a {current.value} case to {to.value} (allowed: {allowed})"
        )
    values: dict[str, Any] = {"status": to.value, "updated_at": utc(now)}
    if to is CaseStatus.CLOSED:
        if outcome is None:
            raise WorkflowError("closing a case needs an outcome")
        values["outcome"] = outcome.value
    elif outcome is not None:
        raise WorkflowError("an outcome is only set when closing a case")
    else:
        values["outcome"] = None
    if to is CaseStatus.ASSIGNED:
        who = assignee or r.assignee
        if not who:
            raise WorkflowError("assigning a case needs an assignee")
        values["assignee"] = who
    elif assignee is not None:
        values["assignee"] = assignee
    conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
    refresh_mac(conn, keys, cases, case_id)
    event_id = inserted_id(
        conn.execute(
            insert(case_events).values(
                org_id=keys.org_id,
                case_id=case_id,
                at=now,
                actor=actor,
                from_status=current.value,
                to_status=to.value,
                reason_enc=None,
            )
        )
    )
    if reason:  # bound to the event's id, known once it is inserted
        conn.execute(
            update(case_events)
            .where(case_events.c.id == event_id)
            .values(reason_enc=keys.encrypt_text(reason, bound(REASON, event_id)))
        )
    case = get(conn, keys, case_id)
    assert case is not None
    return case


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_note(
    conn: Connection, keys: Keyring, case_id: str, author: str, text: str, now: datetime
) -> None:
    if not conn.execute(_select_case(keys, case_id)).first():
        raise NotFound(case_id)
    note_id = inserted_id(
        conn.execute(
            insert(case_notes).values(
                org_id=keys.org_id, case_id=case_id, author=author, at=now, text_enc=b""
            )
        )
    )
    conn.execute(  # bound to the note's id, known once it is inserted
        update(case_notes)
        .where(case_notes.c.id == note_id)
        .values(text_enc=keys.encrypt_text(text, bound(NOTE, note_id)))
    )
    conn.execute(update(cases).where(cases.c.case_id == case_id).values(updated_at=utc(now)))
    refresh_mac(conn, keys, cases, case_id)


def notes(conn: Connection, keys: Keyring, case_id: str) -> list[Note]:
    rows = conn.execute(
        select(case_notes)
        .where(case_notes.c.case_id == case_id, of_org(case_notes, keys.org_id))
        .order_by(case_notes.c.id)
    )
    return [
        Note(r.author, utc(r.at), keys.decrypt_text(r.text_enc, bound(NOTE, r.id))) for r in rows
    ]


def history(conn: Connection, keys: Keyring, case_id: str | None = None) -> list[StatusChange]:
    q = select(case_events).where(of_org(case_events, keys.org_id)).order_by(case_events.c.id)
    if case_id is not None:
        q = q.where(case_events.c.case_id == case_id)
    return [
        StatusChange(
            r.case_id,
            utc(r.at),
            r.actor,
            CaseStatus(r.from_status) if r.from_status else None,
            CaseStatus(r.to_status),
            keys.decrypt_text(r.reason_enc, bound(REASON, r.id)) if r.reason_enc else "",
        )
        for r in conn.execute(q)
    ]
