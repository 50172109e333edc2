"""Login flood benchmark: report intake with and without an unauthenticated login flood.

Issue #18 measured 8 threads of wrong-password logins cutting intake from 247 to 36
reports/s and p99 from 632 ms to 4.4 s. Target: under a flood, intake keeps at least
80% of its throughput and its p99 stays within 2x.

Starts ``daybreak serve`` on loopback (SQLite, one process, production argon2 costs)
with an analyst and a platform key, then for each server setting measures intake alone
and intake while a separate process floods ``POST /v1/auth/login`` with wrong passwords
(for the real analyst and for unknown names) on --flood-threads connections, each
sending its next login as soon as the last is answered; --rounds pairs of phases,
alternated, so that the machine's other load falls on both sides alike. Three settings,
side by side:

* defaults: the per-address limit (30 a minute) and the hashing budget
  (``--login-hashes-per-minute``, 60) both on;
* ``--login-rate 0``: no per-address limit, as with a flood from many addresses; the
  hashing budget refuses what is over it at once, without hashing;
* ``--login-rate 0 --login-hashes-per-minute 0``: neither, as before the budget: only
  the cap on concurrent password checks (``--max-concurrent-logins``) protects intake.

Intake is driven by the same load generator as ``tipline_intake.py`` (bounded by
--reports and --seconds); the flood is bounded by --seconds too. Loopback only.

    .venv/bin/python benchmarks/login_flood.py --reports 1000 --rounds 5 --flood-threads 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tipline_intake import AUDIT_KEY, Result, _cpu, _load, server, skip_headers_and_body

WRONG = "not the password at all"
PASSWORD = "a long benchmark passphrase"


async def _flooder(
    port: int, n: int, codes: Counter[int], deadline: float, budget: list[int], stop: asyncio.Event
) -> None:
    """One keep-alive connection sending wrong-password logins back to back (a minimal
    HTTP/1.1 client, so the flood costs this machine little CPU besides the server's)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        i = 0
        while time.monotonic() < deadline and budget[0] > 0 and not stop.is_set():
            budget[0] -= 1
            user = "analyst" if i % 2 == 0 else f"nobody-{n}-{i}"
            i += 1
            body = json.dumps({"username": user, "password": WRONG}).encode()
            writer.write(
                b"POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = await reader.readline()
            await skip_headers_and_body(reader)
            codes[int(status.split()[1]) if status else 0] += 1
    finally:
        writer.close()


def flood(port: int, connections: int, seconds: float, max_requests: int) -> Counter[int]:
    """Wrong-password logins on ``connections`` connections until ``seconds``,
    ``max_requests`` in all or SIGTERM; the status codes counted."""

    async def run() -> Counter[int]:
        codes: Counter[int] = Counter()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        deadline = time.monotonic() + seconds
        budget = [max_requests]
        flooders = [
            asyncio.ensure_future(_flooder(port, n, codes, deadline, budget, stop))
            for n in range(connections)
        ]
        while not codes and not all(f.done() for f in flooders):
            await asyncio.sleep(0.05)
        print("flooding", flush=True)  # the parent measures from here on
        await asyncio.gather(*flooders)
        return codes

    return asyncio.run(run())


def measure(
    label: str, port: int, pid: int, key: str, first: int, args: argparse.Namespace
) -> Result:
    before = _cpu(pid)
    lat, counts, secs = asyncio.run(
        _load(port, key, args.reports, args.clients, args.seconds, first)
    )
    used = _cpu(pid) - before
    acked = max(counts["acked"], 1)
    return Result(label, counts["acked"], counts["errors"], secs, lat, used * 1000 / acked)


def _start_flood(port: int, args: argparse.Namespace) -> subprocess.Popen[str]:
    """The flood in its own process (its connections would otherwise take this
    process's GIL from the intake load generator), returned once it is answered."""
    flooder = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--flood-port",
            str(port),
            "--flood-threads",
            str(args.flood_threads),
            "--seconds",
            str(args.seconds + 5),
            "--flood-max",
            str(args.flood_max),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert flooder.stdout is not None
    flooder.stdout.readline()  # "flooding": the first answers came back
    time.sleep(1.0)
    return flooder


def _merged(label: str, parts: list[Result]) -> Result:
    """One result for several rounds: their reports, seconds and latencies summed."""
    acked = sum(p.acked for p in parts)
    cpu = sum(p.cpu_ms * p.acked for p in parts) / max(acked, 1)
    latencies = [x for p in parts for x in p.latencies_ms]
    errors = sum(p.errors for p in parts)
    return Result(label, acked, errors, sum(p.seconds for p in parts), latencies, cpu)


def run_setting(
    name: str, extra: list[str], data_dir: Path, field_key: str, key: str, args: argparse.Namespace
) -> tuple[list[Result], list[Result], Counter[int]]:
    """--rounds of (intake alone, intake under the flood), alternated so that a change
    in the machine's other load falls on both sides alike."""
    alone: list[Result] = []
    flooded: list[Result] = []
    codes: Counter[int] = Counter()
    with server(data_dir, field_key, extra, {"DAYBREAK_AUDIT_KEY": AUDIT_KEY}) as (port, pid):
        asyncio.run(_load(port, key, min(300, args.reports // 5), 8, 30))  # warm-up
        for _ in range(args.rounds):
            alone.append(measure("alone", port, pid, key, 1_000_000 * args.base, args))
            args.base += 1
            flooder = _start_flood(port, args)
            flooded.append(measure("flood", port, pid, key, 1_000_000 * args.base, args))
            args.base += 1
            flooder.send_signal(signal.SIGTERM)
            out, _ = flooder.communicate(timeout=120)
            codes.update({int(k): v for k, v in json.loads(out or "{}").items()})
    return alone, flooded, codes


def _report(name: str, alone: list[Result], flooded: list[Result], codes: Counter[int]) -> None:
    """The setting's totals, then each round's ratios and their medians (a round's two
    phases run back to back, so their ratio is the least disturbed by the machine's
    other load)."""
    both = _merged(f"{name}: intake alone", alone), _merged(f"{name}: intake + flood", flooded)
    print(both[0].line())
    print(both[1].line())
    kept = [f.rate / a.rate for a, f in zip(alone, flooded, strict=True) if a.rate]
    p99 = [f.pct(0.99) / a.pct(0.99) for a, f in zip(alone, flooded, strict=True)]
    met = statistics.median(kept) >= 0.8 and statistics.median(p99) <= 2.0
    print(
        f"  flood responses: {dict(sorted(codes.items()))} "
        f"({sum(codes.values()) / both[1].seconds:.0f}/s)\n"
        f"  per round: throughput kept {', '.join(f'{k:.0%}' for k in kept)}; "
        f"p99 x{', '.join(f'{x:.2f}' for x in p99)}\n"
        f"  median: throughput kept {statistics.median(kept):.0%} (target >= 80%), "
        f"p99 x{statistics.median(p99):.2f} (target <= 2x): {'met' if met else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=1500, help="reports per measurement")
    parser.add_argument("--clients", type=int, default=16, help="intake connections")
    parser.add_argument("--seconds", type=float, default=60.0, help="bound on each phase")
    parser.add_argument("--flood-threads", type=int, default=8)
    parser.add_argument("--flood-max", type=int, default=200_000, help="bound on flood requests")
    parser.add_argument("--max-concurrent-logins", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alone/flood pairs per setting")
    parser.add_argument(
        "--hashes-per-minute", type=int, default=60, help="the server's hashing budget"
    )
    parser.add_argument("--flood-port", type=int, help=argparse.SUPPRESS)  # the flood process
    args = parser.parse_args()
    args.base = 1
    if args.flood_port:
        codes = flood(args.flood_port, args.flood_threads, args.seconds, args.flood_max)
        print(json.dumps(dict(codes)))
        return

    from daybreak.store import Keyring, Role, TiplineStore
    from daybreak.store.db import sqlite_url
    from daybreak.store.keys import generate_key

    field_key = generate_key()
    with tempfile.TemporaryDirectory(prefix="daybreak-login-flood-") as tmp:
        data_dir = Path(tmp)
        setup = TiplineStore(
            sqlite_url(data_dir / "daybreak.db"), Keyring.from_text(field_key, audit=AUDIT_KEY)
        )
        setup.accounts.create("analyst", PASSWORD, Role.ANALYST)  # production argon2 costs
        key = setup.api_keys.create("bench", Role.PLATFORM, rate_per_minute=0)
        setup.close()
        cap = ["--max-concurrent-logins", str(args.max_concurrent_logins)]
        budget = ["--login-hashes-per-minute", str(args.hashes_per_minute)]
        no_budget = ["--login-hashes-per-minute", "0"]
        settings = {
            "defaults (address limit on)": [*cap, *budget],
            "no address limit, budget": [*cap, *budget, "--login-rate", "0"],
            "no address limit, no budget": [*cap, "--login-rate", "0", *no_budget],
        }
        print(
            f"{args.rounds} rounds of {args.reports} reports per phase, {args.clients} intake connections, "
            f"{args.flood_threads} flood threads, hashing cap {args.max_concurrent_logins}, "
            f"hashing budget {args.hashes_per_minute}/min, "
            f"load avg {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores"
        )
        for name, extra in settings.items():
            _report(name, *run_setting(name, extra, data_dir, field_key, key, args))


if __name__ == "__main__":
    main()
