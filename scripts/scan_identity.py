"""Fingerprints of `daybreak payments scan` on a fixed set of small worlds, to show that a
refactoring or a speed change leaves every result identical.

    .venv/bin/python scripts/scan_identity.py record before.json   # on the old code
    .venv/bin/python scripts/scan_identity.py record after.json    # on the new code
    .venv/bin/python scripts/scan_identity.py compare before.json after.json

Worlds (written once under --work, reused): `daybreak synth` with the default profile,
`daybreak synth --randomize` with three seeds, and the speed benchmark's generator
(benchmarks/payments_scan.py) at 3% and 15% corridor share. Each is scanned through the
CLI on DuckDB in place (the Parquet file), on DuckDB from frames (a CSV copy of the same
transactions) and, with --spark, on Spark for the first world. Recorded per run: the
SHA-256 of alerts.jsonl and of summary.json, and a hash of the content of the two score
tables (rows sorted by subject, columns by name), so a changed feature that moves no
alert is caught too.

DuckDB sums floating-point values in parallel, in no fixed order, so two runs of the
same code can differ in a score table's last bits (measured: up to ~1e-16 relative).
`record` therefore also keeps a copy of each score table (next to the fingerprint file,
in `<target>.tables/`), and `compare` reports a table whose hash differs as
"same (floats within 1e-9)" when its rows, columns and every non-float value agree and
its floating-point values agree to a relative 1e-9; anything else is DIFFERENT.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

ROOT = Path(__file__).resolve().parent.parent
DAYBREAK = str(Path(sys.executable).with_name("daybreak"))
SYNTH_WORLDS: dict[str, list[str]] = {
    "default": ["--customers", "2000"],
    "random-1": ["--customers", "1500", "--randomize", "--seed", "1"],
    "random-2": ["--customers", "1500", "--randomize", "--seed", "2"],
    "random-3": ["--customers", "1500", "--randomize", "--seed", "3"],
}
BENCH_WORLDS = {"bench-3pct": 0.03, "bench-15pct": 0.15}
BENCH_ROWS = 300_000
SCORE_TABLES = {"customer_scores": "sender_id", "beneficiary_scores": "receiver_id"}
FLOAT_TOLERANCE = 1e-9  # relative: far above summation-order noise, far below a change


def _world(work: Path, name: str) -> Path:
    folder = work / "worlds" / name
    if (folder / "transactions.parquet").is_file():
        return folder
    if name in SYNTH_WORLDS:
        cmd = [DAYBREAK, "synth", "--out", str(folder), *SYNTH_WORLDS[name]]
        subprocess.run(cmd, check=True, capture_output=True)
    else:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from payments_scan import make_data  # type: ignore[import-not-found]

        folder.mkdir(parents=True, exist_ok=True)
        make_data(BENCH_ROWS, folder, BENCH_WORLDS[name])
    return folder


def _csv_copy(folder: Path) -> Path:
    csv = folder / "csv" / "transactions.csv"
    if not csv.is_file():
        csv.parent.mkdir(exist_ok=True)
        pl.read_parquet(folder / "transactions.parquet").write_csv(csv)
    return csv


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table_hash(path: Path, key: str) -> str:
    frame = pl.read_parquet(path)
    frame = frame.select(sorted(frame.columns)).sort(key)
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(frame.schema), default=str).encode())
    digest.update(frame.write_csv().encode())
    return digest.hexdigest()


def _scan(tx: Path, customers: Path, out: Path, engine: str, keep: Path) -> dict[str, str]:
    cmd = [DAYBREAK, "payments", "scan", "-t", str(tx), "-c", str(customers), "-o", str(out),
           "--engine", engine]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    keep.mkdir(parents=True, exist_ok=True)
    for table in SCORE_TABLES:
        shutil.copyfile(out / f"{table}.parquet", keep / f"{table}.parquet")
    return {
        "alerts.jsonl": _file_hash(out / "alerts.jsonl"),
        "summary.json": _file_hash(out / "summary.json"),
        **{t: _table_hash(out / f"{t}.parquet", key) for t, key in SCORE_TABLES.items()},
    }


def _tables_of(fingerprints: Path) -> Path:
    return fingerprints.with_name(fingerprints.name + ".tables")


def _close_enough(a: Path, b: Path, key: str) -> bool:
    """Same rows, columns and non-float values; floats within FLOAT_TOLERANCE."""
    if not (a.is_file() and b.is_file()):
        return False
    left, right = (pl.read_parquet(p) for p in (a, b))
    left, right = (f.select(sorted(f.columns)).sort(key) for f in (left, right))
    try:
        assert_frame_equal(left, right, check_exact=False, rel_tol=FLOAT_TOLERANCE, abs_tol=0)
    except AssertionError:
        return False
    return True


def record(work: Path, target: Path, spark: bool) -> None:
    runs: dict[str, dict[str, str]] = {}
    for i, name in enumerate([*SYNTH_WORLDS, *BENCH_WORLDS]):
        folder = _world(work, name)
        customers = folder / "customers.parquet"
        modes = {
            "duckdb-in-place": (folder / "transactions.parquet", "duckdb"),
            "duckdb-frames": (_csv_copy(folder), "duckdb"),
        }
        if spark and i == 0:
            modes["spark"] = (folder / "transactions.parquet", "spark")
        for mode, (tx, engine) in modes.items():
            key = f"{name}/{mode}"
            keep = _tables_of(target) / name / mode
            runs[key] = _scan(tx, customers, work / "out" / name / mode, engine, keep)
            print(key, runs[key]["alerts.jsonl"][:16], flush=True)
    target.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n", "utf-8")


def compare(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text("utf-8")), json.loads(b.read_text("utf-8"))
    differ = 0
    for run in sorted(set(left) | set(right)):
        for part in sorted(set(left.get(run, {})) | set(right.get(run, {}))):
            verdict = "same"
            if left.get(run, {}).get(part) != right.get(run, {}).get(part):
                verdict = "DIFFERENT"
                if part in SCORE_TABLES and _close_enough(
                    _tables_of(a) / run / f"{part}.parquet",
                    _tables_of(b) / run / f"{part}.parquet",
                    SCORE_TABLES[part],
                ):
                    verdict = f"same (floats within {FLOAT_TOLERANCE:g})"
            differ += verdict == "DIFFERENT"
            print(f"{verdict:9} {run} {part}")
    print("identical" if not differ else f"{differ} fingerprint(s) differ")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="scan every world and write the fingerprints")
    rec.add_argument("target", type=Path)
    rec.add_argument("--spark", action="store_true", help="also scan the first world on Spark")
    rec.add_argument("--work", type=Path, default=Path("/tmp/daybreak-scan-identity"))
    cmp = sub.add_parser("compare", help="compare two fingerprint files")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    args = ap.parse_args()
    if args.command == "record":
        record(args.work, args.target, args.spark)
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
