"""Console sessions, CSRF tokens and the security headers.

Sessions live on the server (a random token in an HttpOnly, SameSite=Strict cookie), so
signing out really ends them: in the store under ``daybreak serve`` (shared by every
server process: :class:`daybreak.console.store_backend.StoredSessions`), else in this
process (:class:`SessionStore`). Each session carries its own CSRF token that every form
posts back (synchroniser token); the sign-in form, which comes before any session,
uses a double-submit cookie instead. Each session also remembers the account's session
epoch from the store, which revoking, disabling or resetting the account bumps: the
session ends on its next use, in whichever process holds it. Sign-in throttling (the
account lockout shared with the API) is the store's: see ``TiplineStore.login``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daybreak.console.backend import ConsoleUser

SESSION_COOKIE = "daybreak_console"
LOGIN_CSRF_COOKIE = "daybreak_console_login"
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 60 * 60

# No inline script or style anywhere; nothing from another origin; no framing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def tokens_equal(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class Session:
    user: ConsoleUser
    csrf: str
    created: float
    seen: float
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, message)
    epoch: int = 0  # the account's session epoch at sign-in
    # The identifier search in force on the queue: posted by the search form and kept
    # here, so phone numbers and e-mails never travel in URLs (nor land in access logs).
    query: str = ""

    def changes(self) -> tuple[tuple[tuple[str, str], ...], str]:
        """What a page may change in its session (compared to write it back)."""
        return tuple(self.flashes), self.query


class Sessions(Protocol):
    """Where console sessions live: :class:`SessionStore` (this process's memory) or
    the store (:class:`daybreak.console.store_backend.StoredSessions`, what ``daybreak
    serve`` uses: every server process on the database shares them)."""

    def create(self, user: ConsoleUser, epoch: int = 0) -> str: ...

    def get(self, token: str | None) -> Session | None: ...

    def save(self, token: str, session: Session) -> None:
        """Keep what a page changed in the session (its messages, the search)."""
        ...

    def end(self, token: str | None) -> None: ...


class SessionStore:
    """In-process sessions (fakes, and a console without a store): restarting the
    process signs everyone out, and another process does not know them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: ConsoleUser, epoch: int = 0) -> str:
        token = new_token()
        now = self._clock()
        with self._lock:
            self._purge(now)
            self._sessions[token] = Session(user, new_token(), now, now, epoch=epoch)
        return token

    def __len__(self) -> int:
        """Sessions held (expired ones until the next purge removes them)."""
        with self._lock:
            return len(self._sessions)

    def _purge(self, now: float) -> None:
        """Drop expired sessions (called under the lock)."""
        for token, s in list(self._sessions.items()):
            if now - s.seen > IDLE_SECONDS or now - s.created > ABSOLUTE_SECONDS:
                del self._sessions[token]

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if now - session.seen > IDLE_SECONDS or now - session.created > ABSOLUTE_SECONDS:
                del self._sessions[token]
                return None
            session.seen = now
            return session

    def save(self, token: str, session: Session) -> None:
        """Nothing to do: pages change the one object this store holds."""

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)


OPENED_KEY = "daybreak_console_session"  # in the request's state


@dataclass
class OpenedSession:
    """The session a request works on, and what it held when read."""

    token: str
    session: Session
    was: tuple[tuple[tuple[str, str], ...], str]

    @property
    def changed(self) -> bool:
        return self.session.changes() != self.was


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response under ``prefix`` (unless the page
    set one itself). Pure ASGI: Starlette's ``@app.middleware("http")`` runs each request
    through extra tasks and memory streams, which cost the intake API, sharing the app,
    about a third of its per-request CPU."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                headers += [(k, v) for k, v in self._headers if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SessionWriteBack:
    """Writes a console session a page changed back to where sessions live before the
    response leaves (so the next request, in whichever process, sees it). The page's
    session is the one :func:`daybreak.console.web.current_session` opened for the
    request; pure ASGI, like :class:`SecurityHeaders`."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_after_saving(message: Message) -> None:
            if message["type"] == "http.response.start":
                opened = scope.get("state", {}).get(OPENED_KEY)
                if isinstance(opened, OpenedSession) and opened.changed:
                    sessions = scope["app"].state.daybreak_console.sessions
                    await run_in_threadpool(sessions.save, opened.token, opened.session)
            await send(message)

        await self.app(scope, receive, send_after_saving)
