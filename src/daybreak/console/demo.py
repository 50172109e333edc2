"""What ``daybreak demo`` calls to open the console on a data dir's fused cases.

:func:`build_demo_console` opens (or reuses) the store in ``data_dir``, stores the cases,
makes sure there is a demo analyst and supervisor (passwords generated once, kept in
``data_dir/demo-credentials.txt`` with mode 0600 so a second run can print them again),
builds the API app with the console and points the console at the alerts, world, schemas,
banks and typology pack. Serve ``.app`` with uvicorn and print :meth:`DemoConsole.url`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from daybreak.console.mount import configure_console, console_url
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case
from daybreak.store import Role, TiplineStore

CREDENTIALS_FILE = "demo-credentials.txt"
DEMO_USERS = {"analyst": Role.ANALYST, "supervisor": Role.SUPERVISOR}


@dataclass
class DemoConsole:
    app: FastAPI
    store: TiplineStore  # the caller closes it when the server stops
    credentials: dict[str, str]  # user name -> password, for the demo's printout

    @staticmethod
    def url(host: str = "127.0.0.1", port: int = 8000) -> str:
        return console_url(host, port)


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    pairs = (line.split(" ", 1) for line in path.read_text("utf-8").splitlines() if " " in line)
    return {name: password for name, password in pairs}


def ensure_demo_users(store: TiplineStore, data_dir: Path) -> dict[str, str]:
    """Create the demo users once; return their passwords (stored 0600 in data_dir)."""
    path = data_dir / CREDENTIALS_FILE
    known = _read_credentials(path)
    existing = {actor.name for actor in store.users()}
    for name, role in DEMO_USERS.items():
        if name in existing and name in known:
            continue
        if name in existing:
            raise RuntimeError(
                f"user {name!r} exists in {data_dir} but its password is not in {path}; "
                "use another data dir or reset the user with `daybreak admin`"
            )
        known[name] = secrets.token_urlsafe(12)
        store.create_user(name, known[name], role)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{name} {password}\n" for name, password in known.items())
    return {name: known[name] for name in DEMO_USERS}


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
    from daybreak.api import Settings, create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    the_store = store or TiplineStore.open(data_dir, dev=True)
    the_store.upsert_cases(list(cases))
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
