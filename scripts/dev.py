#!/usr/bin/env python3
"""Set up Daybreak from a fresh clone and run it: `python3 scripts/dev.py demo|test`.

Needs only Python 3.11+. It bootstraps uv into `.bootstrap/` (unless uv is on PATH),
syncs the locked environment into `.venv/`, and then:

* ``demo [ARGS]``  runs ``daybreak demo`` (extra arguments are passed on);
* ``test [ARGS]``  checks the lock, runs ruff, mypy --strict and the whole pytest suite,
  in parallel on every core (pytest-xdist; DAYBREAK_TEST_WORKERS sets how many, and
  ``-n``/``-p no:xdist`` among the extra arguments, which go to pytest, take over). As root on Debian it first installs and starts what the
  tests need: PostgreSQL (a throw-away cluster on 127.0.0.1), Chromium and Java.
  Elsewhere those tests skip with a reason, unless DAYBREAK_REQUIRE_SERVICES=1 (CI),
  where a missing service fails the run.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv"
BOOT = REPO / ".bootstrap"


def say(msg: str) -> None:
    print(f"[daybreak] {msg}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    exe = BOOT / "bin" / "uv"
    if not exe.exists():
        say("bootstrapping uv into .bootstrap/ …")
        run([sys.executable, "-m", "venv", str(BOOT)])
        run([str(BOOT / "bin" / "python"), "-m", "pip", "install", "-q", "uv"])
    return str(exe)


def sync(dev: bool) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    cmd = [uv(), "sync", "--locked", "--python", sys.executable]
    if not dev:
        cmd.append("--no-dev")
    say("installing the locked environment into .venv/ …")
    run(cmd, cwd=REPO, env=env)


def apt_install(packages: list[str]) -> bool:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"installing {' '.join(packages)} with apt-get …")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], env=env
    )
    return done.returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    return roots[0].parent if roots else None


def start_postgres() -> str | None:
    """Start a throw-away PostgreSQL cluster on 127.0.0.1; return its SQLAlchemy URL."""
    if postgres_bin() is None and not apt_install(["postgresql"]):
        return None
    bindir = postgres_bin()
    if bindir is None:
        return None
    data = Path(tempfile.mkdtemp(prefix="daybreak-pg-"))
    atexit.register(shutil.rmtree, data, True)
    port = free_port()
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    run(
        [
            *as_pg,
            str(bindir / "initdb"),
            "-D",
            str(data / "db"),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        stdout=subprocess.DEVNULL,
    )
    run(
        [
            *as_pg,
            str(bindir / "pg_ctl"),
            "-D",
            str(data / "db"),
            "-w",
            "-l",
            str(data / "log"),
            "-o",
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        stdout=subprocess.DEVNULL,
    )
    atexit.register(
        lambda: subprocess.run(
            [*as_pg, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
    )
    say(f"PostgreSQL running on 127.0.0.1:{port}")
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def provision(env: dict[str, str]) -> None:
    if os.environ.get("DAYBREAK_TEST_PG_URL") is None:
        url = start_postgres()
        if url:
            env["DAYBREAK_TEST_PG_URL"] = url
    chromium = shutil.which("chromium")
    if chromium is None and apt_install(["chromium", "fonts-dejavu-core"]):
        chromium = shutil.which("chromium")
    if chromium:
        env.setdefault("DAYBREAK_CHROMIUM", chromium)
    if shutil.which("java") is None:
        apt_install(["openjdk-17-jre-headless"])
    # strace shows the Spark cluster test which process opens the input files
    if shutil.which("strace") is None:
        apt_install(["strace"])
    # NATS JetStream for the streaming connector's tests (tests/conftest.py starts it)
    if nats_server() is None and apt_install(["nats-server"]):
        env.setdefault("DAYBREAK_NATS_SERVER", nats_server() or "")


def nats_server() -> str | None:
    """Debian installs nats-server in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin")


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def parallel(args: list[str]) -> list[str]:
    """pytest-xdist options: one worker per core, each test file on one worker and the
    tests of one service (PostgreSQL, Spark, the Spark cluster, Chromium) on one worker
    (tests/conftest.py sets the groups; the cluster tests start their own standalone
    cluster and Spark Connect server from the pyspark wheel, with the Java installed here). None when the caller chose, or when there is one core."""
    chose = any(
        a in ("-n", "--numprocesses", "no:xdist")
        or a.startswith(("-n", "--numprocesses=", "--dist", "-pno:xdist"))
        for a in args
    )
    workers = int(os.environ.get("DAYBREAK_TEST_WORKERS") or cores())
    if chose or workers < 2:
        return []
    return ["-n", str(workers), "--dist", "loadgroup"]


def test(args: list[str]) -> int:
    sync(dev=True)
    env = dict(os.environ)
    if os.environ.get("CI"):
        env["DAYBREAK_REQUIRE_SERVICES"] = "1"
    provision(env)
    py = str(VENV / "bin" / "python")
    steps = [
        ("lock is up to date", [uv(), "lock", "--check", "--python", sys.executable]),
        ("ruff", [py, "-m", "ruff", "check", "src", "tests", "benchmarks", "scripts"]),
        ("mypy --strict", [py, "-m", "mypy"]),
    ]
    workers = parallel(args)
    if workers:
        # The PostgreSQL tests share one scratch database (each resets its schema), so
        # they run in one process after the rest has run in parallel.
        steps += [
            ("pytest (parallel)", [py, "-m", "pytest", *workers, "-m", "not postgres", *args]),
            ("pytest (PostgreSQL)", [py, "-m", "pytest", "-p", "no:xdist", "-m", "postgres"]),
        ]
    else:
        steps.append(("pytest", [py, "-m", "pytest", *args]))
    for name, cmd in steps:
        say(f"{name} …")
        code = subprocess.run(cmd, cwd=REPO, env={**env, "UV_PYTHON_DOWNLOADS": "never"}).returncode
        if code != 0:
            say(f"{name} failed (exit {code})")
            return code
    return 0


def demo(args: list[str]) -> int:
    sync(dev=False)
    return subprocess.run([str(VENV / "bin" / "daybreak"), "demo", *args], cwd=REPO).returncode


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - say it plainly on an old Python
        print("Daybreak needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    return demo(args) if cmd == "demo" else test(args)


if __name__ == "__main__":
    sys.exit(main())
