"""Tipline intake benchmark: sustained acknowledged reports/s and p50/p99 latency.

Starts ``daybreak serve`` on loopback (SQLite, and PostgreSQL when --pg-url is given),
then drives ``POST /v1/reports`` from an asyncio load generator with keep-alive
connections (a minimal HTTP/1.1 client, so the generator costs little CPU next to the
server on a small machine). Only 202 responses count: each one means the report was
committed (group commit). Bounded by --reports and --seconds. Also measures the store's
writer alone (no HTTP) in this process, side by side, and prints the ratios.

Each run prints the server's CPU per report and the load generator's own, and the load
average when it started (the generator shares the machine's cores with the server).
--repeat N measures HTTP on SQLite N times, each with a fresh server and database, and
prints the best and the median. One server process (--workers 1) is the default and the
recommended set-up on SQLite: see docs/tipline.md.

    .venv/bin/python benchmarks/tipline_intake.py --reports 3000 --clients 32 --repeat 3
    .venv/bin/python benchmarks/tipline_intake.py --pg-url postgresql+psycopg://postgres@127.0.0.1:55432/bench
    # the same with a (never reached) rate limit: each request takes a shared token
    .venv/bin/python benchmarks/tipline_intake.py --pg-url ... --key-rate 100000000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
# The audit key of this run's stores (separate from the field key, like production).
AUDIT_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _body(n: int) -> bytes:
    # A realistic platform report; every 10th report repeats an account (clusters grow).
    account = f"acct-{n // 10 if n % 10 == 0 else n}"
    return json.dumps(
        {
            "reporter": {"type": "platform", "organisation": "BenchStream"},
            "incident_type": "live_streaming_abuse" if n % 50 == 0 else "online_enticement",
            "is_live": n % 50 == 0,
            "occurred_at": "2026-11-28T08:00:00Z",
            "service": "benchstream",
            "reported_accounts": [
                {
                    "service": "benchstream",
                    "account_id": account,
                    "ip_events": [
                        {"ip": f"49.145.{n % 250}.{n % 200 + 1}", "at": "2026-11-28T07:59:00Z"}
                    ],
                }
            ],
            "victim": {"age_estimate": 10, "country": "PH"},
            "description": "Synthetic benchmark report.",
        }
    ).encode()


@dataclass
class Result:
    label: str
    acked: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    cpu_ms: float = float("nan")  # server CPU (all its processes and threads) per acked report
    client_cpu_ms: float = float("nan")  # the load generator's own CPU per acked report
    load: float = float("nan")  # 1-minute load average when the run started

    @property
    def rate(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        s = sorted(self.latencies_ms)
        return s[min(len(s) - 1, int(q * len(s)))]

    def line(self) -> str:
        return (
            f"{self.label:<24} {self.acked:>7} acked {self.errors:>5} errors "
            f"{self.rate:>9.1f} reports/s   p50 {self.pct(0.50):7.1f} ms   p99 {self.pct(0.99):7.1f} ms"
            f"   server CPU {self.cpu_ms:5.2f} ms/report"
            + (
                f"   load generator CPU {self.client_cpu_ms:4.2f} ms/report"
                if self.client_cpu_ms == self.client_cpu_ms  # not NaN
                else ""
            )
            + (f"   load avg {self.load:.2f}" if self.load == self.load else "")
        )


async def skip_headers_and_body(reader: asyncio.StreamReader) -> None:
    """Read the rest of an HTTP/1.1 response after its status line."""
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)


async def _client(
    port: int, key: str, ids: list[int], out: list[float], counts: dict[str, int], deadline: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n in ids:
            if time.monotonic() > deadline:
                return
            body = _body(n)
            head = (
                f"POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
                f"Idempotency-Key: b-{n}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            await skip_headers_and_body(reader)
            ms = (time.perf_counter() - t0) * 1000
            if b" 202 " in status_line:
                out.append(ms)
                counts["acked"] += 1
            else:
                counts["errors"] += 1
    finally:
        writer.close()


async def _load(
    port: int, key: str, reports: int, clients: int, seconds: float, first: int = 0
) -> tuple[list[float], dict[str, int], float]:
    """``reports`` reports (ids from ``first``) over ``clients`` connections until
    ``seconds``: latencies in ms, acked/error counts and the seconds taken."""
    lat: list[float] = []
    counts = {"acked": 0, "errors": 0}
    ids = list(range(first, first + reports))
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(
        *(_client(port, key, ids[c::clients], lat, counts, deadline) for c in range(clients))
    )
    return lat, counts, time.monotonic() - t0


def _cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (uvicorn workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _own_cpu() -> float:
    """CPU seconds used so far by this process: the load generator shares the machine's
    cores with the server, so its cost is part of the picture."""
    t = os.times()
    return t.user + t.system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float, label: str = "") -> None:
    """Wait until the server on ``port`` answers ``/readyz``, or exit if it dies or
    ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"{label}: server did not start" if label else "server did not start")
        time.sleep(0.2)


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@contextmanager
def server(
    data_dir: Path,
    field_key: str,
    extra: list[str],
    env_extra: dict[str, str] | None = None,
    label: str = "",
) -> Iterator[tuple[int, int]]:
    """``daybreak serve`` on a free loopback port with ``extra`` options, once ready;
    yields (port, pid) and stops it (SIGTERM, then kill) afterwards."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "daybreak.cli.main",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra,
    ]
    env = {**os.environ, "DAYBREAK_FIELD_KEY": field_key, **(env_extra or {})}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, proc, 90, label)
        yield port, proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_http(
    label: str, data_dir: Path, db_url: str | None, args: argparse.Namespace, field_key: str
) -> Result:
    from daybreak.store import Keyring, Role, TiplineStore
    from daybreak.store.db import sqlite_url

    url = db_url or sqlite_url(data_dir / "daybreak.db")
    setup = TiplineStore(url, Keyring.from_text(field_key, audit=AUDIT_KEY))
    key = setup.api_keys.create("bench", Role.PLATFORM, rate_per_minute=args.key_rate)
    setup.close()
    extra = ["--workers", str(args.workers)]
    if db_url:
        extra += ["--db", db_url]
    audit = {"DAYBREAK_AUDIT_KEY": AUDIT_KEY}
    with server(data_dir, field_key, extra, audit, label) as (port, pid):
        warm = min(300, args.reports // 10)
        asyncio.run(_load(port, key, warm, min(args.clients, 8), 30))  # warm-up, not counted
        ids_offset = 10_000_000
        load = os.getloadavg()[0]
        before = _cpu(pid)
        client_before = _own_cpu()
        lat, counts, secs = asyncio.run(
            _load(port, key, args.reports, args.clients, args.seconds, ids_offset)
        )
        client_used = _own_cpu() - client_before
        used = _cpu(pid) - before
        acked = max(counts["acked"], 1)
        return Result(
            label,
            counts["acked"],
            counts["errors"],
            secs,
            lat,
            used * 1000 / acked,
            client_used * 1000 / acked,
            load,
        )


def run_direct(label: str, db_url: str, n: int, field_key: str) -> Result:
    """The store's group-commit writer alone: no HTTP, no JSON parsing of requests."""
    from daybreak.store import Keyring, Submission, TiplineStore
    from daybreak.tipline.intake import ReportIn

    store = TiplineStore(db_url, Keyring.from_text(field_key, audit=AUDIT_KEY))
    try:
        subs = [
            Submission(ReportIn.model_validate_json(_body(i)), "bench", idempotency_key=f"d-{i}")
            for i in range(n)
        ]
        import psutil

        me = psutil.Process()
        c0 = me.cpu_times()
        t0 = time.perf_counter()
        futures = [(time.perf_counter(), store.reports.submit(s)) for s in subs]
        lat = []
        for start, f in futures:
            f.result()
            lat.append((time.perf_counter() - start) * 1000)
        secs = time.perf_counter() - t0
        c1 = me.cpu_times()
    finally:
        store.close()
    cpu = (c1.user + c1.system) - (c0.user + c0.system)
    return Result(label, n, 0, secs, lat, cpu * 1000 / n)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--reports", type=int, default=3000, help="reports per measured run (bound)")
    p.add_argument("--clients", type=int, default=32, help="concurrent keep-alive connections")
    p.add_argument("--seconds", type=float, default=60.0, help="time bound per run")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("DAYBREAK_TEST_PG_URL"),
        help="PostgreSQL URL (scratch DB: its public schema is reset)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="server processes (daybreak serve --workers)"
    )
    p.add_argument(
        "--key-rate",
        type=int,
        default=0,
        help="the API key's rate limit a minute (0: none). A limit far above the load "
        "measures the cost of taking a token (on PostgreSQL: the shared bucket's write)",
    )
    p.add_argument("--no-direct", action="store_true", help="skip the store-only runs")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure HTTP on SQLite this many times (each with a fresh server and "
        "database) and print the best and the median",
    )
    args = p.parse_args()
    from daybreak.store.db import sqlite_url
    from daybreak.store.keys import generate_key

    field_key = generate_key()
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sqlite_runs: list[Result] = []
        for i in range(args.repeat):
            (base / f"sqlite{i}").mkdir()
            label = "HTTP  SQLite" + (f" #{i + 1}" if args.repeat > 1 else "")
            sqlite_runs.append(run_http(label, base / f"sqlite{i}", None, args, field_key))
        results += sqlite_runs
        if args.pg_url:
            _reset_pg(args.pg_url)
            (base / "pg").mkdir()
            results.append(run_http("HTTP  PostgreSQL", base / "pg", args.pg_url, args, field_key))
        if not args.no_direct:
            results.append(
                run_direct(
                    "store SQLite (no HTTP)",
                    sqlite_url(base / "direct.db"),
                    args.reports,
                    field_key,
                )
            )
            if args.pg_url:
                _reset_pg(args.pg_url)
                results.append(run_direct("store PostgreSQL", args.pg_url, args.reports, field_key))
    load = os.getloadavg()[0]
    print(
        f"\n{args.reports} reports per run, {args.clients} connections, {args.workers} server process(es), "
        f"bound {args.seconds:.0f} s; cores: {os.cpu_count()}, load average now {load:.1f}"
    )
    for r in results:
        print(r.line())
    met = [r.rate >= 1000 and r.pct(0.99) <= 50 for r in sqlite_runs]
    if len(sqlite_runs) > 1:
        rates = sorted(r.rate for r in sqlite_runs)
        p99s = sorted(r.pct(0.99) for r in sqlite_runs)
        print(
            f"\nSQLite HTTP over {len(sqlite_runs)} runs: best {rates[-1]:.1f} reports/s, "
            f"median {statistics.median(rates):.1f} reports/s; p99 best {p99s[0]:.1f} ms, "
            f"median {statistics.median(p99s):.1f} ms"
        )
    print(
        f"\nSQLite HTTP target: >= 1000 reports/s and p99 <= 50 ms -> met in "
        f"{sum(met)} of {len(met)} run(s)"
    )
    sqlite = sorted(sqlite_runs, key=lambda r: r.rate)[len(sqlite_runs) // 2]  # the median run
    by = {r.label: r for r in results}
    if "HTTP  PostgreSQL" in by:
        print(
            f"ratio SQLite/PostgreSQL over HTTP: {sqlite.rate / max(by['HTTP  PostgreSQL'].rate, 1e-9):.2f}x"
        )
    if "store SQLite (no HTTP)" in by:
        print(
            f"ratio store-only/HTTP on SQLite (median run): "
            f"{by['store SQLite (no HTTP)'].rate / max(sqlite.rate, 1e-9):.2f}x"
        )


if __name__ == "__main__":
    main()
