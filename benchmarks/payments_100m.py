"""Benchmark: the DuckDB payments scan at 100 M transactions, bigger than its memory cap.

    .venv/bin/python benchmarks/payments_100m.py                      # 100 M rows, 2 GB cap
    .venv/bin/python benchmarks/payments_100m.py --rows 10000000      # quicker
    .venv/bin/python benchmarks/payments_100m.py --memory-limit 4GB --keep

It loads the machine for several minutes (both cores, a few GB of disk): run it alone.

The rows are made by DuckDB itself (``range()`` and ``hash()``, minutes rather than the
hour the Python world generator would need) in the public schema: one customer per 100
transactions, ~3% outbound corridor payments from a tenth of the customers to 50,000
beneficiaries, the rest domestic card, P2P and wire payments. The customers file is
made the same way.

Then, each in a fresh child process with the same ``DAYBREAK_DUCKDB_MEMORY_LIMIT`` and
``DAYBREAK_DUCKDB_TEMP_DIR`` (the engine's settings; DuckDB spills its joins and
aggregations past the cap into the temp folder):

  baseline  SELECT sender_id, sum(amount), count(*) FROM the parquet GROUP BY sender_id
  scan      daybreak.engines.payments.scan(...) end to end, results written

It prints time, peak resident memory and the most the temp folder held, for both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from payments_scan import PeakRss  # one memory sampler for the benchmarks

CORRIDOR = ["PH", "TH", "CO", "MX", "VN", "ID", "IN", "KE"]
GIVEN = ["John", "Peter", "Mark", "David", "Maria", "Anna", "Joy", "Liza", "Grace", "Rosa",
         "Minh", "Linh", "Jose", "Camila", "Sofia", "Ravi", "Dewi", "Sarah", "Emma", "Paul"]  # fmt: skip
FAMILY = ["Smith", "Brown", "Santos", "Reyes", "Cruz", "Nguyen", "Garcia", "Lopez", "Jones",
          "Taylor", "Bautista", "Ramos", "Wong", "Tran", "Silva", "Perez", "Kumar", "Flores"]  # fmt: skip
REFS = ["", "", "", "gift", "school fees", "family support", "rent", "load", "help", "treat",
        "for baby", "milk", "thanks", "invoice 2231", "allowance"]  # fmt: skip
# Card purchases as in payments_scan.py: everyday spending, and software, streaming and
# airlines (the related-purchase codes the detector reads) ~1% each; in hundredths.
MCC_SHARES = {"5411": 30, "5812": 25, "5541": 20, "5999": 12, "5311": 10, "4816": 1,
              "5734": 1, "4511": 1}  # fmt: skip
MCCS = [code for code, share in MCC_SHARES.items() for _ in range(share)]


def _pick(values: list[str], seed: str) -> str:
    """SQL choosing one of ``values`` by a hash expression."""
    items = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"([{items}])[1 + (({seed}) % {len(values)})::BIGINT]"


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    import duckdb

    customers = max(100, rows // 100)
    corridor_senders = max(10, customers // 10)
    tx, cu = folder / "transactions.parquet", folder / "customers.parquet"
    con = duckdb.connect()
    con.execute(f"SET temp_directory = '{folder / 'gen-tmp'}'")
    h = "hash(i * 16 + {k})"  # independent pseudo-random draws per row
    corridor = f"({h.format(k=0)} % 1000) < 30"
    sql = f"""
    COPY (
      SELECT
        'T' || i AS txn_id,
        TIMESTAMPTZ '2025-01-01 00:00:00+00'
          + to_microseconds(({h.format(k=1)} % 31536000000000)::BIGINT) AS timestamp,
        'C' || CASE WHEN {corridor} THEN ({h.format(k=2)} % {corridor_senders})::BIGINT
                    ELSE ({h.format(k=2)} % {customers})::BIGINT END AS sender_id,
        NULL::VARCHAR AS sender_name,
        'AU' AS sender_country,
        CASE WHEN {corridor} THEN 'bank:B' || ({h.format(k=3)} % 50000)
             ELSE 'bank:' || (1000000000 + {h.format(k=3)} % {customers}) END AS receiver_id,
        {_pick(GIVEN, h.format(k=4))} || ' ' || {_pick(FAMILY, h.format(k=5))} AS receiver_name,
        CASE WHEN {corridor} THEN {_pick(CORRIDOR, h.format(k=3))} ELSE 'AU' END
          AS receiver_country,
        round(({h.format(k=6)} % 40000) / 100.0 + 1, 2) AS amount,
        'AUD' AS currency,
        CASE WHEN {corridor} THEN {_pick(["remittance", "p2p", "wallet", "wire"], h.format(k=7))}
             ELSE {_pick(["card", "card", "card", "p2p", "wire"], h.format(k=7))} END AS channel,
        nullif({_pick(REFS, h.format(k=8))}, '') AS reference,
        CASE WHEN NOT ({corridor}) AND ({h.format(k=7)} % 5) < 3
             THEN {_pick(MCCS, h.format(k=9))} END AS merchant_category
      FROM range({rows}) t(i)
    ) TO '{tx}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
    """
    con.execute(sql)
    con.execute(f"""
    COPY (
      SELECT 'C' || i AS customer_id,
        {_pick(GIVEN, "hash(i * 4 + 1)")} || ' ' || {_pick(FAMILY, "hash(i * 4 + 2)")} AS name,
        (1940 + hash(i * 4 + 3) % 60)::INTEGER AS birth_year,
        {_pick(["M", "F"], "hash(i * 4)")} AS gender,
        'AU' AS country,
        'Australia/Sydney' AS timezone,
        hash(i * 4 + 5) % 2000 = 0 AS known_offender
      FROM range({customers}) t(i)
    ) TO '{cu}' (FORMAT parquet)
    """)
    con.close()
    shutil.rmtree(folder / "gen-tmp", ignore_errors=True)
    return tx, cu


class FolderPeak:
    """The most bytes a folder held while sampled (DuckDB's spill files)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.peak = folder, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _size(self) -> int:
        total = 0
        for root, _dirs, files in os.walk(self.folder):
            for f in files:
                with contextlib.suppress(OSError):  # removed while walking
                    total += os.path.getsize(os.path.join(root, f))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._size())
            self._stop.wait(0.2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def child(kind: str, tx: Path, cu: Path, out: Path) -> None:
    rss = PeakRss()
    spill = FolderPeak(Path(os.environ["DAYBREAK_DUCKDB_TEMP_DIR"]))
    from daybreak.engines.duckdb import DuckDBEngine
    from daybreak.engines.payments import scan

    t0 = time.perf_counter()
    if kind == "baseline":
        with DuckDBEngine() as eng:  # the same memory cap and spill folder
            rows = eng.fetch(
                f"SELECT sender_id, sum(amount) AS total, count(*) AS n "
                f"FROM read_parquet('{tx}') GROUP BY sender_id"
            ).num_rows
        info: dict[str, Any] = {"groups": rows}
    else:
        result = scan(tx, out, customers=cu)
        keys = ("transactions", "corridor_payments", "customers_scored", "alerts")
        info = {k: result.summary[k] for k in keys}
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "peak_mb": rss.stop(), "spill_mb": spill.stop(), **info}))


def measure(kind: str, tx: Path, cu: Path, out: Path, env: dict[str, str]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, str(tx), str(cu), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000_000)
    ap.add_argument("--memory-limit", default="2GB", help="DuckDB memory_limit (default 2GB)")
    ap.add_argument("--dir", type=Path, default=None,
                    help="work folder, kept; its files are reused (default: a temp dir)")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    # a measurement in a fresh process: KIND TRANSACTIONS CUSTOMERS OUT
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, tx_file, cu_file, out_dir = args.child
        child(kind, Path(tx_file), Path(cu_file), Path(out_dir))
        return
    work = args.dir or Path(tempfile.mkdtemp(prefix="daybreak-100m-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        tx, cu = work / "transactions.parquet", work / "customers.parquet"
        if not (args.dir and tx.is_file() and cu.is_file()):  # --dir: made once, reused
            generate(work, args.rows)
        gen = time.perf_counter() - t0
        size = tx.stat().st_size / 2**30
        print(f"{args.rows:,} transactions ready in {gen:.0f} s ({size:.1f} GiB Parquet)")
        env = {"DAYBREAK_DUCKDB_MEMORY_LIMIT": args.memory_limit,
               "DAYBREAK_DUCKDB_TEMP_DIR": str(work / "spill")}  # fmt: skip
        (work / "spill").mkdir(exist_ok=True)
        base = measure("baseline", tx, cu, work / "out", env)
        scan = measure("scan", tx, cu, work / "out", env)
        print(f"memory_limit {args.memory_limit}, spill folder {work / 'spill'}")
        for name, r in (("aggregation pass", base), ("payments scan", scan)):
            print(f"  {name:17} {r['seconds']:8.1f} s  peak RSS {r['peak_mb']:7.0f} MB  "
                  f"spilled (peak) {r['spill_mb']:7.0f} MB")  # fmt: skip
        print(
            f"  ratio scan / aggregation: {scan['seconds'] / base['seconds']:.2f}; "
            f"scan {args.rows / scan['seconds'] / 1e6:.2f} M transactions/s"
        )
        print("  " + json.dumps({k: v for k, v in scan.items() if k not in ("seconds",)}))
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
