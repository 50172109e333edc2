"""Benchmark: the full payments scan against one plain DuckDB aggregation pass.

    .venv/bin/python benchmarks/payments_scan.py                  # 1M and 10M transactions
    .venv/bin/python benchmarks/payments_scan.py --sizes 1000000  # quicker
    .venv/bin/python benchmarks/payments_scan.py --with-50m       # adds 50M (needs ~16 GB)

For each size it writes a synthetic transactions.parquet in the public schema (numpy,
vectorised: ~3% outbound corridor payments, the rest domestic card and P2P, 1 customer
per 100 transactions) and measures, side by side in fresh child processes:

  baseline  SELECT sender_id, sum(amount), count(*) FROM the parquet GROUP BY sender_id
            (fetched as Arrow)
  scan      daybreak.engines.payments.scan(...) end to end: read and validate the files, compile,
            run on DuckDB, score, explain, collect evidence and write the results

It prints both times (median of --repeat runs, alternating), their ratio (target <= 3)
and the spread of the run-by-run ratios,
transactions per second of the scan (target >= 2M/s) and the peak resident memory of
each child.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

CORRIDOR = np.array(["PH", "TH", "CO", "MX"])
REFS = np.array(["", "", "", "gift", "school fees", "for uniform", "family support", "rent",
                 "load", "thanks", "invoice 2231", "allowance"])  # fmt: skip
GIVEN = np.array(["John", "Peter", "Mark", "David", "Paul", "Maria", "Anna", "Joy", "Jose", "Liza"])
FAMILY = np.array(["Smith", "Brown", "Santos", "Reyes", "Cruz", "Nguyen", "Garcia", "Lopez",
                   "Jones", "Taylor", "Bautista", "Ramos"])  # fmt: skip
# Card purchases: mostly everyday spending; software, streaming and airlines ~1% each.
MCCS = np.array(["5411", "5812", "5541", "5999", "5311", "4816", "5734", "4511"])
MCC_P = np.array([0.3, 0.25, 0.2, 0.12, 0.1, 0.01, 0.01, 0.01])
TZ = np.array(["Australia/Sydney", "Australia/Melbourne", "Australia/Perth", "Australia/Brisbane"])


def make_data(n: int, folder: Path, seed: int = 1) -> tuple[Path, Path]:
    tx_path, cu_path = folder / "transactions.parquet", folder / "customers.parquet"
    if tx_path.is_file() and cu_path.is_file():
        return tx_path, cu_path
    rng = np.random.default_rng(seed)
    customers = max(100, n // 100)
    surname = rng.choice(FAMILY, customers)
    cid = np.char.add("C", np.arange(customers).astype(str))
    pl.DataFrame(
        {
            "customer_id": cid,
            "name": np.char.add(np.char.add(rng.choice(GIVEN, customers), " "), surname),
            "birth_year": rng.integers(1940, 2000, customers),
            "gender": rng.choice(["M", "F"], customers),
            "country": np.full(customers, "AU"),
            "timezone": rng.choice(TZ, customers),
            "known_offender": rng.random(customers) < 0.0005,
        }
    ).write_parquet(cu_path)
    frames = []
    chunk = 5_000_000
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    # Corridor payers: 5% of customers remit to relatives (their own surname), 0.3% pay
    # several unrelated beneficiaries; everybody else pays only at home.
    remitters = rng.choice(customers, max(2, customers // 20), replace=False)
    payers = rng.choice(customers, max(1, customers * 3 // 1000), replace=False)
    for offset in range(0, n, chunk):
        m = min(chunk, n - offset)
        corridor = rng.random(m) < 0.03
        is_payer = corridor & (rng.random(m) < 0.1)
        sender = np.where(
            corridor,
            np.where(is_payer, rng.choice(payers, m), rng.choice(remitters, m)),
            rng.integers(0, customers, m),
        )
        benef = np.where(is_payer, 10**7 + rng.integers(0, max(10, customers // 50), m),
                         sender * 2 + rng.integers(0, 2, m))  # fmt: skip
        family_name = np.where(is_payer, rng.choice(FAMILY, m), surname[sender])
        channel = np.where(corridor, rng.choice(["remittance", "p2p", "wallet", "wire"], m),
                           rng.choice(["card", "card", "card", "p2p", "wire"], m))  # fmt: skip
        country = np.where(corridor, rng.choice(CORRIDOR, m), "AU")
        amount = np.where(corridor, np.where(is_payer, rng.gamma(2.0, 25.0, m),
                                             rng.gamma(4.0, 80.0, m)),
                          rng.gamma(1.5, 30.0, m)).round(2)  # fmt: skip
        mcc = np.where(channel == "card", rng.choice(MCCS, m, p=MCC_P), "")  # fmt: skip
        frames.append(
            pl.DataFrame(
                {
                    "txn_id": np.char.add("T", np.arange(offset, offset + m).astype(str)),
                    "timestamp": (start + rng.integers(0, 365 * 86400 * 10**6, m)),
                    "sender_id": cid[sender],
                    "sender_name": None,
                    "sender_country": np.full(m, "AU"),
                    "receiver_id": np.char.add("bank:", benef.astype(str)),
                    "receiver_name": np.char.add(
                        np.char.add(rng.choice(GIVEN, m), " "), family_name
                    ),
                    "receiver_country": country,
                    "amount": amount,
                    "currency": np.full(m, "AUD"),
                    "channel": channel,
                    "reference": rng.choice(REFS, m),
                    "merchant_category": mcc,
                }
            ).with_columns(
                pl.col("timestamp").cast(pl.Datetime("us", "UTC")),
                pl.col("sender_name").cast(pl.String),
                pl.when(pl.col("reference") == "")
                .then(None)
                .otherwise(pl.col("reference"))
                .alias("reference"),
                pl.when(pl.col("merchant_category") == "")
                .then(None)
                .otherwise(pl.col("merchant_category"))
                .alias("merchant_category"),
            )
        )
    pl.concat(frames).write_parquet(tx_path, row_group_size=1_000_000)
    return tx_path, cu_path


class PeakRss:
    """Sample this process's resident memory (ru_maxrss survives exec on Linux, so it
    would report the parent's peak)."""

    def __init__(self) -> None:
        import threading

        import psutil

        self.peak = 0
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(0.02)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        return self.peak / 2**20


def child(kind: str, tx: Path, cu: Path, out: Path) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    rss = PeakRss()
    # Both sides import first and are timed from there: interpreter start-up and imports
    # (printed separately) are not part of the work being compared.
    t_import = time.perf_counter()
    import duckdb

    from daybreak.engines.payments import scan

    imports = time.perf_counter() - t_import
    t0 = time.perf_counter()
    if kind == "baseline":
        con = duckdb.connect()
        rows = (
            con.sql(
                f"SELECT sender_id, sum(amount) AS total, count(*) AS n "
                f"FROM read_parquet('{tx}') GROUP BY sender_id"
            )
            .to_arrow_table()
            .num_rows
        )
        info: dict[str, object] = {"groups": rows}
    else:
        marks: list[tuple[str, float]] = []
        result = scan(tx, out, customers=cu,
                      progress=lambda m: marks.append((m, time.perf_counter() - t0)))  # fmt: skip
        marks.append(("end", time.perf_counter() - t0))
        # seconds from each progress message to the next ("validating transactions"
        # covers reading the file; "collecting evidence" covers explanations and writing)
        phases = {m: round(marks[i + 1][1] - at, 3) for i, (m, at) in enumerate(marks[:-1])}
        info = {**result.summary, "phases": phases, "before_first_phase": round(marks[0][1], 3)}
    elapsed = time.perf_counter() - t0
    peak_mb = rss.stop()
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "imports": imports, **info}))


def measure(kind: str, tx: Path, cu: Path, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--tx", str(tx), "--cu", str(cu),
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated row counts")
    ap.add_argument("--with-50m", action="store_true", help="also run 50M transactions")
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the median is reported"
    )
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-bench")
    ap.add_argument("--child", choices=["baseline", "scan"], help=argparse.SUPPRESS)
    ap.add_argument("--tx", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cu", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.tx, args.cu, args.out)
        return
    sizes = [int(s) for s in args.sizes.split(",")] + ([50_000_000] if args.with_50m else [])
    print(f"{'rows':>11} {'baseline s':>10} {'scan s':>8} {'ratio':>6} {'scan tx/s':>12} "
          f"{'base MB':>8} {'scan MB':>8} {'alerts':>7}")  # fmt: skip
    previous: tuple[int, float] | None = None
    for n in sizes:
        folder = args.work / f"n{n}"
        folder.mkdir(parents=True, exist_ok=True)
        tx, cu = make_data(n, folder)
        # Alternate the two so background load hits both alike; report medians.
        bases, fulls = [], []
        for _ in range(args.repeat):
            bases.append(measure("baseline", tx, cu, folder / "out"))
            fulls.append(measure("scan", tx, cu, folder / "out"))
        base = sorted(bases, key=lambda r: r["seconds"])[len(bases) // 2]
        full = sorted(fulls, key=lambda r: r["seconds"])[len(fulls) // 2]
        base["peak_mb"] = max(r["peak_mb"] for r in bases)
        full["peak_mb"] = max(r["peak_mb"] for r in fulls)
        ratio = full["seconds"] / base["seconds"]
        print(f"{n:>11,} {base['seconds']:>10.2f} {full['seconds']:>8.2f} {ratio:>6.2f} "
              f"{n / full['seconds']:>12,.0f} {base['peak_mb']:>8.0f} {full['peak_mb']:>8.0f} "
              f"{int(full['alerts']):>7}")  # fmt: skip
        # Each scan against the baseline run just before it: this machine's speed drifts
        # within minutes, and adjacent runs share its state.
        pairs = sorted(f["seconds"] / b["seconds"] for b, f in zip(bases, fulls, strict=True))
        print(f"  ratio run by run: {pairs[0]:.2f}-{pairs[-1]:.2f} "
              f"(median {pairs[len(pairs) // 2]:.2f}, {len(pairs)} runs)")  # fmt: skip
        if previous:
            pn, ps = previous
            print(
                f"  growth {pn:,} -> {n:,}: rows x{n / pn:.1f}, scan time x{full['seconds'] / ps:.1f}"
            )
        previous = (n, full["seconds"])
        steps = ", ".join(f"{k} {v:.2f}" for k, v in full["phases"].items())
        print(f"  scan phases (s): loading the pack {full['before_first_phase']:.2f}, {steps}")
    print(f"imports (not timed above): scan child {full['imports']:.1f} s")
    print("targets: ratio <= 3.0, scan >= 2,000,000 transactions/s")


if __name__ == "__main__":
    main()
