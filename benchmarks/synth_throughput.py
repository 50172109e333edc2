"""Throughput of the synthetic world generator (`daybreak synth`).

Generates worlds of about 1 and 10 million transactions (12 months, ~17 everyday
transactions per customer and month, so 1M ≈ 5,000 customers and 10M ≈ 50,000), each in
its own process so that peak memory is measured per size, and prints side by side:
transactions/s for generation alone and for generation + writing Parquet, the ratio to
the 1 M/s target, and peak RSS.

    .venv/bin/python benchmarks/synth_throughput.py            # 1M and 10M
    .venv/bin/python benchmarks/synth_throughput.py --sizes 1000000 --no-write
    .venv/bin/python benchmarks/synth_throughput.py --sizes 630000 --randomize  # 3,000 customers
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1_000_000  # transactions per second (issue 2)
MONTHS = 12
PER_CUSTOMER_MONTH = 17.6  # everyday rate 17 plus look-alikes and payers


def _child(rows: int, write: bool, profile: str, randomize: bool) -> None:
    from daybreak.synth import generate_world, write_world

    customers = max(100, round(rows / (MONTHS * PER_CUSTOMER_MONTH)))
    wall, cpu = time.perf_counter(), time.process_time()
    if randomize:
        world = generate_world(customers, MONTHS, 1, randomize=True)
    else:
        world = generate_world(customers, MONTHS, 1, profile)
    gen_wall, gen_cpu = time.perf_counter() - wall, time.process_time() - cpu
    write_wall = 0.0
    if write:
        with tempfile.TemporaryDirectory(prefix="daybreak-synth-bench-") as tmp:
            start = time.perf_counter()
            write_world(world, Path(tmp), "parquet")
            write_wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        json.dumps(
            {
                "customers": customers,
                "transactions": world.transactions.height,
                "other_rows": sum(f.height for f in world.tables().values())
                - world.transactions.height,
                "gen_wall": gen_wall,
                "gen_cpu": gen_cpu,
                "write_wall": write_wall,
                "peak_mb": peak_mb,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="approximate transaction counts to generate (default: 1M and 10M)",
    )
    parser.add_argument("--no-write", action="store_true", help="skip writing Parquet")
    parser.add_argument("--profile", default="default", help="world profile")
    parser.add_argument(
        "--randomize", action="store_true", help="randomised worlds (seed 1) instead"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, not args.no_write, args.profile, args.randomize)
        return
    header = (
        f"{'transactions':>13} {'customers':>9} {'gen s':>7} {'gen tx/s':>11} "
        f"{'vs 1M/s':>8} {'+write s':>8} {'gen+write tx/s':>15} {'cpu s':>7} {'peak RSS':>9}"
    )
    print(header)
    for rows in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(rows), "--profile", args.profile]
        if args.no_write:
            cmd.append("--no-write")
        if args.randomize:
            cmd.append("--randomize")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rate = r["transactions"] / r["gen_wall"]
        total = r["gen_wall"] + r["write_wall"]
        both = r["transactions"] / total if args.no_write is False else float("nan")
        print(
            f"{r['transactions']:>13,} {r['customers']:>9,} {r['gen_wall']:>7.2f} "
            f"{rate:>11,.0f} {rate / TARGET:>7.2f}x {r['write_wall']:>8.2f} {both:>15,.0f} "
            f"{r['gen_cpu']:>7.2f} {r['peak_mb']:>7,.0f}MB"
        )


if __name__ == "__main__":
    main()
