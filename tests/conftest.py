"""Shared fixtures: the ../shared folder, and services (PostgreSQL, Chromium, Java, NATS).

Tests that need a service skip with a clear reason when it is absent, unless
DAYBREAK_REQUIRE_SERVICES=1 (set by `.ci/run` and `scripts/dev.py test`), where a missing
service is a failure: CI must never go green by skipping.

In parallel runs (``pytest -n N --dist loadgroup``, what ``scripts/dev.py test`` does)
each test file runs on one worker, so its module fixtures (synthetic worlds, servers)
are built once; and the tests of one service share a worker: PostgreSQL tests reset the
one scratch database's schema, Spark tests would start a JVM per worker (heavy on a
small machine), the Spark cluster tests share one cluster (its own group), and one
Chromium at a time is enough.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from spark_cluster import SparkCluster

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


# xdist group -> the marker and the fixture that put a test in it
SERVICE_GROUPS = {
    "postgres": ("postgres", "pg_url"),
    # before "spark": the cluster tests also take java_home, and run on their own worker
    "spark_cluster": ("spark_cluster", "spark_cluster"),
    "spark": ("spark", "java_home"),
    "browser": ("browser", "chromium_path"),
    "nats": ("nats", "nats_url"),
}


@pytest.fixture(autouse=True, scope="session")
def cheap_passwords() -> Iterator[None]:
    """Argon2 at production cost takes ~0.5 s per hash on these machines; the tests check
    behaviour, not cost (production keeps argon2-cffi's defaults). Session-wide, so
    module-scoped fixtures that create accounts hash cheaply too."""
    from daybreak.testing.passwords import cheap_password_hashing

    with cheap_password_hashing():
        yield


def xdist_group_of(item: pytest.Item) -> str:
    """The worker group of a test: its service's, else its file's."""
    fixtures = getattr(item, "fixturenames", ())
    for group, (marker, fixture) in SERVICE_GROUPS.items():
        if item.get_closest_marker(marker) is not None or fixture in fixtures:
            return group
    return item.nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (on its workers only)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):
        return  # not an xdist worker: nothing to schedule
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))


def _missing(what: str) -> None:
    if os.environ.get("DAYBREAK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required here (DAYBREAK_REQUIRE_SERVICES=1) but missing")
    pytest.skip(f"{what} is not available on this machine")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder (fixtures, standards, research)."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: fixture and standards tests need it")
    return SHARED


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of a scratch PostgreSQL database (DAYBREAK_TEST_PG_URL)."""
    url = os.environ.get("DAYBREAK_TEST_PG_URL")
    if not url:
        _missing("PostgreSQL (DAYBREAK_TEST_PG_URL)")
    assert url is not None
    return url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("DAYBREAK_CHROMIUM") or shutil.which("chromium")
    if not path:
        _missing("Chromium (DAYBREAK_CHROMIUM or chromium on PATH)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def java_home() -> str:
    java = shutil.which("java")
    if not java:
        _missing("Java (for PySpark local mode)")
    assert java is not None
    return java


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS server with JetStream, on a free loopback port, its store in a temporary
    folder; stopped (SIGTERM, then waited for) at the end of the session."""
    binary = (
        os.environ.get("DAYBREAK_NATS_SERVER")
        or shutil.which("nats-server")
        or shutil.which("nats-server", path="/usr/sbin")
    )
    if not binary:
        _missing("nats-server (apt-get install nats-server; scripts/dev.py does it)")
    assert binary is not None
    store = tmp_path_factory.mktemp("nats")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, server)
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError(f"nats-server exited with {server.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nats-server did not listen on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def spark_cluster(
    java_home: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SparkCluster]:
    """A Spark standalone master, two workers and a Spark Connect server on loopback
    (tests/spark_cluster.py), stopped at the end of the session."""
    from spark_cluster import SparkCluster

    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def extra_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points added to the installed ones, as if another package were installed:
    append ``EntryPoint(name, "module:attribute", group)`` and the registries of
    :mod:`daybreak.plugins` see it (loaded afresh, forgotten after the test)."""
    from daybreak import plugins

    added: list[EntryPoint] = []
    real = plugins.entry_points

    def with_added(group: str) -> tuple[EntryPoint, ...]:
        return (*real(group=group), *(ep for ep in added if ep.group == group))

    monkeypatch.setattr(plugins, "entry_points", with_added)
    plugins.refresh()
    yield added
    plugins.refresh()
