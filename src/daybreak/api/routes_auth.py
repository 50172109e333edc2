"""Analyst sign-in for the JSON API (the console has its own page on the same functions),
health checks, and audit verification."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from daybreak.api.security import (
    ADMIN_ONLY,
    ALL_ROLES,
    SESSION_COOKIE,
    client_address,
    login,
    logout,
    refused,
    require,
    set_session_cookie,
    store_of,
)
from daybreak.store import Actor, LoginRefused

router = APIRouter()


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, Field(min_length=1, max_length=80)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Me(BaseModel):
    username: str
    role: str
    org_id: str  # the organisation whose data the caller works on


def me_of(actor: Actor) -> Me:
    return Me(username=actor.name, role=actor.role.value, org_id=actor.org_id)


class AuditReport(BaseModel):
    ok: bool
    entries: int
    problems: list[str]


@router.post(
    "/v1/auth/login",
    response_model=Me,
    tags=["auth"],
    responses={
        401: {"description": "wrong username or password"},
        429: {
            "description": "too many attempts from this address, on this server (the "
            "hashing budget) or for this account (locked), or too many sign-ins at once; "
            "see Retry-After"
        },
    },
)
async def api_login(body: LoginIn, request: Request, response: Response) -> Me:
    """Password login; sets an HttpOnly, SameSite=Strict, Secure session cookie. The
    same lockout as the console's sign-in applies (see docs/tipline.md)."""
    try:
        result = await run_in_threadpool(
            login, store_of(request), body.username, body.password, client_address(request)
        )
    except LoginRefused as exc:
        await asyncio.sleep(exc.delay)
        raise refused(exc) from exc
    if result is None:
        raise HTTPException(401, "wrong username or password")
    actor, token = result
    set_session_cookie(response, token, request.app.state.settings)
    return me_of(actor)


@router.post("/v1/auth/logout", status_code=204, tags=["auth"])
async def api_logout(request: Request, response: Response) -> None:
    await run_in_threadpool(
        logout, store_of(request), response, request.cookies.get(SESSION_COOKIE)
    )


@router.get(
    "/v1/auth/me",
    response_model=Me,
    tags=["auth"],
    responses={401: {"description": "not signed in"}},
)
async def me(actor: Actor = Depends(require(ALL_ROLES))) -> Me:
    return me_of(actor)


@router.get(
    "/v1/audit/verify",
    response_model=AuditReport,
    tags=["audit"],
    responses={401: {"description": "not signed in"}, 403: {"description": "admins only"}},
)
async def audit_verify(
    request: Request, actor: Actor = Depends(require(ADMIN_ONLY))
) -> AuditReport:
    """The whole chain (one for every organisation) verified. Its problems name rows
    and entries of any organisation: with several organisations, an organisation's
    admin gets only their number (the operator reads them with `daybreak audit verify`)."""
    store = store_of(request)
    result = await run_in_threadpool(store.audit.verify)
    problems = list(result.problems)
    orgs = await run_in_threadpool(store.organisations.listing)
    if problems and any(o.org_id != actor.org_id for o in orgs):
        problems = [
            f"{len(problems)} problem(s) found; the deployment's operator lists them "
            "with `daybreak audit verify`"
        ]
    return AuditReport(ok=result.ok, entries=result.entries, problems=problems)


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, Any]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], responses={503: {"description": "database not reachable"}})
async def readyz(request: Request) -> dict[str, Any]:
    """The database answers and the writer thread runs."""
    store = store_of(request)

    def probe() -> bool:
        with store.read_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return store.reports.writer.alive

    try:
        ok = await run_in_threadpool(probe)
    except Exception as exc:  # any failure means not ready
        raise HTTPException(503, "database not reachable") from exc
    if not ok:
        raise HTTPException(503, "writer stopped")
    return {"status": "ready"}
