"""Wiring the console into an app, and what ``daybreak demo`` / ``daybreak serve`` call.

``mount_console`` adds the pages to any FastAPI app (the tipline's ``create_app`` calls
it with a :class:`StoreBackend`); ``configure_console`` then tells the console where
the alerts, the world's rows (for exports), the receivers' schemas, the hash banks and
the typology pack are; ``console_url`` is the address to print.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response

from daybreak.console.backend import ConsoleBackend
from daybreak.console.exports import ExportersPackage, ExportSettings, warm_up_exporters
from daybreak.console.manage import Manage
from daybreak.console.routes import mount_static, router
from daybreak.console.security import SecurityHeaders, Sessions, SessionStore, SessionWriteBack
from daybreak.console.web import (
    PREFIX,
    ConsolePageError,
    ConsoleState,
    SignInRequired,
    redirect,
    render,
    utc_now,
)
from daybreak.media.banks import BankStore
from daybreak.model.alerts import Alert
from daybreak.model.cases import Tier
from daybreak.store import TiplineStore


def mount_console(
    app: FastAPI,
    backend: ConsoleBackend,
    *,
    secure_cookies: bool = True,
    manage: Manage | None = None,
    clock: Callable[[], datetime] = utc_now,
    sessions: Sessions | None = None,
    triage_sla: Mapping[Tier, timedelta] | None = None,
) -> ConsoleState:
    """Add the console to ``app`` under /console: pages, static files, security
    headers, error pages. Browsers accept Secure cookies from http://127.0.0.1 and
    localhost, so even a plain-HTTP demo on loopback can keep ``secure_cookies``.
    ``sessions``: where sessions live (default: this process's memory; ``daybreak
    serve`` keeps them in the store, shared by every server process). ``triage_sla``:
    how long a new case may wait for triage per tier (default: DEFAULT_TRIAGE_SLA)."""
    state = ConsoleState(
        backend,
        secure_cookies,
        sessions or SessionStore(),
        manage or Manage.from_environment(),
        clock,
    )
    if triage_sla is not None:
        state.triage_sla.update(triage_sla)
    app.state.daybreak_console = state
    app.include_router(router)
    mount_static(app)

    app.add_middleware(SecurityHeaders, prefix=PREFIX)
    app.add_middleware(SessionWriteBack, prefix=PREFIX)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return redirect(f"{PREFIX}/sign-in")

    @app.exception_handler(ConsolePageError)
    async def _page_error(request: Request, exc: ConsolePageError) -> Response:
        context = {"title": exc.title, "message": exc.message}
        return render(request, "error.html", context, status=exc.status)

    return state


def configure_console(
    app: FastAPI,
    *,
    alerts: Sequence[Alert] | None = None,
    world_dir: Path | None = None,
    standards_dir: Path | None = None,
    xsd: dict[str, Path] | None = None,
    org_path: Path | None = None,
    banks_dir: Path | None = None,
    rules_path: Path | None = None,
    warm_exporters: bool = True,
    demo_identity: bool = False,
) -> ConsoleState:
    """Point an app's mounted console at its data.

    ``alerts``: every alert the cases were built from (typologies, dashboards, exports).
    ``world_dir``: the folder of transactions/reports/... parquet the cases point into
    (exports carry those rows). ``standards_dir``: a folder laid out like
    ``shared/standards`` with the goAML and NCMEC XSDs (or give ``xsd`` per format).
    ``banks_dir``: a :class:`~daybreak.media.banks.BankStore` folder (its metadata in
    the backend's case store when it has one). ``rules_path``:
    the typology pack file the payments scan reads (created from the built-in pack on
    the first save). ``warm_exporters`` imports the exporters in the background.
    ``demo_identity``: without ``org_path``, report under the demo's marked identity."""
    state: ConsoleState = app.state.daybreak_console
    exporter = ExportersPackage(
        ExportSettings(world_dir, org_path, dict(xsd or {}), standards_dir, demo_identity)
    )
    state.backend.configure(alerts=alerts, exporter=exporter)
    if banks_dir is not None:
        store = getattr(state.backend, "store", None)
        if isinstance(store, TiplineStore):
            over = Manage.over_store(store, banks_dir)
            state.manage.store, state.manage.banks_dir = store, over.banks_dir
            state.manage.banks = over.banks
        else:
            state.manage.banks = BankStore(banks_dir)
    if rules_path is not None:
        state.manage.rules_path = rules_path
    if warm_exporters:
        warm_up_exporters()
    return state


def console_url(host: str, port: int) -> str:
    """The address to print for people: the console's home (sign-in comes first)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{PREFIX}/"
