"""Helpers for the API tests: a uvicorn server in a thread, ``daybreak serve`` in a
subprocess, and the :class:`Api` handle the ``api`` fixture yields."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from daybreak.store import TiplineStore

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


def start_server(
    data_dir: Path,
    port: int,
    env: dict[str, str],
    args: Sequence[str] = (),
    ready_within: float = 60.0,
) -> subprocess.Popen[bytes]:
    """``daybreak serve`` in its own process (for kill -9 tests, several servers on one
    database, benchmarks); ``args``: more options of ``serve``; ``ready_within``:
    seconds to wait for ``/readyz`` (a loaded machine imports slowly)."""
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
        *args,
    ]
    log = data_dir / f"server-{port}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err
        )
    deadline = time.monotonic() + ready_within
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
    raise RuntimeError(
        f"server did not become ready within {ready_within:.0f} s: {log.read_text()}"
    )
