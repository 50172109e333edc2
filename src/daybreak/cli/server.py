"""The app ``daybreak serve`` and ``daybreak demo`` run: the tipline API with the analyst
console mounted. The API and the console do not import each other; they meet here.

:func:`create_app` is :func:`daybreak.api.create_app` with the console (unless
``console=False``); :func:`app_from_env` is the factory ``uvicorn --workers N`` imports;
:func:`build_demo_console` opens (or reuses) the store in ``data_dir``, stores the cases,
makes sure the demo users exist, builds the app and points the console at the alerts,
world, schemas, banks and typology pack. Serve ``.app`` with uvicorn and print
:meth:`DemoConsole.url`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from daybreak import api
from daybreak.api import Settings, open_store
from daybreak.console import configure_console, mount_console
from daybreak.console.demo import DemoConsole, ensure_demo_users
from daybreak.console.manage import Manage
from daybreak.console.store_backend import StoreBackend, StoredSessions
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, parse_triage_sla
from daybreak.store import TiplineStore

SETTINGS_ENV = "DAYBREAK_SERVE_SETTINGS"


def mount_store_console(app: FastAPI, store: TiplineStore, settings: Settings) -> None:
    """The console over the app's store (an :data:`daybreak.api.app.Mount`), its sessions
    in the store: every server process on the database shares them."""
    mount_console(
        app,
        StoreBackend(store),
        secure_cookies=settings.cookie_secure,
        manage=Manage.over_store(store),
        sessions=StoredSessions(store),
        triage_sla=parse_triage_sla(settings.triage_sla),
    )


def create_app(
    settings: Settings | None = None,
    store: TiplineStore | None = None,
    *,
    console: bool = True,
    owns_store: bool = False,
    server: bool = False,
) -> FastAPI:
    """The tipline API (see :func:`daybreak.api.create_app` for ``store``,
    ``owns_store`` and ``server``) with the analyst console unless ``console=False``."""
    mounts = [mount_store_console] if console else []
    return api.create_app(settings, store, mounts=mounts, owns_store=owns_store, server=server)


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --workers N`` (``daybreak serve --workers``): settings
    come as JSON in ``DAYBREAK_SERVE_SETTINGS``; the parent ran the migrations."""
    raw = json.loads(os.environ[SETTINGS_ENV])
    settings = Settings.from_json(raw)
    return create_app(
        settings, open_store(settings, run_migrations=False), owns_store=True, server=True
    )


def build_demo_console(
    data_dir: Path,
    cases: Sequence[Case],
    alerts: Sequence[Alert],
    *,
    world_dir: Path | None = None,
    standards_dir: Path | None = None,
    banks_dir: Path | None = None,
    rules_path: Path | None = None,
    store: TiplineStore | None = None,
    warm_exporters: bool = True,
    secure_cookies: bool = True,
) -> DemoConsole:
    """The API + console app for a demo data dir, with the cases stored and demo users.

    ``store``: an already open store (e.g. one the demo loaded the world's reports
    into); by default the dev store of ``data_dir`` (field key generated there).
    ``rules_path`` defaults to ``data_dir/typologies.yaml`` (the built-in pack until a
    supervisor saves an edited one). ``secure_cookies``: browsers keep Secure cookies
    from http://127.0.0.1 and localhost, so the demo keeps the flag; False only for
    clients that do not (plain-HTTP test clients)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    the_store = store or TiplineStore.open(data_dir, dev=True)
    the_store.cases.upsert(list(cases))
    credentials = ensure_demo_users(the_store, data_dir)
    app = create_app(Settings(data_dir=data_dir, dev=True, cookie_secure=secure_cookies), the_store)
    configure_console(
        app,
        alerts=alerts,
        world_dir=world_dir,
        standards_dir=standards_dir,
        banks_dir=banks_dir,
        rules_path=rules_path or data_dir / "typologies.yaml",
        warm_exporters=warm_exporters,
        demo_identity=True,
    )
    return DemoConsole(app, the_store, credentials)
