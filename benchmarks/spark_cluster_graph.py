"""Benchmark: `daybreak graph build` on a Spark standalone cluster beside DuckDB.

    .venv/bin/python benchmarks/spark_cluster_graph.py                   # ~1M transactions
    .venv/bin/python benchmarks/spark_cluster_graph.py --rows 10000000   # ~10M
    .venv/bin/python benchmarks/spark_cluster_graph.py --exact-only      # without splink
    .venv/bin/python benchmarks/spark_cluster_graph.py --world path/to/world

It generates a synthetic world of about ``--rows`` transactions once (as
``benchmarks/graph_build.py`` does, into --work), starts the test suite's cluster
(``tests/spark_cluster.py``: a master and two workers as separate JVMs on 127.0.0.1, one
1-core executor on each), then runs, each once as a whole ``daybreak graph build``
process (start-up included, as an operator sees it):

  duckdb  the default backend on this machine
  spark   ``--backend spark --spark-master spark://…``: the executors read and reduce the
          world, normalise the identifiers and run splink; networkx in the driver

and prints wall time, the peak RSS of the ``daybreak`` process (the driver's Python side;
the driver JVM is not counted) and whether both wrote the same summary (nodes, edges,
components, hubs, same-person links, issues). On a 2-core machine the two executors
share the cores with the driver and the master: the figure is what the Spark path costs
per core, not a cluster's speed.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).parent))

from graph_build import _generate  # noqa: E402 (after the path set-up)
from spark_cluster_scan import on_cluster  # noqa: E402

DAYBREAK = str(Path(sys.executable).with_name("daybreak"))
# the peak RSS of the command it runs, in kB, printed last on stderr
PEAK = "import resource,subprocess,sys;r=subprocess.run(sys.argv[1:]).returncode;" \
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,file=sys.stderr);sys.exit(r)"  # fmt: skip


def _timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of ``daybreak args``."""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, DAYBREAK, *args],
                          capture_output=True, text=True, env=env)  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"daybreak {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1e6


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--exact-only", action="store_true", help="no splink on either side")
    ap.add_argument("--executor-memory", default="1536m", help="per executor (workers have 2g)")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--world", type=Path, help="an existing world (instead of --rows)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-bench")
    args = ap.parse_args()
    world = args.world or args.work / f"graph-world-{args.rows}"
    if not (world / "transactions.parquet").exists():
        _generate(args.rows, world)
    outs = args.work / f"graph-out-{world.name}"
    print(f"world {world}; load average {_load()} on {os.cpu_count()} cores")
    common = ["graph", "build", "--world", str(world)]
    if args.exact_only:
        common.append("--exact-only")
    duck = _timed([*common, "--out", str(outs / "duckdb")])
    with on_cluster(args.executor_memory, args.shuffle_partitions) as spark_args:
        spark = _timed([*common, "--out", str(outs / "spark"), "--backend", "spark", *spark_args])
    summaries = [json.loads((outs / b / "summary.json").read_text("utf-8"))
                 for b in ("duckdb", "spark")]  # fmt: skip
    print(f"{summaries[0]['edges']:,} edges, {summaries[0]['nodes']:,} nodes, "
          f"{summaries[0]['same_person_links']:,} same-person links")  # fmt: skip
    print(f"{'backend':<30} {'seconds':>8} {'peak RSS GB':>12}")
    print(f"{'duckdb (this box)':<30} {duck[0]:>8.1f} {duck[1]:>12.2f}")
    print(f"{'spark (2 executors x 1 core)':<30} {spark[0]:>8.1f} {spark[1]:>12.2f}")
    print(f"spark / duckdb time: {spark[0] / duck[0]:.1f}x; "
          f"same summary: {summaries[0] == summaries[1]}")  # fmt: skip
    print(f"load average at the end {_load()}")


if __name__ == "__main__":
    main()
