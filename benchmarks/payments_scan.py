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

It prints both times (median of --repeat runs, alternating), their ratio (target <= 3), the
CPU seconds of each side (all threads: steadier than wall time on a shared machine)
and the spread of the run-by-run ratios,
transactions per second of the scan (target >= 2M/s) and the peak resident memory of
each child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

CORRIDOR = np.array(["PH", "TH", "CO", "MX", "VN", "ID", "IN", "KE"])
FAMILY_REFS = np.array(["", "", "", "gift", "school fees", "for uniform", "family support",
                        "rent", "thanks", "birthday", "medicine", "pang gastos"])  # fmt: skip
PAYER_REFS = np.array(["", "", "", "", "load", "help", "gift", "treat", "for baby",
                       "@sweet_angel22", "milk", "thanks"])  # fmt: skip
PAYROLL_REFS = np.array(["invoice 2231", "invoice", "inv 0042", "contract fee", "services"])
ALLOWANCE_REFS = np.array(["allowance", "food", "rent", "", "books"])
DOMESTIC_REFS = np.array(["", "", "", "", "rent", "dinner", "thanks", "invoice 2231"])
GIVEN = np.array(["John", "Peter", "Mark", "David", "Paul", "James", "Michael", "Robert", "Daniel",
                  "Thomas", "Andrew", "Steven", "Chris", "Luis", "Jose", "Carlos", "Minh",
                  "Ravi", "Maria", "Anna", "Joy", "Liza", "Grace", "Rosa", "Jennifer", "Mae",
                  "Siriporn", "Malee", "Camila", "Sofia", "Linh", "Dewi", "Sarah", "Emma",
                  "Olivia", "Kate", "Ruth", "Helen", "Lucy", "Amy"])  # fmt: skip
FEMALE = np.array(["Maria", "Anna", "Joy", "Liza", "Grace", "Rosa", "Jennifer", "Mae",
                   "Siriporn", "Malee", "Camila", "Sofia", "Linh", "Dewi"])  # fmt: skip
# Surnames: a few hundred, so that names fold and compare as in a real customer file.
STEMS = np.array(["Smith", "Brown", "Santos", "Reyes", "Cruz", "Nguyen", "Garcia", "Lopez",
                  "Jones", "Taylor", "Bautista", "Ramos", "Wong", "Tran", "Silva", "Perez",
                  "Walker", "Kumar", "Mendoza", "Aquino", "Torres", "Flores", "Rivera",
                  "Hall"])  # fmt: skip
FAMILY = np.concatenate(
    [STEMS, np.char.add(STEMS, "a"), np.char.add(STEMS, "on"), np.char.add(STEMS, "ez"),
     np.char.add(np.char.add(STEMS, "-"), STEMS[::-1]), np.char.add("Mac", STEMS),
     np.char.add(STEMS, "berg"), np.char.add(STEMS, "ito"), np.char.add(STEMS, "ley"),
     np.char.add(STEMS, "sen"), np.char.add(STEMS, "ova"), np.char.add(STEMS, "ell")]
)  # fmt: skip
# Card purchases: mostly everyday spending; software, streaming and airlines ~1% each.
MCCS = np.array(["5411", "5812", "5541", "5999", "5311", "4816", "5734", "4511"])
MCC_P = np.array([0.3, 0.25, 0.2, 0.12, 0.1, 0.01, 0.01, 0.01])
TZ = np.array(["Australia/Sydney", "Australia/Melbourne", "Australia/Perth", "Australia/Brisbane"])
CHANNELS = np.array(["remittance", "p2p", "wallet", "wire"])
# Corridor senders by kind: families paying relatives, payers paying beneficiaries
# shared with other payers, firms paying offshore contractors, parents paying a student.
FAMILY_K, PAYER_K, PAYROLL_K, ALLOWANCE_K = 0, 1, 2, 3
KIND_P = np.array([0.8, 0.12, 0.03, 0.05])
MAX_BENEFICIARIES = 12
UTC_OFFSET_H = 10  # the customers' zones are Australian: local hour - 10 = UTC (about)


def _corridor_senders(rng: np.random.Generator, customers: int, share: float) -> dict[str, Any]:
    """Who sends corridor payments and to whom: one row per corridor sender with its kind,
    activity weight and beneficiary table (global beneficiary numbers), plus each
    beneficiary's name and country. About 33 corridor payments per sender a year, so the
    number of corridor senders grows with the share (3%: 9% of customers; 15%: 45%)."""
    k = max(10, min(customers, round(customers * share * 3)))
    sender = rng.choice(customers, k, replace=False)
    kind = rng.choice(4, k, p=KIND_P)
    kind[:4] = [FAMILY_K, PAYER_K, PAYROLL_K, ALLOWANCE_K]  # every kind, even when tiny
    n_ben = np.select(
        [kind == FAMILY_K, kind == PAYER_K, kind == PAYROLL_K],
        [rng.integers(1, 4, k), rng.integers(1, 5, k), rng.integers(4, MAX_BENEFICIARIES + 1, k)],
        1,
    )
    # Beneficiaries: families' relatives are their own; payers draw from a pool of hubs
    # (about four payers per hub), firms from a pool of contractors (some shared).
    payers, firms = int((kind == PAYER_K).sum()), int((kind == PAYROLL_K).sum())
    hubs, contractors = max(3, payers * 10 // 16), max(5, firms * 6)
    own = k * MAX_BENEFICIARIES
    slot = np.arange(k)[:, None] * MAX_BENEFICIARIES + np.arange(MAX_BENEFICIARIES)[None, :]
    table = np.where(
        (kind == PAYER_K)[:, None],
        own + rng.integers(0, hubs, (k, MAX_BENEFICIARIES)),
        np.where((kind == PAYROLL_K)[:, None],
                 own + hubs + rng.integers(0, contractors, (k, MAX_BENEFICIARIES)), slot),
    )  # fmt: skip
    total = own + hubs + contractors
    given = rng.choice(GIVEN, total)
    given[own : own + hubs] = rng.choice(FEMALE, hubs)
    family = rng.choice(FAMILY, total)
    return {
        "sender": sender,
        "kind": kind,
        "n_ben": n_ben,
        "table": table,
        "weight": rng.gamma(1.5, 1.0, k),  # some send weekly, some a few times a year
        "channel": rng.choice(CHANNELS, k, p=[0.45, 0.25, 0.2, 0.1]),
        "given": given,
        "family": family,
        "country": rng.choice(CORRIDOR, total),
        "own": own,
    }


def _corridor_rows(rng: np.random.Generator, m: int, cs: dict[str, Any],
                   surname: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """``m`` corridor payments of the senders ``cs`` (vectorised)."""
    s = rng.choice(len(cs["sender"]), m, p=cs["weight"] / cs["weight"].sum())
    kind = cs["kind"][s]
    ben = cs["table"][s, (rng.random(m) * cs["n_ben"][s]).astype(np.int64)]
    sender = cs["sender"][s]
    # Relatives share the sender's surname; hubs and contractors have their own.
    family = np.where(ben < cs["own"], surname[sender], cs["family"][ben])
    day = rng.integers(0, 365, m)
    # Firms pay on the same day each month; the others on any day.
    day = np.where(kind == PAYROLL_K, (day // 30) * 30 + 27, day)
    hour = np.select(
        [kind == PAYER_K, kind == PAYROLL_K, kind == ALLOWANCE_K],
        [np.where(rng.random(m) < 0.5, (22 + rng.integers(0, 8, m)) % 24,
                  rng.integers(7, 22, m)),
         rng.integers(9, 17, m), rng.integers(17, 22, m)],
        rng.integers(7, 22, m),
    )  # fmt: skip
    amount = np.select(
        [kind == PAYER_K, kind == PAYROLL_K, kind == ALLOWANCE_K],
        [rng.gamma(2.0, 25.0, m), 100.0 * rng.integers(5, 30, m), rng.gamma(3.0, 20.0, m)],
        rng.gamma(4.0, 80.0, m),
    ).round(2)
    reference = np.select(
        [kind == PAYER_K, kind == PAYROLL_K, kind == ALLOWANCE_K],
        [rng.choice(PAYER_REFS, m), rng.choice(PAYROLL_REFS, m), rng.choice(ALLOWANCE_REFS, m)],
        rng.choice(FAMILY_REFS, m),
    )
    channel = np.where(rng.random(m) < 0.85, cs["channel"][s], rng.choice(CHANNELS, m))
    seconds = day * 86400 + (hour - UTC_OFFSET_H) * 3600 + rng.integers(0, 3600, m)
    return {
        "sender": sender,
        "receiver_id": np.char.add("bank:", ben.astype(str)),
        "receiver_name": np.char.add(np.char.add(cs["given"][ben], " "), family),
        "receiver_country": cs["country"][ben],
        "amount": amount,
        "channel": channel,
        "reference": reference,
        "seconds": seconds,
    }


def _domestic_rows(rng: np.random.Generator, m: int, customers: int,
                   cid_given: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """``m`` payments at home: card spending, P2P and wires to other customers."""
    sender = rng.integers(0, customers, m)
    other = rng.integers(0, customers, m)
    return {
        "sender": sender,
        "receiver_id": np.char.add("bank:", (10**9 + other).astype(str)),
        "receiver_name": cid_given[other],
        "receiver_country": np.full(m, "AU"),
        "amount": rng.gamma(1.5, 30.0, m).round(2),
        "channel": rng.choice(["card", "card", "card", "p2p", "wire"], m),
        "reference": rng.choice(DOMESTIC_REFS, m),
        "seconds": rng.integers(0, 365 * 86400, m),
    }


def make_data(n: int, folder: Path, share: float = 0.03, seed: int = 1) -> tuple[Path, Path]:
    """Transactions and customers in the public schema, ``share`` of the rows corridor
    payments (written once per folder)."""
    tx_path, cu_path = folder / "transactions.parquet", folder / "customers.parquet"
    if tx_path.is_file() and cu_path.is_file():
        return tx_path, cu_path
    rng = np.random.default_rng(seed)
    customers = max(100, n // 100)
    surname = rng.choice(FAMILY, customers)
    names = np.char.add(np.char.add(rng.choice(GIVEN, customers), " "), surname)
    cid = np.char.add("C", np.arange(customers).astype(str))
    pl.DataFrame(
        {
            "customer_id": cid,
            "name": names,
            "birth_year": rng.integers(1940, 2000, customers),
            "gender": rng.choice(["M", "F"], customers),
            "country": np.full(customers, "AU"),
            "timezone": rng.choice(TZ, customers),
            "known_offender": rng.random(customers) < 0.0005,
        }
    ).write_parquet(cu_path)
    cs = _corridor_senders(rng, customers, share)
    frames = []
    chunk = 5_000_000
    start = np.datetime64("2025-01-01T00:00:00", "us").astype(np.int64)
    for offset in range(0, n, chunk):
        m = min(chunk, n - offset)
        mc = int(rng.binomial(m, share))
        cor, dom = (
            _corridor_rows(rng, mc, cs, surname),
            _domestic_rows(rng, m - mc, customers, names),
        )
        rows = {key: np.concatenate([cor[key], dom[key]]) for key in cor}
        order = rng.permutation(m)  # corridor payments spread over the file
        rows = {key: value[order] for key, value in rows.items()}
        channel = rows["channel"]
        mcc = np.where(channel == "card", rng.choice(MCCS, m, p=MCC_P), "")
        frames.append(
            pl.DataFrame(
                {
                    "txn_id": np.char.add("T", np.arange(offset, offset + m).astype(str)),
                    "timestamp": start + rows["seconds"] * 10**6 + rng.integers(0, 10**6, m),
                    "sender_id": cid[rows["sender"]],
                    "sender_name": None,
                    "sender_country": np.full(m, "AU"),
                    "receiver_id": rows["receiver_id"],
                    "receiver_name": rows["receiver_name"],
                    "receiver_country": rows["receiver_country"],
                    "amount": rows["amount"],
                    "currency": np.full(m, "AUD"),
                    "channel": channel,
                    "reference": rows["reference"],
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


def _time_steps() -> dict[str, float]:
    """CPU seconds of each compiled SQL step of the scans in this (child) process, filled as
    they run: DuckDB's step definition is wrapped. A view costs nothing where it is
    defined and counts in the steps that read it."""
    from daybreak.engines.duckdb import DuckDBEngine

    steps: dict[str, float] = {}
    define = DuckDBEngine._define

    def timed(self: DuckDBEngine, name: str, sql: str, materialize: bool) -> None:
        cpu = time.process_time()
        define(self, name, sql, materialize)
        steps[name] = time.process_time() - cpu

    DuckDBEngine._define = timed  # type: ignore[method-assign]
    return steps


def child(kind: str, tx: Path, cu: Path, out: Path) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    rss = PeakRss()
    # Both sides import first and are timed from there: interpreter start-up and imports
    # (printed separately) are not part of the work being compared.
    t_import = time.perf_counter()
    import duckdb

    from daybreak.engines.payments import scan

    imports = time.perf_counter() - t_import
    t0, cpu0 = time.perf_counter(), time.process_time()
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
        marks: list[tuple[str, float, float]] = []

        def mark(message: str) -> None:
            marks.append((message, time.perf_counter() - t0, time.process_time() - cpu0))

        steps = _time_steps()
        result = scan(tx, out, customers=cu, progress=mark)
        mark("end")
        # wall and CPU seconds from each progress message to the next ("validating
        # transactions" covers reading the file)
        phases = {m: round(marks[i + 1][1] - at, 3) for i, (m, at, _) in enumerate(marks[:-1])}
        cpu_phases = {m: round(marks[i + 1][2] - c, 3) for i, (m, _, c) in enumerate(marks[:-1])}
        info = {**result.summary, "phases": phases, "cpu_phases": cpu_phases,
                "before_first_phase": round(marks[0][1], 3),
                "cpu_steps": {k: round(v, 3) for k, v in steps.items()}}  # fmt: skip
    elapsed = time.perf_counter() - t0
    # CPU seconds of every thread of this process (DuckDB's and Polars' workers too):
    # steadier than wall time on a shared machine, where other work takes the cores.
    cpu = time.process_time() - cpu0
    peak_mb = rss.stop()
    print(
        json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb, "imports": imports, **info})
    )


def measure(kind: str, tx: Path, cu: Path, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--tx", str(tx), "--cu", str(cu),
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


BASELINE_PROGRAM = """
import sys, duckdb
con = duckdb.connect()
con.sql("SELECT sender_id, sum(amount) AS total, count(*) AS n "
        "FROM read_parquet('" + sys.argv[1] + "') GROUP BY sender_id").to_arrow_table()
"""


def measure_with_startup(kind: str, tx: Path, cu: Path, out: Path) -> float:
    """Wall time of a whole process, start-up included, as a user would see it:
    ``daybreak payments scan`` against the same aggregation in a fresh Python."""
    if kind == "baseline":
        cmd = [sys.executable, "-c", BASELINE_PROGRAM, str(tx)]
    else:
        daybreak = Path(sys.executable).with_name("daybreak")
        cmd = [str(daybreak), "payments", "scan", "-t", str(tx), "-c", str(cu), "-o", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    return time.perf_counter() - t0


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _spread(ratios: list[float]) -> str:
    r = sorted(ratios)
    return f"{r[0]:.2f}-{r[-1]:.2f} (median {r[len(r) // 2]:.2f}, {len(r)} runs)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000", help="comma-separated row counts")
    ap.add_argument("--with-50m", action="store_true", help="also run 50M transactions")
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the median is reported"
    )
    ap.add_argument(
        "--corridor-share",
        default="0.03",
        help="share of the rows that are outbound corridor payments (default 0.03); "
        "several, comma-separated (e.g. 0.03,0.15), are measured one after the other "
        "in one run and summed up side by side at the end",
    )
    ap.add_argument(
        "--with-startup",
        action="store_true",
        help="also time whole processes, start-up included: `daybreak payments scan` "
        "against the aggregation in a fresh Python",
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
    try:
        shares = [float(x) for x in args.corridor_share.split(",")]
    except ValueError:
        shares = []
    if not shares or not all(0.0 < x < 1.0 for x in shares):
        ap.error(f"--corridor-share: expected shares between 0 and 1, got {args.corridor_share!r}")
    sizes = [int(s) for s in args.sizes.split(",")] + ([50_000_000] if args.with_50m else [])
    ratios = {share: run_share(args, share, sizes) for share in shares}
    if len(shares) > 1:
        print("side by side (scan / baseline, median runs):")
        for share, by_size in ratios.items():
            print(f"  corridor share {share:.0%}: "
                  + ", ".join(f"{n:,} rows {r:.2f}" for n, r in by_size.items()))  # fmt: skip
    print("targets: ratio <= 3.0, scan >= 2,000,000 transactions/s")


def run_share(args: argparse.Namespace, share: float, sizes: list[int]) -> dict[int, float]:
    """Measure every size at one corridor share; returns the ratio per size."""
    print(f"corridor share {share:.0%}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'rows':>11} {'baseline s':>10} {'scan s':>8} {'ratio':>6} {'scan tx/s':>12} "
          f"{'base MB':>8} {'scan MB':>8} {'alerts':>7}")  # fmt: skip
    previous: tuple[int, float] | None = None
    ratios: dict[int, float] = {}
    for n in sizes:
        folder = args.work / f"n{n}-c{share:g}"
        folder.mkdir(parents=True, exist_ok=True)
        tx, cu = make_data(n, folder, share)
        # Alternate the two so background load hits both alike; report medians.
        bases, fulls, wall_bases, wall_fulls = [], [], [], []
        for _ in range(args.repeat):
            bases.append(measure("baseline", tx, cu, folder / "out"))
            fulls.append(measure("scan", tx, cu, folder / "out"))
            if args.with_startup:
                wall_bases.append(measure_with_startup("baseline", tx, cu, folder / "out"))
                wall_fulls.append(measure_with_startup("scan", tx, cu, folder / "out"))
        base = sorted(bases, key=lambda r: r["seconds"])[len(bases) // 2]
        full = sorted(fulls, key=lambda r: r["seconds"])[len(fulls) // 2]
        base["peak_mb"] = max(r["peak_mb"] for r in bases)
        full["peak_mb"] = max(r["peak_mb"] for r in fulls)
        ratio = full["seconds"] / base["seconds"]
        ratios[n] = ratio
        print(f"{n:>11,} {base['seconds']:>10.2f} {full['seconds']:>8.2f} {ratio:>6.2f} "
              f"{n / full['seconds']:>12,.0f} {base['peak_mb']:>8.0f} {full['peak_mb']:>8.0f} "
              f"{int(full['alerts']):>7}")  # fmt: skip
        # Each scan against the baseline run just before it: this machine's speed drifts
        # within minutes, and adjacent runs share its state.
        print("  ratio run by run: "
              + _spread([f["seconds"] / b["seconds"] for b, f in zip(bases, fulls, strict=True)]))  # fmt: skip
        if args.with_startup:
            wb, wf = (
                sorted(wall_bases)[len(wall_bases) // 2],
                sorted(wall_fulls)[len(wall_fulls) // 2],
            )
            print(f"  with start-up: baseline {wb:.2f} s, scan {wf:.2f} s, ratio {wf / wb:.2f}; "
                  "run by run "
                  + _spread([f / b for b, f in zip(wall_bases, wall_fulls, strict=True)]))  # fmt: skip
        if previous:
            pn, ps = previous
            print(
                f"  growth {pn:,} -> {n:,}: rows x{n / pn:.1f}, scan time x{full['seconds'] / ps:.1f}"
            )
        previous = (n, full["seconds"])
        steps = ", ".join(f"{k} {v:.2f}" for k, v in full["phases"].items())
        print(f"  scan phases (s): loading the pack {full['before_first_phase']:.2f}, {steps}")
        cpu_base, cpu_scan = _median([r["cpu"] for r in bases]), _median([r["cpu"] for r in fulls])
        print(f"  CPU seconds (all threads, medians): baseline {cpu_base:.2f}, scan {cpu_scan:.2f}, "
              f"ratio {cpu_scan / cpu_base:.2f}; run by run "
              + _spread([f["cpu"] / b["cpu"] for b, f in zip(bases, fulls, strict=True)]))  # fmt: skip
        steps = ", ".join(f"{k} {v:.2f}" for k, v in full["cpu_phases"].items())
        print(f"  scan phases (CPU s, the median run): {steps}")
        costly = sorted(full["cpu_steps"].items(), key=lambda kv: -kv[1])[:8]
        print("  costliest SQL steps (CPU s, the median run): "
              + ", ".join(f"{k} {v:.2f}" for k, v in costly))  # fmt: skip
        print(f"  corridor payments read by the scan: {int(full['corridor_payments']):,}")
    print(f"imports (not timed above): scan child {full['imports']:.1f} s")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return ratios


if __name__ == "__main__":
    main()
