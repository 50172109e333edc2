"""The console's part of ``daybreak demo``: demo users and what the demo serves.

:func:`ensure_demo_users` makes sure there is a demo analyst and supervisor (passwords
generated once, kept in ``data_dir/demo-credentials.txt`` with mode 0600 so a second run
can print them again). :func:`daybreak.cli.server.build_demo_console` joins them with
the API app into a :class:`DemoConsole`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from daybreak.console.mount import console_url
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
    existing = {actor.name for actor in store.accounts.active()}
    for name, role in DEMO_USERS.items():
        if name in existing and name in known:
            continue
        if name in existing:
            raise RuntimeError(
                f"user {name!r} exists in {data_dir} but its password is not in {path}; "
                "use another data dir or reset the user with `daybreak admin`"
            )
        known[name] = secrets.token_urlsafe(12)
        store.accounts.create(name, known[name], role)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.writelines(f"{name} {password}\n" for name, password in known.items())
    return {name: known[name] for name in DEMO_USERS}
