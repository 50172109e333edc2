"""Authentication and authorisation for every endpoint.

Platforms send ``X-API-Key: dbk_<id>_<secret>`` (or ``Authorization: Bearer ...``);
analysts log in with a password and get an HttpOnly, SameSite=Strict session cookie.
Every route declares the roles it admits with :func:`require`; rate limits apply per
API key (its own limit) or per analyst (``Settings.session_rate_per_minute``). API keys
are checked against the store on every request, so a revoked or expired key is refused
at once in every server process; so are session tokens. The rate limits' buckets are
the store's (``store.throttles``): shared by every process on PostgreSQL.

The console builds its sign-in page on :func:`login` and :func:`logout`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from daybreak.api.settings import Settings
from daybreak.store import Actor, LoginRefused, Role, TiplineStore
from daybreak.store.throttle import Limiter, RateLimiter

SESSION_COOKIE = "daybreak_session"
ALL_ROLES = frozenset(Role)
CASE_ROLES = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="platform API key")
_bearer = HTTPBearer(auto_error=False, description="API key as a bearer token")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="analyst session")


@dataclass
class AuthState:
    """Per-app authentication helpers (held on ``app.state.auth``)."""

    store: TiplineStore
    settings: Settings
    limiter: Limiter

    @classmethod
    def create(cls, store: TiplineStore, settings: Settings) -> AuthState:
        return cls(store, settings, store.throttles.limiter("principal"))

    async def actor_for_key(self, presented: str) -> Actor | None:
        # No cache: one primary-key read per request (well under a millisecond) is the
        # price of a revocation or expiry that holds at once in every process.
        return await run_in_threadpool(self.store.api_keys.check, presented)


def auth_state(request: Request) -> AuthState:
    state: AuthState = request.app.state.auth
    return state


def store_of(request: Request) -> TiplineStore:
    store: TiplineStore = request.app.state.store
    return store


async def authenticate(request: Request) -> Actor:
    """The acting principal from ``X-API-Key``, ``Authorization: Bearer`` or the session
    cookie, with the rate limit applied: 401 / 429 otherwise. Routes normally use
    :func:`require`; the intake hot path calls this directly."""
    auth = auth_state(request)
    actor: Actor | None = None
    presented = request.headers.get("x-api-key")
    if not presented:
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credentials:
            presented = credentials.strip()
    session = request.cookies.get(SESSION_COOKIE)
    if presented:
        actor = await auth.actor_for_key(presented)
    elif session:
        actor = await run_in_threadpool(auth.store.sessions.check, session)
    if actor is None:
        raise HTTPException(
            401,
            "missing or invalid credentials (X-API-Key header or session)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    limit = actor.rate_per_minute if presented else auth.settings.session_rate_per_minute
    wait = await _allow(auth.limiter, actor.name, limit)
    if wait > 0:
        raise HTTPException(
            429, "rate limit exceeded for this key", headers={"Retry-After": str(int(wait) + 1)}
        )
    return actor


async def _allow(limiter: Limiter, who: str, per_minute: int) -> float:
    """Take a token; a shared (database) bucket is taken in a worker thread."""
    if per_minute <= 0 or isinstance(limiter, RateLimiter):
        return limiter.allow(who, per_minute)  # memory only: no thread hop on the hot path
    return await run_in_threadpool(limiter.allow, who, per_minute)


async def current_actor(
    request: Request,
    api_key: str | None = Depends(_api_key),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    session: str | None = Depends(_cookie),
) -> Actor:
    # The three security dependencies document the schemes in OpenAPI.
    return await authenticate(request)


# OpenAPI security requirement for routes that call :func:`authenticate` directly.
SECURITY: list[dict[str, list[str]]] = [
    {"APIKeyHeader": []},
    {"HTTPBearer": []},
    {"APIKeyCookie": []},
]


def require(roles: frozenset[Role]) -> Callable[..., Awaitable[Actor]]:
    """A dependency admitting only ``roles``: 401 without credentials, 403 otherwise."""

    async def check(actor: Actor = Depends(current_actor)) -> Actor:
        if actor.role not in roles:
            raise HTTPException(403, f"role {actor.role.value} may not use this endpoint")
        return actor

    return check


def client_address(request: Request) -> str:
    """The peer's address as the server sees it (behind a reverse proxy, run uvicorn
    with ``--proxy-headers`` and ``--forwarded-allow-ips`` so this is the real client)."""
    return request.client.host if request.client else ""


def login(
    store: TiplineStore, username: str, password: str, client: str
) -> tuple[Actor, str] | None:
    """Check a password behind the sign-in throttles (raises :class:`LoginRefused`); on
    success start a session and return (actor, session token)."""
    actor = store.accounts.login(username, password, client=client, channel="api")
    if actor is None:
        return None
    return actor, store.sessions.start(actor)


def refused(exc: LoginRefused) -> HTTPException:
    """429 with Retry-After for a throttled sign-in."""
    return HTTPException(429, exc.message, headers={"Retry-After": str(exc.retry_after)})


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=12 * 3600,
        path="/",
    )


def logout(store: TiplineStore, response: Response, token: str | None) -> None:
    if token:
        store.sessions.end(token)
    response.delete_cookie(SESSION_COOKIE, path="/")
