"""A real uvicorn server on loopback around ``create_app``, with a platform key, an
analyst and an admin; plus helpers to start ``daybreak serve`` as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI

from daybreak.api import Settings, create_app
from daybreak.store import Keyring, Role, TiplineStore, auth
from daybreak.store.keys import generate_key

PASSWORD = "a long analyst password"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Api:
    app: FastAPI
    url: str
    store: TiplineStore
    platform_key: str
    admin_key: str
    slow_key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    @contextmanager
    def analyst(self, username: str = "ana") -> Iterator[httpx.Client]:
        with self.client() as c:
            r = c.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            yield c


def serve_in_thread(app: FastAPI) -> tuple[str, threading.Thread, uvicorn.Server]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", thread, server


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("api")
    xsd = REPO.parent / "shared" / "standards" / "ncmec" / "cybertipline_report.xsd"
    settings = Settings(
        data_dir=data, max_body_bytes=64_000, ncmec_xsd=xsd if xsd.exists() else None
    )
    store = TiplineStore(f"sqlite+pysqlite:///{data / 'api.db'}", Keyring.from_text(generate_key()))
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    original = auth._hasher
    auth._hasher = fast
    store.create_user("ana", PASSWORD, Role.ANALYST)
    store.create_user("sue", PASSWORD, Role.SUPERVISOR)
    keys = (
        store.create_api_key("acme", Role.PLATFORM),
        store.create_api_key("root", Role.ADMIN),
        store.create_api_key("slow", Role.PLATFORM, rate_per_minute=3),
    )
    app = create_app(settings, store)
    url, thread, server = serve_in_thread(app)
    try:
        yield Api(app, url, store, *keys)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()
        auth._hasher = original


def start_server(data_dir: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``daybreak serve`` in its own process (for kill -9 tests and benchmarks)."""
    cmd = [
        sys.executable,
        "-m",
        "daybreak.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    log = data_dir / f"server-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"server did not become ready within 60 s: {log.read_text()}")
