"""``POST /v1/reports`` (and ``POST /v1/payments/score``) served ahead of FastAPI's
router.

The intake endpoint takes no dependencies and validates its body by hand
(:func:`daybreak.api.routes_reports.submit_report`), so on it FastAPI's routing,
dependency solving and per-request wrappers do no useful work, yet cost about 0.1 ms of
CPU a request: a quarter of the event loop's time at 1,000 reports/s on 2 cores. The
real-time scoring route is served the same way (one instance per path).

:class:`IntakeFastPath` is the innermost middleware (inside the error handler, the
body-size limit and the console's security headers). For ``POST /v1/reports`` it calls
that same endpoint directly and turns the ``HTTPException``\\ s it raises into responses
with the app's own handler, as the router would; anything else it raises goes on to the
app's error handler unchanged. Every other request, including other methods on the same
path and apps served under a root path, goes through the router as before. The route
stays registered there, so OpenAPI documents it unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class IntakeFastPath:
    def __init__(self, app: ASGIApp, endpoint: Endpoint, path: str = "/v1/reports") -> None:
        self.app = app
        self.endpoint = endpoint
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or scope.get("root_path")  # let the router strip it, as it always has
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive, send)
        try:
            response = await self.endpoint(request)
        except HTTPException as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:
                raise
            if _is_async(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)


def _handler_for(app: Any, exc: Exception) -> Any:
    """The app's exception handler for ``exc`` (most specific class first), as
    Starlette's ExceptionMiddleware looks it up."""
    handlers = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


def _is_async(fn: Any) -> bool:
    """Starlette's test: a coroutine function, or an object with an async ``__call__``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(fn.__call__)
    )
