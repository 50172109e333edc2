"""Fixtures for the console: a real uvicorn server on loopback over the in-memory
backend (reset for every test), and signed-in HTTP clients.

A real server rather than Starlette's TestClient: the browser tests need one anyway,
and the pages are then exercised exactly as a browser sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from console_world import NOW, PASSWORD, USERS, build_backend, build_cases
from fastapi import FastAPI

from daybreak.console import configure_console, mount_console
from daybreak.console.security import SessionStore
from daybreak.console.web import ConsoleState
from daybreak.store import TiplineStore
from daybreak.testing.console import MemoryBackend
from live_server import serve_in_thread

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


@dataclass
class LiveServer:
    app: FastAPI
    url: str

    @property
    def console(self) -> ConsoleState:
        state: ConsoleState = self.app.state.daybreak_console
        return state


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    app = FastAPI()
    # Plain HTTP on loopback: httpx (like Python's cookie jar) will not send Secure
    # cookies over http, so the shared server runs without the flag; the flag itself
    # is checked in test_security.py on an app with the default.
    mount_console(app, build_backend(clock=lambda: NOW), secure_cookies=False, clock=lambda: NOW)
    url, stop = serve_in_thread(app)
    yield LiveServer(app, url)
    stop()


@pytest.fixture
def backend(live_server: LiveServer) -> MemoryBackend:
    """A fresh world for each test, swapped into the running server."""
    fresh = build_backend(clock=lambda: NOW)
    live_server.console.backend = fresh
    live_server.console.sessions = SessionStore()
    return fresh


def sign_in(client: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/console/sign-in")
    return client.post(
        "/console/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )


@pytest.fixture
def client_for(
    live_server: LiveServer, backend: MemoryBackend
) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(username: str) -> httpx.Client:
        client = httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=20)
        clients.append(client)
        response = sign_in(client, username)
        assert response.status_code == 303, response.text
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def anonymous(live_server: LiveServer, backend: MemoryBackend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, follow_redirects=False, timeout=20) as client:
        yield client


@dataclass
class StoreConsole:
    """The real thing: ``create_app`` over a SQLite TiplineStore holding the test world."""

    url: str
    store: TiplineStore
    app: FastAPI


@contextmanager
def store_console(data_dir: Path, standards_dir: Path | None = None) -> Iterator[StoreConsole]:

    from daybreak.api import Settings
    from daybreak.cli.server import create_app
    from daybreak.store import Keyring, TiplineStore
    from daybreak.store import Role as StoreRole
    from daybreak.store.keys import generate_key

    store = TiplineStore(
        f"sqlite+pysqlite:///{data_dir / 'console.db'}", Keyring.from_text(generate_key())
    )
    stop: Callable[[], None] | None = None
    try:
        for name, role in USERS.items():
            store.accounts.create(name, PASSWORD, StoreRole(role.value))
        cases, alerts = build_cases()
        store.cases.upsert(cases)
        # Plain HTTP for httpx, which does not send Secure cookies over http.
        # Sign-ins back to back: no hashing budget (tests/store/test_accounts.py has its own).
        settings = Settings(data_dir=data_dir, cookie_secure=False, login_hashes_per_minute=0)
        app = create_app(settings, store)
        configure_console(
            app,
            alerts=alerts,
            standards_dir=standards_dir,
            warm_exporters=standards_dir is not None,
        )
        url, stop = serve_in_thread(app)
        yield StoreConsole(url, store, app)
    finally:
        if stop is not None:
            stop()
        store.close()
