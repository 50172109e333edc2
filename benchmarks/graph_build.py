"""Entity resolution and graph build over synthetic worlds of ~1M and ~10M transactions.

For each size, in its own process (so peak memory is per size): DuckDB aggregates the
transactions to one row per sender->receiver pair and the platform events to account
edges; exact resolution normalises identifiers; splink scores person pairs; networkx
builds the graph (aggregated edges only, never one edge per payment); facilitator hubs
and connected components run on it. Prints per-stage seconds, peak RSS, and the
10M/1M ratios measured side by side in one run.

    .venv/bin/python benchmarks/graph_build.py                    # 1M and 10M
    .venv/bin/python benchmarks/graph_build.py --sizes 1000000 --no-splink
    .venv/bin/python benchmarks/graph_build.py --world path/to/world   # an existing world

Worlds are generated once into --workdir (default: a folder under /tmp) and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

MONTHS = 12
PER_CUSTOMER_MONTH = 17.6  # as benchmarks/synth_throughput.py


def _generate(rows: int, out: Path) -> None:
    from daybreak.synth import generate_world, write_world

    customers = max(100, round(rows / (MONTHS * PER_CUSTOMER_MONTH)))
    write_world(generate_world(customers, MONTHS, 1), out, "parquet")


def _measure(world: Path, splink: bool) -> dict[str, object]:
    import duckdb

    from daybreak.graph.analytics import connected_components, facilitator_hubs
    from daybreak.graph.build import build_graph
    from daybreak.graph.loader import load_world
    from daybreak.graph.matching import match_people, person_records, same_person_edges
    from daybreak.graph.resolution import resolve_exact

    stages: dict[str, float] = {}

    def timed(name: str, start: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - start, 3)
        return now

    t = time.perf_counter()
    con = duckdb.connect()
    frames = load_world(world, con)
    t = timed("load_and_aggregate_duckdb", t)
    txns = con.sql("SELECT count(*) FROM transactions").fetchall()[0]
    links = resolve_exact(frames)
    t = timed("exact_resolution", t)
    extra = []
    pairs = 0
    if splink:
        people = person_records(frames.customers, links)
        matches = match_people(people)
        pairs = matches.pairs.height
        extra.append(same_person_edges(matches))
        t = timed("splink_matching", t)
    # As build_world_graph: payments to shops and ATMs were left out in DuckDB.
    g = build_graph(links.nodes, [links.edges, *extra])
    t = timed("networkx_build", t)
    hubs = facilitator_hubs(g)
    t = timed("facilitator_hubs", t)
    comps = connected_components(g)
    t = timed("components", t)
    return {
        "transactions": int(txns[0]) if txns else 0,
        "payment_pairs": frames.payment_edges.height,
        "nodes": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "splink_pairs": pairs,
        "hubs": len(hubs),
        "components": len(comps),
        "stages_s": stages,
        "total_s": round(sum(stages.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _run_child(args: list[str]) -> str:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes", default="1000000,10000000", help="comma-separated transaction counts"
    )
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/daybreak-graph-bench"))
    ap.add_argument("--world", type=Path, help="measure this world only")
    ap.add_argument("--no-splink", action="store_true", help="skip probabilistic matching")
    ap.add_argument("--generate-only", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.generate_only:
        _generate(a.generate_only, a.workdir / f"world-{a.generate_only}")
        print("{}")
        return
    if a.measure:
        print(json.dumps(_measure(a.measure, not a.no_splink)))
        return
    flags = ["--no-splink"] if a.no_splink else []
    worlds: list[tuple[str, Path]] = []
    if a.world:
        worlds.append((a.world.name, a.world))
    else:
        for size in (int(s) for s in a.sizes.split(",")):
            path = a.workdir / f"world-{size}"
            if not (path / "transactions.parquet").is_file():
                print(f"generating a ~{size:,}-transaction world in {path} ...", flush=True)
                _run_child(["--generate-only", str(size), "--workdir", str(a.workdir)])
            worlds.append((f"{size:,}", path))
    results = []
    for label, path in worlds:
        print(f"measuring {label} ...", flush=True)
        results.append((label, json.loads(_run_child(["--measure", str(path), *flags]))))
    stage_names = list(results[0][1]["stages_s"])  # type: ignore[call-overload]
    header = f"{'':28}" + "".join(f"{label:>16}" for label, _ in results)
    if len(results) > 1:
        header += f"{'ratio last/first':>18}"
    print(header)

    def row(name: str, values: list[float]) -> None:
        line = f"{name:28}" + "".join(f"{v:>16,.2f}" for v in values)
        if len(values) > 1 and values[0]:
            line += f"{values[-1] / values[0]:>18.2f}"
        print(line)

    for key in ("transactions", "payment_pairs", "nodes", "edges", "splink_pairs", "hubs"):
        row(key, [float(r[key]) for _, r in results])  # type: ignore[arg-type]
    for stage in stage_names:
        row(f"{stage} (s)", [float(r["stages_s"][stage]) for _, r in results])  # type: ignore[index]
    row("total (s)", [float(r["total_s"]) for _, r in results])  # type: ignore[arg-type]
    row("peak RSS (MB)", [float(r["peak_rss_mb"]) for _, r in results])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
