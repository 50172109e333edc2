"""Cases: list, read, move through the workflow, and annotate. Every call is audited
by the store (the read or write and its audit entry commit together)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from daybreak.api.security import CASE_ROLES, require, store_of
from daybreak.model.cases import Case, CaseStatus, Outcome
from daybreak.store import Actor, CaseFilter, NotFound, PermissionDenied, WorkflowError

router = APIRouter(tags=["cases"])
CaseId = Annotated[str, Path(min_length=1, max_length=80)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid credentials"},
    403: {"description": "role not allowed"},
    404: {"description": "no such case"},
    409: {"description": "the workflow does not allow this"},
    422: {"description": "invalid body; `detail[].loc` names the field"},
    429: {"description": "rate limit exceeded"},
}


class CaseSummary(BaseModel):
    case_id: str
    title: str
    priority: float
    tier: int
    status: CaseStatus
    outcome: Outcome | None
    assignee: str | None
    country: str | None
    routed_agency: str | None
    report_count: int
    updated_at: datetime | None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: CaseStatus
    reason: Annotated[str, Field(max_length=5000)] = ""
    outcome: Outcome | None = Field(default=None, description="required when closing")
    assignee: Annotated[str, Field(min_length=1, max_length=80)] | None = None


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged_case: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="the case merged into this one (closed as merged)"
    )
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alert_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=500),
    ] = Field(description="the alerts moved, with their entities, into a new case")
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class MergedOut(BaseModel):
    case: Case
    merged: Case


class SplitOut(BaseModel):
    case: Case
    new_case: Case


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, Field(min_length=1, max_length=20000)]


class NoteOut(BaseModel):
    author: str
    at: datetime
    text: str


class StatusChangeOut(BaseModel):
    at: datetime
    actor: str
    from_status: CaseStatus | None
    to_status: CaseStatus
    reason: str


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(404, "no such case")
    if isinstance(exc, PermissionDenied):
        return HTTPException(403, str(exc))
    return HTTPException(409, [{"loc": ["body", "to"], "msg": str(exc), "type": "workflow"}])


@router.get("/v1/cases", response_model=list[CaseSummary], responses=_ERRORS)
async def list_cases(
    request: Request,
    status: CaseStatus | None = None,
    assignee: Annotated[str | None, Query(max_length=80)] = None,
    tier: Annotated[int | None, Query(ge=1, le=6)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> list[CaseSummary]:
    f = CaseFilter(status=status, assignee=assignee, tier=tier, limit=limit, offset=offset)
    found = await run_in_threadpool(store_of(request).cases.query, actor, f)
    return [
        CaseSummary(
            case_id=c.case_id,
            title=c.title,
            priority=c.priority,
            tier=int(c.tier),
            status=c.status,
            outcome=c.outcome,
            assignee=c.assignee,
            country=c.country,
            routed_agency=c.routed_agency,
            report_count=len(c.report_ids),
            updated_at=c.updated_at,
        )
        for c in found
    ]


@router.get("/v1/cases/{case_id}", response_model=Case, responses=_ERRORS)
async def get_case(
    case_id: CaseId, request: Request, actor: Actor = Depends(require(CASE_ROLES))
) -> Case:
    case = await run_in_threadpool(store_of(request).cases.get, case_id, actor)
    if case is None:
        raise HTTPException(404, "no such case")
    return case


@router.post("/v1/cases/{case_id}/transition", response_model=Case, responses=_ERRORS)
async def transition(
    case_id: CaseId,
    body: TransitionIn,
    request: Request,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> Case:
    """Move a case: new -> triaged -> assigned -> escalated / referred -> closed (with an outcome)."""
    store = store_of(request)
    try:
        return await run_in_threadpool(
            lambda: store.cases.transition(
                case_id, body.to, actor, body.reason, outcome=body.outcome, assignee=body.assignee
            )
        )
    except (NotFound, PermissionDenied, WorkflowError) as exc:
        raise _http(exc) from exc


@router.post("/v1/cases/{case_id}/merge", response_model=MergedOut, responses=_ERRORS)
async def merge(
    case_id: CaseId,
    body: MergeIn,
    request: Request,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> MergedOut:
    """Merge case ``merged_case`` into this one: its alerts, entities and evidence move
    here, it is closed with the outcome "merged", and both record the link and reason."""
    store = store_of(request)
    try:
        into, merged = await run_in_threadpool(
            store.cases.merge, case_id, body.merged_case, actor, body.reason
        )
    except (NotFound, PermissionDenied, WorkflowError) as exc:
        raise _http(exc) from exc
    return MergedOut(case=into, merged=merged)


@router.post("/v1/cases/{case_id}/split", response_model=SplitOut, responses=_ERRORS)
async def split(
    case_id: CaseId,
    body: SplitIn,
    request: Request,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> SplitOut:
    """Split the alerts ``alert_ids`` (with their entities and records) out of this case
    into a new case ``<case_id>-S<n>``; both record the link and reason."""
    store = store_of(request)
    try:
        rest, new = await run_in_threadpool(
            store.cases.split, case_id, body.alert_ids, actor, body.reason
        )
    except (NotFound, PermissionDenied, WorkflowError) as exc:
        raise _http(exc) from exc
    return SplitOut(case=rest, new_case=new)


@router.get("/v1/cases/{case_id}/notes", response_model=list[NoteOut], responses=_ERRORS)
async def list_notes(
    case_id: CaseId, request: Request, actor: Actor = Depends(require(CASE_ROLES))
) -> list[NoteOut]:
    store = store_of(request)
    if await run_in_threadpool(store.cases.get, case_id, actor) is None:
        raise HTTPException(404, "no such case")
    notes = await run_in_threadpool(store.cases.notes, case_id, actor)
    return [NoteOut(author=n.author, at=n.at, text=n.text) for n in notes]


@router.post(
    "/v1/cases/{case_id}/notes", status_code=201, response_model=NoteOut, responses=_ERRORS
)
async def add_note(
    case_id: CaseId, body: NoteIn, request: Request, actor: Actor = Depends(require(CASE_ROLES))
) -> NoteOut:
    store = store_of(request)
    try:
        await run_in_threadpool(store.cases.add_note, case_id, actor, body.text)
    except (NotFound, PermissionDenied, WorkflowError) as exc:
        if isinstance(exc, WorkflowError):
            raise HTTPException(
                422, [{"loc": ["body", "text"], "msg": str(exc), "type": "value_error"}]
            ) from exc
        raise _http(exc) from exc
    notes = await run_in_threadpool(store.cases.notes, case_id, actor)
    last = notes[-1]
    return NoteOut(author=last.author, at=last.at, text=last.text)


@router.get("/v1/cases/{case_id}/history", response_model=list[StatusChangeOut], responses=_ERRORS)
async def history(
    case_id: CaseId, request: Request, actor: Actor = Depends(require(CASE_ROLES))
) -> list[StatusChangeOut]:
    store = store_of(request)
    if await run_in_threadpool(store.cases.get, case_id, actor) is None:
        raise HTTPException(404, "no such case")
    changes = await run_in_threadpool(store.cases.history, actor, case_id)
    return [
        StatusChangeOut(
            at=c.at,
            actor=c.actor,
            from_status=c.from_status,
            to_status=c.to_status,
            reason=c.reason,
        )
        for c in changes
    ]
