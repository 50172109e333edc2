"""Pieces every console page shares: the per-app state, the signed-in session, CSRF
checks on form posts, rendering with the security-relevant defaults, and page errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from daybreak.console.backend import ConsoleBackend, ConsoleUser
from daybreak.console.manage import Manage
from daybreak.console.security import (
    OPENED_KEY,
    SESSION_COOKIE,
    OpenedSession,
    Session,
    Sessions,
    SessionStore,
    tokens_equal,
)
from daybreak.model.cases import DEFAULT_TRIAGE_SLA, Tier

PREFIX = "/console"
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ConsoleState:
    """What the pages need, kept on ``app.state.daybreak_console``."""

    backend: ConsoleBackend
    secure_cookies: bool = True
    sessions: Sessions = field(default_factory=SessionStore)
    manage: Manage = field(default_factory=Manage)
    clock: Callable[[], datetime] = utc_now
    # how long a new case may wait for triage, per tier (serve --triage-sla)
    triage_sla: dict[Tier, timedelta] = field(default_factory=lambda: dict(DEFAULT_TRIAGE_SLA))


class SignInRequired(Exception):
    """No valid session: the app's handler redirects to the sign-in page."""


class ConsolePageError(Exception):
    """Shown to the user as an error page with this status, title and message."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.daybreak_console
    return state


def current_session(request: Request) -> Session | None:
    """The request's session, read once per request; what a page changes in it is
    written back before the response leaves (:class:`SessionWriteBack`)."""
    opened = getattr(request.state, OPENED_KEY, None)
    if isinstance(opened, OpenedSession):
        return opened.session
    token = request.cookies.get(SESSION_COOKIE)
    session = state_of(request).sessions.get(token)
    if token and session is not None:
        setattr(request.state, OPENED_KEY, OpenedSession(token, session, session.changes()))
    return session


def signed_in(request: Request) -> Session:
    """The session of a console user (analyst, supervisor or admin)."""
    state = state_of(request)
    session = current_session(request)
    if session is None:
        raise SignInRequired()
    # One primary-key read: a revoked, disabled or re-roled account loses its console
    # sessions at once, whichever process signed it in.
    if state.backend.session_epoch(session.user.username) != session.epoch:
        state.sessions.end(request.cookies.get(SESSION_COOKIE))
        raise SignInRequired()
    if not session.user.may_use_console:
        raise ConsolePageError(403, "Not allowed", "Your role cannot use the console.")
    return session


def require_manager(user: ConsoleUser) -> None:
    if not user.is_manager:
        raise ConsolePageError(
            403, "Supervisors only", "Only a supervisor or an admin can change this."
        )


async def posted(request: Request) -> tuple[Session, FormData]:
    """The session of a form post whose CSRF token matches; anything else is refused."""
    session = signed_in(request)
    form = await request.form()
    token = form.get("csrf_token")
    if not isinstance(token, str) or not tokens_equal(token, session.csrf):
        raise ConsolePageError(
            403,
            "Form expired",
            "The form's security token did not match. Reload the page and try again.",
        )
    return session, form


class FieldTooLong(ConsolePageError):
    """A form field longer than its bound. The console's own forms carry ``maxlength``,
    so only a hand-made request gets here: it is answered with a 400 page naming the
    field, whichever route reads it (never a 500)."""

    def __init__(self, name: str, length: int, max_len: int) -> None:
        super().__init__(
            400,
            "Field too long",
            f"The field {name!r} has {length} characters; at most {max_len} are accepted.",
        )


def form_text(form: FormData, name: str, *, max_len: int = 200) -> str:
    """The stripped text of one form field, refused (400) when longer than ``max_len``."""
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > max_len:
        raise FieldTooLong(name, len(text), max_len)
    return text


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    session = current_session(request)
    flashes: list[tuple[str, str]] = []
    if session is not None:
        flashes, session.flashes = session.flashes, []
    base = {
        "user": session.user if session else None,
        "csrf": session.csrf if session else "",
        "flashes": flashes,
        "prefix": PREFIX,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def case_url(case_id: str) -> str:
    return f"{PREFIX}/cases/{quote(case_id, safe='')}"
