"""Real-time payment scoring benchmark: ``POST /v1/payments/score`` against a no-op
endpoint of the same app, side by side, on loopback.

A synthetic world (development seed) is generated; all but its last ``--payments``
corridor payments are loaded into the real-time state and a context is pinned
(``daybreak payments realtime load`` + ``refresh``); the app (``create_app``, the one
``daybreak serve`` runs, with one added ``POST /bench/noop`` route that authenticates
and rate-limits like the real one and does nothing else) is served by uvicorn in its
own process; an asyncio load generator with keep-alive connections sends the held-back
payments in time order (micro-batched by the server: the
micro-batch sizes are reported), then as many no-op requests. Prints payments/s, p50/p99, the
ratio to the no-op, the server's CPU per request, the state file's size per customer
and that size extrapolated to 10 M customers (and, scoring incrementally, the server
memory the in-memory state takes), and the load average at the start. Scoring is
incremental (the cached per-customer state) unless ``--scan`` (restricted scans).

``--in-process`` scores the same payments without HTTP, one at a time through
``RealtimeState.score`` in this process (journal and fsync included, validation not),
and prints the CPU a payment: the scoring's own cost, steadier under a loaded machine
than the server's, and runnable against an older checkout's ``src`` (``PYTHONPATH``).

    .venv/bin/python benchmarks/payments_realtime.py --customers 3000 --months 6 --payments 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tipline_intake import Result, _cpu, _free_port, _own_cpu, skip_headers_and_body, wait_ready

TEN_MILLION = 10_000_000


def serve(data_dir: Path, port: int, max_batch: int, incremental: bool) -> None:
    """The app with a no-op route, served by uvicorn (run in the server process)."""
    import uvicorn
    from fastapi import Depends

    from daybreak.api import Settings, create_app
    from daybreak.api.security import ALL_ROLES, require
    from daybreak.store import Keyring, Role, TiplineStore
    from daybreak.store.db import sqlite_url
    from daybreak.store.keys import generate_key

    store = TiplineStore(sqlite_url(data_dir / "daybreak.db"), Keyring.from_text(generate_key()))
    key = store.api_keys.create("bench", Role.PLATFORM, rate_per_minute=0)
    (data_dir / "bench-key").write_text(key)
    app = create_app(Settings(data_dir=data_dir), store, server=True)
    import psutil

    from daybreak.engines.payments_realtime import RealtimeState, state_path

    rss0 = psutil.Process().memory_info().rss
    state = RealtimeState(state_path(data_dir), max_batch=max_batch, incremental=incremental)
    t0 = time.perf_counter()
    state.prepare()  # the in-memory state (incremental scoring), built at start
    built = {"seconds": time.perf_counter() - t0,
             "bytes": psutil.Process().memory_info().rss - rss0}  # fmt: skip
    app.state.payments_realtime = state

    @app.post("/bench/noop")
    async def noop(_: object = Depends(require(ALL_ROLES))) -> dict[str, str]:
        return {}

    @app.get("/bench/prepared")
    async def prepared() -> dict[str, float]:
        """How long building the in-memory state took and the memory it added."""
        return built

    @app.get("/bench/runs")
    async def runs() -> list[int]:
        """The payments of each micro-batch so far."""
        state = getattr(app.state, "payments_realtime", None)
        return list(state.batches) if state is not None else []

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def prepare(data_dir: Path, customers: int, months: int, seed: int, held: int) -> list[bytes]:
    """The state with the world but its last ``held`` corridor payments; those as bodies."""
    import polars as pl

    from daybreak.engines.payments_realtime import RealtimeState, state_path
    from daybreak.payments.config import load_pack
    from daybreak.synth import generate_world

    world = generate_world(customers, months, seed)
    tx = world.transactions.sort(["timestamp", "txn_id"])
    pack = load_pack()
    corridor = tx.filter(
        pl.col("receiver_country").is_in(list(pack.corridor_countries))
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & ~pl.col("channel").is_in(["card", "cash"])
    )
    tail = corridor.tail(held)
    with RealtimeState(state_path(data_dir)) as state:
        state.load(tx.filter(~pl.col("txn_id").is_in(tail["txn_id"].to_list())), world.customers)
        t0 = time.perf_counter()
        state.refresh_context()
        print(f"state: {state.history_rows():,} relevant rows of {tx.height:,}; "
              f"refresh (the batch scan) {time.perf_counter() - t0:.1f} s")  # fmt: skip
    bodies = []
    for row in tail.iter_rows(named=True):
        row["timestamp"] = row["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        bodies.append(json.dumps({k: v for k, v in row.items() if v is not None}).encode())
    return bodies


def in_process(data_dir: Path, bodies: list[bytes]) -> None:
    """Score ``bodies`` one after the other in this process; print the CPU a payment."""
    from daybreak.engines.payments_realtime import RealtimeState, state_path
    from daybreak.payments.realtime import body_digest
    from daybreak.schema.validate import validate_record

    rows = [validate_record(json.loads(b), "transactions", "body")[0] for b in bodies]
    with RealtimeState(state_path(data_dir), max_batch=1) as state:
        state.prepare()
        load = os.getloadavg()[0]
        cpu0, t0 = _own_cpu(), time.perf_counter()
        for row in rows:
            assert row is not None
            state.score(row, f"txn:{row['txn_id']}", body_digest(row))
        cpu, secs = _own_cpu() - cpu0, time.perf_counter() - t0
    print(f"in-process scoring of {len(rows)} payments (no HTTP, one at a time, journal and "
          f"fsync included): {cpu * 1000 / len(rows):.2f} ms of CPU a payment, "
          f"{len(rows) / secs:.0f} payments/s, load avg {load:.2f}")  # fmt: skip


async def _client(
    port: int, key: str, path: str, bodies: list[bytes], out: list[float], counts: dict[str, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for body in bodies:
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            t0 = time.perf_counter()
            writer.write(head + body)
            status = await reader.readline()
            await skip_headers_and_body(reader)
            if b" 200 " in status:
                out.append((time.perf_counter() - t0) * 1000)
                counts["ok"] += 1
            else:
                counts["errors"] += 1
    finally:
        writer.close()


def run(label: str, port: int, pid: int, key: str, path: str, bodies: list[bytes],
        clients: int) -> Result:  # fmt: skip
    """``bodies`` in order, dealt round-robin over ``clients`` connections."""
    lat: list[float] = []
    counts = {"ok": 0, "errors": 0}
    load = os.getloadavg()[0]
    cpu0, own0, t0 = _cpu(pid), _own_cpu(), time.monotonic()

    async def all_clients() -> None:
        await asyncio.gather(
            *(_client(port, key, path, bodies[c::clients], lat, counts) for c in range(clients))
        )

    asyncio.run(all_clients())
    secs = time.monotonic() - t0
    ok = max(counts["ok"], 1)
    return Result(label, counts["ok"], counts["errors"], secs, lat,
                  (_cpu(pid) - cpu0) * 1000 / ok, (_own_cpu() - own0) * 1000 / ok, load)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seed", type=int, default=9401, help="a development seed")
    ap.add_argument("--payments", type=int, default=60, help="payments scored through the API")
    ap.add_argument("--noop", type=int, default=3000, help="no-op requests")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--max-batch", type=int, default=64,
                    help="payments a scoring run takes at most (1: no micro-batching)")  # fmt: skip
    ap.add_argument("--scan", action="store_true",
                    help="score by restricted scans (the compiled SQL), not incrementally")  # fmt: skip
    ap.add_argument("--in-process", action="store_true",
                    help="score in this process without HTTP and print the CPU a payment")  # fmt: skip
    ap.add_argument("--serve", nargs=2, metavar=("DATA_DIR", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.max_batch, not args.scan)
        return
    with tempfile.TemporaryDirectory(prefix="daybreak-rt-bench-") as tmp:
        data = Path(tmp)
        bodies = prepare(data, args.customers, args.months, args.seed, args.payments)
        if args.in_process:
            in_process(data, bodies)
            return
        port = _free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(data),
                str(port),
                "--max-batch",
                str(args.max_batch),
                *(["--scan"] if args.scan else []),
            ]
        )
        try:
            wait_ready(port, proc, 900)  # the in-memory state is built at start
            key = (data / "bench-key").read_text()
            noop_bodies = [b"{}"] * args.noop
            run(
                "warm-up no-op", port, proc.pid, key, "/bench/noop", noop_bodies[:200], args.clients
            )
            noop = run(
                "no-op endpoint", port, proc.pid, key, "/bench/noop", noop_bodies, args.clients
            )
            scored = run("POST /v1/payments/score", port, proc.pid, key, "/v1/payments/score",
                         bodies, args.clients)  # fmt: skip
            runs = httpx.get(f"http://127.0.0.1:{port}/bench/runs", timeout=10).json()
            built = httpx.get(f"http://127.0.0.1:{port}/bench/prepared", timeout=10).json()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        from daybreak.engines.payments_realtime import RealtimeState, state_path

        with RealtimeState(state_path(data)) as state:
            size = state.size_bytes()
            status = state.status()
            context = state.context
        # The file's fixed part: a state holding only the same pinned context (DuckDB
        # gives every table at least one 256 KB block; that does not grow with customers).
        with RealtimeState(data / "fixed.duckdb") as fixed_state:
            assert context is not None
            fixed_state.pin(context)
            fixed = fixed_state.size_bytes()
    print(noop.line().replace("reports", "requests").replace("/report", "/request"))
    print(scored.line().replace("reports", "payments").replace("/report", "/payment"))
    print(f"scoring / no-op: throughput {scored.rate / max(noop.rate, 1e-9):.4f}, "
          f"p50 {scored.pct(0.5) / noop.pct(0.5):.1f}x, p99 {scored.pct(0.99) / noop.pct(0.99):.1f}x")  # fmt: skip
    print(f"micro-batches: {len(runs)} for {sum(runs)} payments, "
          f"{sum(runs) / max(len(runs), 1):.1f} per batch on average, at most {max(runs, default=0)}")  # fmt: skip
    per_customer = (size - fixed) / max(status["customers"], 1)
    print(f"state file {size / 1e6:.1f} MB ({fixed / 1e6:.1f} MB of it the fixed part) for "
          f"{status['customers']:,} customers, {status['transactions']:,} relevant transactions "
          f"over {args.months} months and {status['decisions']:,} stored answers: "
          f"{per_customer:,.0f} bytes per customer, {per_customer * TEN_MILLION / 1e9:.1f} GB "
          "for 10 M customers with as much history each")  # fmt: skip
    if not args.scan:
        print(f"in-memory state (incremental scoring): built in {built['seconds']:.1f} s, "
              f"{built['bytes'] / 1e6:.0f} MB of server memory for {status['customers']:,} "
              f"customers: {built['bytes'] / max(status['customers'], 1):,.0f} bytes per customer, "
              f"{built['bytes'] / max(status['customers'], 1) * TEN_MILLION / 1e9:.1f} GB "
              "for 10 M customers")  # fmt: skip
    target = "met" if scored.rate >= 2000 and scored.pct(0.99) <= 20 else "NOT met"
    print(f"target >= 2,000 payments/s with p99 <= 20 ms: {target}")


if __name__ == "__main__":
    main()
