"""Intake: ``POST /v1/reports`` (JSON), ``POST /v1/reports/ncmec`` (CyberTipline XML),
``GET /v1/reports/{id}``, the triaged queue and identifier search."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daybreak.api.security import ALL_ROLES, CASE_ROLES, SECURITY, authenticate, require, store_of
from daybreak.model.identifiers import IdentifierError, IdentifierKind
from daybreak.store import Actor, IdempotencyConflict, Role, Submission
from daybreak.tipline.intake import ReportIn
from daybreak.tipline.ncmec_import import NcmecImportError, import_report
from daybreak.tipline.routing import route
from daybreak.tipline.triage import triage

router = APIRouter(tags=["reports"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="retry-safe key: the same key never creates a second report",
    ),
]


class ReportAccepted(BaseModel):
    report_id: str
    duplicate: bool = Field(
        description="true when an Idempotency-Key replay returned an earlier report"
    )


class ReportView(BaseModel):
    report_id: str
    received_at: datetime
    source: str
    tier: int | None = None
    score: float | None = None
    reasons: list[str] | None = None
    country: str | None = None
    route_basis: str | None = None
    agency: str | None = None
    cluster_id: str | None = None
    report: ReportIn | None = None


class QueueItem(BaseModel):
    cluster_id: str
    tier: int
    score: float
    report_count: int
    report_ids: list[str]
    country: str | None
    agency: str
    is_live: bool
    reasons: list[str]
    last_received: datetime


class SearchResult(BaseModel):
    report_ids: list[str]
    case_ids: list[str]


class SearchIn(BaseModel):
    """An identifier to look up; sent in the body so it stays out of URLs and logs."""

    model_config = ConfigDict(extra="forbid")

    kind: IdentifierKind
    value: Annotated[str, Field(min_length=1, max_length=512)]


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid credentials"},
    403: {"description": "role not allowed"},
    413: {"description": "body too large"},
    422: {"description": "invalid body or header; `detail[].loc` names the field"},
    429: {"description": "rate limit exceeded"},
}


_JSON_ERRORS = {**_ERRORS, 415: {"description": "Content-Type is not application/json"}}


def _conflict(exc: IdempotencyConflict) -> HTTPException:
    return HTTPException(
        422,
        [{"loc": ["header", "Idempotency-Key"], "msg": str(exc), "type": "idempotency_conflict"}],
    )


async def _accept(request: Request, response: Response, sub: Submission) -> ReportAccepted:
    try:
        receipt = await asyncio.wrap_future(store_of(request).reports.submit(sub))
    except IdempotencyConflict as exc:
        raise _conflict(exc) from exc
    if receipt.duplicate:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/reports/{receipt.report_id}"
    return ReportAccepted(report_id=receipt.report_id, duplicate=receipt.duplicate)


def require_json(request: Request) -> None:
    """A report is JSON: any other Content-Type (form posts, text/plain, none) is
    answered 415 before the body is read, so a browser form or a mislabelled upload
    from another site cannot be taken for a report."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise HTTPException(
            415,
            [
                {
                    "loc": ["header", "Content-Type"],
                    "msg": f"expected application/json, got {media_type or 'none'!r:.80}",
                    "type": "unsupported_media_type",
                }
            ],
        )


_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))
REPORT_IN_REF = "#/components/schemas/ReportIn"  # fixed up in app.openapi()


def idempotency_key_parameter(description: str) -> dict[str, Any]:
    """The OpenAPI ``Idempotency-Key`` header of a route read by :func:`idempotency_key_of`
    (the same limits)."""
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": description,
        "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 200,
            "pattern": "^[\\x21-\\x7e]+$",
        },
    }


def idempotency_key_of(request: Request) -> str | None:
    """The ``Idempotency-Key`` header (None when absent), or 422 naming it."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not set(key) <= _KEY_CHARS:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["header", "Idempotency-Key"],
                    "msg": "1-200 printable ASCII characters",
                    "type": "value_error",
                }
            ],
        )
    return key


@router.post(
    "/v1/reports",
    status_code=202,
    response_model=ReportAccepted,
    responses=_JSON_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REPORT_IN_REF}}},
        },
        "parameters": [
            idempotency_key_parameter("retry-safe key: the same key never creates a second report")
        ],
        "security": SECURITY,
    },
)
async def submit_report(request: Request) -> Response:
    """Receive one report (JSON, the ``ReportIn`` schema). Answers 202 with the report id
    only after the report is committed to disk (group commit: many concurrent reports
    share one fsync). The hot path: parsed and validated in one step, no dependency
    injection; served by ``IntakeFastPath`` (daybreak/api/intake_fast.py) ahead of the
    router, so declare nothing on this route that needs FastAPI at request time."""
    actor = await authenticate(request)
    require_json(request)
    key = idempotency_key_of(request)
    try:
        report = ReportIn.model_validate_json(await request.body())
    except ValidationError as exc:
        detail = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        return JSONResponse({"detail": detail}, status_code=422)
    # request_hash left empty: the store hashes the report's JSON, which it serialises
    # for storage anyway (the same SHA-256 this route used to compute beforehand).
    sub = Submission(report, actor.name, "api", idempotency_key=key, org_id=actor.org_id)
    try:
        receipt = await asyncio.wrap_future(store_of(request).reports.submit(sub))
    except IdempotencyConflict as exc:
        raise _conflict(exc) from exc
    headers = {"Location": f"/v1/reports/{receipt.report_id}"}
    if receipt.duplicate:
        headers["Idempotent-Replayed"] = "true"
    body = json.dumps({"report_id": receipt.report_id, "duplicate": receipt.duplicate})
    return Response(body, status_code=202, media_type="application/json", headers=headers)


class TriagePreview(BaseModel):
    tier: int
    score: float
    reasons: list[str]
    country: str | None
    route_basis: str
    agency: str


@router.post("/v1/reports/validate", response_model=TriagePreview, responses=_JSON_ERRORS)
async def validate_report(
    report: ReportIn,
    request: Request,
    actor: Actor = Depends(require(ALL_ROLES)),
    _json: None = Depends(require_json),  # after the credentials: 401 comes first
) -> TriagePreview:
    """Check a report without storing it: validation errors, or the triage it would get
    on its own (before clustering). For platforms testing their integration."""
    result = triage(report)
    where = route(report, store_of(request).agencies)
    return TriagePreview(
        tier=int(result.tier),
        score=result.score,
        reasons=list(result.reasons),
        country=where.country,
        route_basis=where.basis,
        agency=where.agency,
    )


@router.post(
    "/v1/reports/ncmec",
    status_code=202,
    response_model=ReportAccepted,
    responses={**_ERRORS, 503: {"description": "no CyberTipline XSD configured"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/xml": {"schema": {"type": "string"}}},
        }
    },
)
async def submit_ncmec(
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    actor: Actor = Depends(require(ALL_ROLES)),
) -> ReportAccepted:
    """Import one CyberTipline ``<report>`` document (XSD-validated, DTDs refused)."""
    xsd = request.app.state.settings.ncmec_xsd
    if xsd is None:
        raise HTTPException(503, "NCMEC import needs the CyberTipline XSD (DAYBREAK_NCMEC_XSD)")
    data = await request.body()
    try:
        report = await run_in_threadpool(import_report, data, xsd, "body")
    except NcmecImportError as exc:
        raise HTTPException(
            422, [{"loc": ["body"], "msg": p, "type": "ncmec_xml"} for p in exc.problems]
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    sub = Submission(
        report,
        actor.name,
        "ncmec",
        idempotency_key=idempotency_key,
        request_hash=digest,
        org_id=actor.org_id,
    )
    return await _accept(request, response, sub)


@router.get(
    "/v1/reports/{report_id}",
    response_model=ReportView,
    response_model_exclude_none=True,
    responses={**_ERRORS, 404: {"description": "no such report (or not yours)"}},
)
async def get_report(
    report_id: Annotated[str, Path(max_length=80)],
    request: Request,
    actor: Actor = Depends(require(ALL_ROLES)),
) -> ReportView:
    """A platform sees only its own reports' receipts; analysts see the report and triage."""
    stored = await run_in_threadpool(store_of(request).reports.get, report_id, actor)
    if stored is None:
        raise HTTPException(404, "no such report")
    if actor.role is Role.PLATFORM:
        return ReportView(
            report_id=stored.report_id, received_at=stored.received_at, source=stored.source
        )
    return ReportView(
        report_id=stored.report_id,
        received_at=stored.received_at,
        source=stored.source,
        tier=stored.tier,
        score=stored.score,
        reasons=stored.reasons,
        country=stored.country,
        route_basis=stored.route_basis,
        agency=stored.agency,
        cluster_id=stored.cluster_id,
        report=stored.report,
    )


@router.get("/v1/queue", response_model=list[QueueItem], responses=_ERRORS)
async def triaged_queue(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> list[QueueItem]:
    """Clusters of reports, most urgent first (tier, then score)."""
    items = await run_in_threadpool(store_of(request).reports.queue, actor, limit)
    return [
        QueueItem(
            cluster_id=c.cluster_id,
            tier=c.tier,
            score=c.score,
            report_count=c.report_count,
            report_ids=list(c.report_ids),
            country=c.country,
            agency=c.agency,
            is_live=c.is_live,
            reasons=list(c.reasons),
            last_received=c.last_received,
        )
        for c in items
    ]


SEARCH_BY_POST = (
    "identifier searches are POSTed to /v1/search with a JSON body "
    '{"kind": ..., "value": ...}, so phone numbers and e-mails stay out of URLs and '
    "access logs"
)


@router.get(
    "/v1/search",
    status_code=405,
    responses={405: {"description": "use POST /v1/search"}},
    include_in_schema=False,
)
async def search_by_get() -> JSONResponse:
    """The old GET form answers 405 with a hint (its query string is not read)."""
    return JSONResponse(
        status_code=405, content={"detail": SEARCH_BY_POST}, headers={"Allow": "POST"}
    )


@router.post("/v1/search", response_model=SearchResult, responses=_ERRORS)
async def search(
    request: Request,
    body: SearchIn,
    actor: Actor = Depends(require(CASE_ROLES)),
) -> SearchResult:
    """Reports and cases carrying one identifier (normalised like intake)."""
    try:
        hit = await run_in_threadpool(
            store_of(request).reports.search, body.kind, body.value, actor
        )
    except IdentifierError as exc:
        raise HTTPException(
            422, [{"loc": ["body", "value"], "msg": str(exc), "type": "identifier"}]
        ) from exc
    return SearchResult(report_ids=list(hit.report_ids), case_ids=list(hit.case_ids))
