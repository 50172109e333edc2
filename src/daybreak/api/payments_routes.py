"""``POST /v1/payments/score``: decide on one payment before it leaves.

The body is one transaction in the public schema (JSON, ``docs/data-model.md``) or an
ISO 20022 pacs.008 message holding one credit transfer (``application/xml``; parsed by
:mod:`daybreak.payments.pacs008`). The answer is ``allow | review | hold`` with the
score, the typologies that fired, the explanation with the evidence transaction ids,
and the version of the pinned context it was scored under
(:mod:`daybreak.engines.payments_realtime`).

Authenticated and rate-limited like the intake routes (any role's API key or
session of the organisation the state belongs to: the history holds its payments, and
an explanation names them); every answer is audited (``payments.score`` on the payment's id). The
``Idempotency-Key`` header (default: the payment's ``txn_id``) binds to the payment:
the same key with the same payment returns the stored answer (``Idempotent-Replayed:
true``), with another payment 409. The state comes from ``app.state.payments_realtime``
when set (tests, embedded apps), else it is opened once from the server's data folder
(``payments-realtime.duckdb`` in ``--data-dir``, made by ``daybreak payments realtime
load``); without it, or before a context is pinned, the route answers 503. Payments
that come while another is being scored wait and are scored together in the next run
by the state's scoring thread (micro-batching, ``RealtimeState``); when too many wait,
503 with ``Retry-After``. The route is served ahead of FastAPI's router
(:func:`score_payment`); its registration here documents it in OpenAPI.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from daybreak.api.routes_reports import idempotency_key_of, idempotency_key_parameter
from daybreak.api.security import SECURITY, authenticate, store_of

router = APIRouter(tags=["payments"])
_opening = threading.Lock()

XML_TYPES = ("application/xml", "text/xml")


class SubjectAnswer(BaseModel):
    subject_type: str = Field(description="customer (the payer) or beneficiary")
    subject_id: str
    scored: bool = Field(description="false when the subject has too little history")
    score: float
    typologies: list[str]
    explanation: str
    evidence_txn_ids: list[str] = Field(description="the transactions the explanation rests on")


class ScoreAnswer(BaseModel):
    txn_id: str
    decision: str = Field(description="allow | review | hold")
    score: float = Field(description="the higher of the payer's and the beneficiary's")
    typologies: list[str]
    explanation: str
    context_version: str = Field(description="the pinned context the payment was scored under")
    thresholds: dict[str, float] = Field(description="the pack's realtime thresholds")
    payer: SubjectAnswer
    beneficiary: SubjectAnswer | None = Field(
        description="null when the payment is not a corridor payment"
    )


def _transaction_schema() -> dict[str, Any]:
    """The public transactions columns as a JSON schema (OpenAPI only; the body is
    validated by the same rules as files)."""
    from daybreak.schema.columns import TABLES, ColumnType

    props: dict[str, Any] = {}
    for c in TABLES["transactions"].columns:
        kind: dict[str, Any] = (
            {"type": "number"} if c.type == ColumnType.DECIMAL else {"type": "string"}
        )
        if c.choices:
            kind["enum"] = list(c.choices)
        if c.doc:
            kind["description"] = c.doc
        props[c.name] = kind
    required = [c.name for c in TABLES["transactions"].columns if not c.nullable]
    return {"type": "object", "properties": props, "required": required}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or invalid credentials"},
    403: {"description": "role not allowed, or the state belongs to another organisation"},
    409: {"description": "Idempotency-Key used before with a different payment"},
    413: {"description": "body too large"},
    415: {"description": "Content-Type is neither JSON nor XML"},
    422: {"description": "invalid payment; `detail[].loc` names the field"},
    429: {"description": "rate limit exceeded"},
    503: {
        "description": "no state or no pinned context yet (`daybreak payments realtime`), "
        "or too many payments waiting to be scored (with `Retry-After`)"
    },
}


def _invalid(loc: list[str], msg: str, kind: str = "value_error") -> HTTPException:
    return HTTPException(422, [{"loc": loc, "msg": msg, "type": kind}])


def _record(request: Request, body: bytes) -> dict[str, Any]:
    """The payment as a record of the transactions columns, from JSON or pacs.008."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in XML_TYPES:
        from daybreak.payments.pacs008 import Pacs008Error, rows_from_message

        try:
            rows = rows_from_message(body, "body")
        except Pacs008Error as exc:
            raise _invalid(["body"], str(exc)) from None
        if len(rows) != 1:
            raise _invalid(["body"], f"expected one credit transfer (CdtTrfTxInf), got {len(rows)}")
        return dict(rows[0])
    if media != "application/json":
        raise HTTPException(
            415,
            [{"loc": ["header", "Content-Type"], "type": "unsupported_media_type",
              "msg": f"expected application/json or application/xml, got {media or 'none'!r:.80}"}],
        )  # fmt: skip
    try:
        record = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(["body"], f"not valid JSON ({exc})", "json_invalid") from None
    if not isinstance(record, dict):
        raise _invalid(["body"], "expected a JSON object (one transaction)")
    return record


def _checked(record: dict[str, Any]) -> dict[str, Any]:
    """The record typed (the transactions columns, no frame), or 422 naming every bad
    field."""
    from daybreak.schema.validate import validate_record

    row, problems = validate_record(record, "transactions", "body")
    if row is None:
        raise HTTPException(
            422,
            [
                {"loc": ["body", *([p.column] if p.column else [])], "msg": p.message,
                 "type": "value_error"}
                for p in problems
            ],
        )  # fmt: skip
    return row


def state_of(request: Request) -> Any:
    """The app's real-time state (opened once from the data folder when not given)."""
    from daybreak.engines.payments_realtime import NoContext, RealtimeState, state_path

    state = getattr(request.app.state, "payments_realtime", None)
    if state is None:
        with _opening:
            state = getattr(request.app.state, "payments_realtime", None)
            if state is None:
                path = state_path(request.app.state.settings.data_dir)
                if not path.exists():
                    raise NoContext(
                        f"no real-time state in {path.parent}: load the history with "
                        "`daybreak payments realtime load` and pin a context with "
                        "`daybreak payments realtime refresh`"
                    )
                settings = request.app.state.settings
                state = RealtimeState(path, incremental=settings.realtime_scoring == "memory")
                request.app.state.payments_realtime = state
    return state


@router.post(
    "/v1/payments/score",
    response_model=ScoreAnswer,
    responses=_ERRORS,
    summary="Decide on one payment (allow, review, hold) from its parties' history",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _transaction_schema()},
                "application/xml": {
                    "schema": {"type": "string", "description": "pacs.008, one CdtTrfTxInf"}
                },
            },
        },
        "parameters": [idempotency_key_parameter("retry-safe key (default: the payment's txn_id)")],
        "security": SECURITY,
    },
)
async def score_payment(request: Request) -> Response:
    """The hot path: served by ``IntakeFastPath`` (daybreak/api/intake_fast.py) ahead of the
    router, with no dependency injection and no response model at request time (the
    answer is serialised as built; ``ScoreAnswer`` documents it). Every role may score,
    so authenticating is the whole permission check. No thread hand-off once the state
    is open: the scoring thread and the audit's group commit answer futures that the
    event loop awaits."""
    from daybreak.engines.payments_realtime import (
        IdempotencyConflict,
        NoContext,
        OtherOrganisation,
        QueueFull,
    )
    from daybreak.payments.realtime import body_digest

    actor = await authenticate(request)
    given_key = idempotency_key_of(request)
    record = _record(request, await request.body())
    canonical = _checked(record)
    txn_id = str(canonical["txn_id"])
    key = given_key or f"txn:{txn_id}"
    state: Any = getattr(request.app.state, "payments_realtime", None)
    try:
        if state is None:  # opened once, off the event loop
            state = await run_in_threadpool(state_of, request)
    except NoContext as exc:
        raise HTTPException(503, str(exc)) from None
    try:
        state.check_owner(actor.org_id)
    except OtherOrganisation as exc:
        raise HTTPException(403, str(exc)) from None
    currency = canonical["currency"]
    if currency not in state.pack.fx_to_reference:
        raise _invalid(["body", "currency"], f"{currency}: no exchange rate in the typology pack")
    try:
        scored = await asyncio.wrap_future(state.submit(canonical, key, body_digest(canonical)))
    except IdempotencyConflict as exc:
        raise HTTPException(
            409, [{"loc": ["header", "Idempotency-Key"], "msg": str(exc),
                   "type": "idempotency_conflict"}],
        ) from None  # fmt: skip
    except NoContext as exc:
        raise HTTPException(503, str(exc)) from None
    except QueueFull as exc:
        raise HTTPException(
            503, f"{exc}: retry later", headers={"Retry-After": str(exc.retry_after)}
        ) from None
    answer: dict[str, Any] = scored.answer
    detail = {
        "decision": answer["decision"],
        "score": answer["score"],
        "typologies": answer["typologies"],
        "context_version": answer["context_version"],
        "idempotency_key": key,
        "replayed": scored.replayed,
    }
    await asyncio.wrap_future(
        store_of(request).audit.record_later(actor, "payments.score", "payment", txn_id, detail)
    )
    headers = {"Idempotent-Replayed": "true"} if scored.replayed else None
    return Response(orjson.dumps(answer), media_type="application/json", headers=headers)
