"""``POST /v1/auth/login`` refused ahead of FastAPI while the hashing budget is spent.

Under a sign-in flood from many addresses the budget refuses almost every attempt. Each
refusal used to go the whole way: FastAPI's routing, reading and validating the JSON
body, a hop to a worker thread, the guard's limiters (a lock, or a query on PostgreSQL),
an exception turned into the 429 (about 0.7-2 ms of CPU each, measured with
``benchmarks/login_flood.py``'s flood against ``serve --login-rate 0``). While the budget
is known to be spent (a refusal said until when,
:meth:`daybreak.store.throttle.LoginGuard.refusal_while_spent`) that answer is already
decided, so this innermost middleware gives it at once: the same 429, message and
``Retry-After``, after the same pause (a sleeping coroutine), tallied for the audit
trail like any refusal. The body is not read. The lockout, the per-address limit, the
budget and the audit are unchanged: everything else (and the one sign-in a minute that
writes the tally's audit entry) goes through the route as before.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOGIN_PATH = "/v1/auth/login"


class LoginFastRefusal:
    def __init__(self, app: ASGIApp, path: str = LOGIN_PATH) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        refused = scope["app"].state.store.accounts.refused_early("api")
        if refused is None:
            await self.app(scope, receive, send)
            return
        await asyncio.sleep(refused.delay)
        response = JSONResponse(
            {"detail": refused.message},
            status_code=429,
            headers={"Retry-After": str(refused.retry_after)},
        )
        await response(scope, receive, send)
