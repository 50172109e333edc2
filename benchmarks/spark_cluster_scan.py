"""Benchmark: the payments scan on a Spark standalone cluster beside DuckDB on one box.

    .venv/bin/python benchmarks/spark_cluster_scan.py                 # 10M transactions
    .venv/bin/python benchmarks/spark_cluster_scan.py --rows 1000000  # quicker

It starts the test suite's cluster (``tests/spark_cluster.py``: a master and two workers
as separate JVMs on 127.0.0.1, one 1-core executor on each), writes the synthetic
transactions of ``benchmarks/payments_scan.py`` once, then runs, each once as a whole
``daybreak payments scan`` process (start-up included, as an operator sees it):

  duckdb  the default engine on this machine (the in-place Parquet path)
  spark   ``--engine spark --spark-master spark://…``: the executors read the Parquet
          where it lies and run the compiled SQL; alerts and scores come back through Spark

and prints wall time, transactions per second and whether both found the same alerts.
On a 2-core machine the cluster's two executors share the cores with the driver and
the master: the figure is a per-core rate of the Spark path, not a cluster's speed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).parent))

from payments_scan import make_data  # noqa: E402 (after the path set-up)
from spark_cluster import APP_CONF, SparkCluster  # noqa: E402

DAYBREAK = str(Path(sys.executable).with_name("daybreak"))


def _timed(args: list[str]) -> float:
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    t0 = time.perf_counter()
    done = subprocess.run([DAYBREAK, *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"daybreak {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - t0


@contextmanager
def on_cluster(executor_memory: str, shuffle_partitions: int) -> Iterator[list[str]]:
    """The test suite's standalone cluster (no Connect server), started for the block;
    yields the ``--spark-master``/``--spark-conf`` arguments of a command run on it."""
    with tempfile.TemporaryDirectory(prefix="spark-cluster-") as root:
        cluster = SparkCluster(Path(root))
        try:
            cluster.start(connect=False)
            conf = {**APP_CONF, "spark.executor.memory": executor_memory,
                    "spark.sql.shuffle.partitions": str(shuffle_partitions),
                    "spark.driver.memory": "2g"}  # fmt: skip
            spark_args = ["--spark-master", cluster.master_url]
            spark_args += [a for k, v in conf.items() for a in ("--spark-conf", f"{k}={v}")]
            yield spark_args
        finally:
            cluster.stop()


def _alerted(out: Path) -> list[tuple[str, str]]:
    alerts = pl.read_parquet(out / "alerts.parquet")
    return sorted(zip(alerts["subject_type"], alerts["subject_id"], strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--executor-memory", default="1536m", help="per executor (workers have 2g)")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-bench")
    args = ap.parse_args()
    folder = args.work / f"n{args.rows}-c0.03"
    folder.mkdir(parents=True, exist_ok=True)
    tx, cu = make_data(args.rows, folder)
    print(f"{args.rows:,} transactions; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")  # fmt: skip
    common = ["payments", "scan", "-t", str(tx), "-c", str(cu)]
    duck_s = _timed([*common, "-o", str(folder / "out-duckdb")])
    with on_cluster(args.executor_memory, args.shuffle_partitions) as spark_args:
        spark_args = ["--engine", "spark", *spark_args]
        spark_s = _timed([*common, "-o", str(folder / "out-spark"), *spark_args])
    same = _alerted(folder / "out-duckdb") == _alerted(folder / "out-spark")
    print(f"{'engine':<28} {'seconds':>8} {'tx/s':>12}")
    print(f"{'duckdb (this box)':<28} {duck_s:>8.1f} {args.rows / duck_s:>12,.0f}")
    print(f"{'spark (2 executors x 1 core)':<28} {spark_s:>8.1f} {args.rows / spark_s:>12,.0f}")
    print(f"spark / duckdb time: {spark_s / duck_s:.1f}x; same alerted subjects: {same}")
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
