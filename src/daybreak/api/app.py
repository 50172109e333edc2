"""The HTTP API: ``create_app(settings) -> FastAPI``.

Routes: tipline intake (``/v1/reports``), NCMEC import, the triaged queue, cases,
analyst sign-in, audit verification, health checks, the media routes and real-time
payment scoring (``/v1/payments/score``). Other faces
join the app through ``mounts`` (the analyst console: :mod:`daybreak.cli.server`, the
app ``daybreak serve`` runs); the API never imports them. OpenAPI at ``/openapi.json``;
no ``/docs`` or ``/redoc``: FastAPI's pages load Swagger UI and ReDoc from a CDN, which
has no place on the console's origin (open ``/openapi.json`` in any OpenAPI viewer
instead). The embeddable report button is served from ``/static/report-button.js``
(example page ``/static/report-button.html``).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from daybreak.api import payments_routes, routes_auth, routes_cases, routes_reports
from daybreak.api.intake_fast import IntakeFastPath
from daybreak.api.limits import BodySizeLimit, ResponseHeaders
from daybreak.api.login_fast import LoginFastRefusal
from daybreak.api.security import AuthState
from daybreak.api.settings import Settings
from daybreak.schema.validate import warm_up
from daybreak.store import TiplineStore

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# The media routes read uploads in a stream with their own size limit (media are hashed
# in memory, up to DAYBREAK_MEDIA_MAX_UPLOAD); the API-wide body limit skips them.
MEDIA_PREFIXES = ("/v1/media/",)
# Adds another face's routes to the app (the console): (app, store, settings).
Mount = Callable[[FastAPI, TiplineStore, Settings], None]


def open_store(settings: Settings, *, run_migrations: bool = True) -> TiplineStore:
    """The store a server for ``settings`` uses (SQLite in data_dir unless db_url)."""
    return TiplineStore.open(
        settings.data_dir,
        url=settings.db_url,
        dev=settings.dev,
        agencies_path=settings.agencies_path,
        run_migrations=run_migrations,
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The submitted value is not echoed back: it may be personal data or huge.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]


def create_app(
    settings: Settings | None = None,
    store: TiplineStore | None = None,
    *,
    mounts: Sequence[Mount] = (),
    owns_store: bool = False,
    server: bool = False,
) -> FastAPI:
    """Build the app. With ``store`` given the caller owns (and closes) it, unless
    ``owns_store``; otherwise the app opens the store for ``settings`` and closes it on
    shutdown. ``mounts`` add other faces' routes. ``server``: the app is the process's
    whole job (``daybreak serve``)."""
    settings = settings or Settings()
    owned = store is None or owns_store
    the_store = store or open_store(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if server:
            # Everything loaded so far (FastAPI, pydantic, SQLAlchemy, the app) lives as
            # long as the process: move it out of the garbage collector's view. Otherwise
            # each full collection walks that whole heap, stalling every request in
            # flight for ~130 ms on a 2-core machine (a p99 outlier every few seconds).
            warm_up()  # and what the first request would load
            gc.freeze()
        yield
        if owned:
            the_store.close()

    app = FastAPI(
        title="Daybreak tipline API",
        version="1.0",
        description=(
            "Intake of flag / panic-button, hotline and platform reports about live-streamed "
            "child sexual abuse; triage by danger to a child; cases for analysts. "
            "See docs/tipline.md."
        ),
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    the_store.accounts.use_login_limits(
        max_hashing=settings.max_concurrent_logins,
        per_address_per_minute=settings.login_rate_per_minute,
        hashes_per_minute=settings.login_hashes_per_minute,
    )
    app.state.settings = settings
    app.state.store = the_store
    app.state.auth = AuthState.create(the_store, settings)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            status_code=422, content=jsonable_encoder({"detail": _field_errors(exc)})
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    # Added first, so the innermost middleware: see daybreak/api/intake_fast.py.
    app.add_middleware(IntakeFastPath, endpoint=routes_reports.submit_report)
    app.add_middleware(
        IntakeFastPath, endpoint=payments_routes.score_payment, path="/v1/payments/score"
    )
    app.add_middleware(LoginFastRefusal)  # inside the headers and the body limit too
    app.include_router(routes_reports.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_auth.router)
    app.include_router(payments_routes.router)
    _include_media(app, settings)
    for mount in mounts:
        mount(app, the_store, settings)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    # The HMA routes read every body themselves (uploads with the media limit, JSON
    # with max_body_bytes), in HMA's error shape.
    exempt = MEDIA_PREFIXES + ((settings.hma_prefix + "/",) if settings.hma_prefix else ())
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, exempt_prefixes=exempt)
    app.add_middleware(ResponseHeaders)
    return app


def _fix_openapi(app: FastAPI) -> None:
    """Point ``POST /v1/reports`` (validated by hand on the hot path) at the ReportIn
    schema FastAPI generated for ``/v1/reports/validate``."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        schemas = spec.get("components", {}).get("schemas", {})
        name = next((n for n in ("ReportIn", "ReportIn-Input") if n in schemas), None)
        op = spec["paths"]["/v1/reports"]["post"]
        if name is not None:
            op["requestBody"]["content"]["application/json"]["schema"] = {
                "$ref": f"#/components/schemas/{name}"
            }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def _include_media(app: FastAPI, settings: Settings) -> None:
    from daybreak.api.hma_routes import mount_hma
    from daybreak.api.media_routes import router as media_router

    app.include_router(media_router)
    if settings.hma_prefix:
        mount_hma(app, settings.hma_prefix)
