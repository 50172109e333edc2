"""Entity resolution and graph build over synthetic worlds of ~1M and ~10M transactions.

For each size, in its own process (so peak memory is per size): DuckDB aggregates the
transactions to one row per sender->receiver pair and the platform events to account
edges; exact resolution normalises identifiers; splink scores person pairs; the graph
is made as tables (merged edges with integer node ids: ``daybreak.graph.tables``, never
the whole world in networkx); facilitator hubs and connected components run on the
tables; then cases are built from the world's payments alerts (``daybreak detect
payments``, run once beforehand, not timed) and its tipline reports, on the subgraph
the case build walks (its size is printed). Prints per-stage seconds, peak RSS, and the
10M/1M ratios measured side by side in one run.

The baseline, measured side by side in its own process just before and just after
each world's build: one plain DuckDB pass over the transactions (the sender->receiver
aggregation, the least any graph build must do). Graph build, case build and both
together are printed as multiples of the mean of the two passes (issue #15's target:
graph and case build at most 10x, with bounded memory).

    .venv/bin/python benchmarks/graph_build.py                    # 1M and 10M
    .venv/bin/python benchmarks/graph_build.py --sizes 1000000 --no-splink
    .venv/bin/python benchmarks/graph_build.py --world path/to/world   # an existing world
    .venv/bin/python benchmarks/graph_build.py --sizes 1000000 --no-cases # graph only

Worlds are generated once into --workdir (default: a folder under /tmp) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
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


def _duckdb_pass(world: Path) -> dict[str, object]:
    """The baseline: one DuckDB pass over the transactions, aggregated per pair."""
    import duckdb

    from daybreak.schema import world_file

    path = world_file(world, "transactions")
    assert path is not None, f"{world}: no transactions"
    t = time.perf_counter()
    con = duckdb.connect()
    pairs = con.sql(
        "SELECT count(*) FROM (SELECT sender_id, receiver_id, count(*) AS n, sum(amount), "
        "min(timestamp), max(timestamp) FROM read_parquet(?) GROUP BY ALL)",
        params=[str(path)],
    ).fetchall()[0][0]
    return {
        "seconds": round(time.perf_counter() - t, 3),
        "pairs": int(pairs),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _alerts_file(world: Path) -> Path:
    """The world's payments alerts, detected once (not part of what is measured)."""
    out = world / "bench-payments-alerts.jsonl"
    if not out.is_file():
        cli = Path(sys.executable).parent / "daybreak"
        subprocess.run(
            [str(cli), "detect", "payments", "--world", str(world), "--out", str(out)],
            check=True,
            capture_output=True,
        )
    return out


def _measure(world: Path, splink: bool, cases: bool) -> dict[str, object]:
    from daybreak.graph.loader import connect, load_world
    from daybreak.graph.matching import match_people, person_records, same_person_edges
    from daybreak.graph.pipeline import DuckDBRecords, WorldGraph
    from daybreak.graph.resolution import resolve_exact
    from daybreak.graph.tables import GraphTables

    stages: dict[str, float] = {}
    peaks: dict[str, float] = {}  # peak RSS (MB) at the end of each stage

    def timed(name: str, start: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - start, 3)
        peaks[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return now

    t = time.perf_counter()
    con = connect()  # as build_world_graph: DuckDB's memory capped, spilling past it
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
    tables = GraphTables.build(links.nodes, [links.edges, *extra])
    same = extra[0] if extra else links.edges.clear()
    wg = WorldGraph(tables, frames, links, None, same, DuckDBRecords(con))
    t = timed("graph_tables", t)
    hubs = wg.hubs()  # as `graph build`; the case build reads them from wg
    t = timed("facilitator_hubs", t)
    sizes = tables.component_sizes()
    t = timed("components", t)
    graph_s = sum(stages.values())
    n_cases = biggest = walked_nodes = walked_edges = 0
    if cases:
        from daybreak.graph.pipeline import build_cases
        from daybreak.model.alerts import Alert

        with _alerts_file(world).open() as f:
            alerts = [Alert.model_validate_json(line) for line in f]
        walked: list[object] = []
        subgraph = GraphTables.case_subgraph

        def counted(self: GraphTables, *args: object, **kw: object) -> object:
            g = subgraph(self, *args, **kw)  # type: ignore[arg-type]
            walked.append(g)
            return g

        GraphTables.case_subgraph = counted  # type: ignore[method-assign]
        t = time.perf_counter()
        built = build_cases(world, alerts, world_graph=wg)
        t = timed("case_build", t)
        n_cases = len(built)
        biggest = max((len(c.entity_keys) for c in built), default=0)
        walked_nodes = sum(g.number_of_nodes() for g in walked)  # type: ignore[attr-defined]
        walked_edges = sum(g.number_of_edges() for g in walked)  # type: ignore[attr-defined]
    return {
        "transactions": int(txns[0]) if txns else 0,
        "payment_pairs": frames.payment_edges.height,
        "nodes": tables.n_nodes,
        "edges": tables.n_edges,
        "splink_pairs": pairs,
        "hubs": len(hubs),
        "components": len(sizes),
        "cases": n_cases,
        "largest_case_entities": biggest,
        "case_subgraph_nodes": walked_nodes,
        "case_subgraph_edges": walked_edges,
        "stages_s": stages,
        "peak_after_mb": peaks,
        "graph_s": round(graph_s, 3),
        "case_build_s": stages.get("case_build", 0.0),
        "total_s": round(sum(stages.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    ap.add_argument("--no-cases", action="store_true", help="measure the graph build only")
    ap.add_argument("--duckdb-pass", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--generate-only", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.generate_only:
        _generate(a.generate_only, a.workdir / f"world-{a.generate_only}")
        print("{}")
        return
    if a.measure:
        print(json.dumps(_measure(a.measure, not a.no_splink, not a.no_cases)))
        return
    if a.duckdb_pass:
        print(json.dumps(_duckdb_pass(a.duckdb_pass)))
        return
    flags = ["--no-splink"] * a.no_splink + ["--no-cases"] * a.no_cases
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
    print(f"load average before: {_load()}", flush=True)
    for label, path in worlds:
        print(f"measuring {label} ...", flush=True)
        before = json.loads(_run_child(["--duckdb-pass", str(path)]))
        found = json.loads(_run_child(["--measure", str(path), *flags]))
        after = json.loads(_run_child(["--duckdb-pass", str(path)]))
        # The pass just before and just after the build: the load of a shared machine
        # moves while the build runs, and their mean is what the build is divided by.
        pass_s = (before["seconds"] + after["seconds"]) / 2
        found["duckdb_pass_before_s"] = before["seconds"]
        found["duckdb_pass_after_s"] = after["seconds"]
        found["duckdb_pass_s"] = round(pass_s, 3)
        found["duckdb_pass_rss_mb"] = max(before["peak_rss_mb"], after["peak_rss_mb"])
        found["graph_x_duckdb"] = round(float(found["graph_s"]) / pass_s, 2)
        found["cases_x_duckdb"] = round(float(found["case_build_s"]) / pass_s, 2)
        both = float(found["graph_s"]) + float(found["case_build_s"])
        found["both_x_duckdb"] = round(both / pass_s, 2)
        results.append((label, found))
    print(f"load average after: {_load()}")
    stage_names = list(results[0][1]["stages_s"])  # type: ignore[call-overload]
    header = f"{'':40}" + "".join(f"{label:>16}" for label, _ in results)
    if len(results) > 1:
        header += f"{'ratio last/first':>18}"
    print(header)

    def row(name: str, values: list[float]) -> None:
        line = f"{name:40}" + "".join(f"{v:>16,.2f}" for v in values)
        if len(values) > 1 and values[0]:
            line += f"{values[-1] / values[0]:>18.2f}"
        print(line)

    counts = (
        "transactions", "payment_pairs", "nodes", "edges", "splink_pairs", "hubs", "components",
        "cases", "case_subgraph_nodes", "case_subgraph_edges",
    )  # fmt: skip
    for key in (*counts, "largest_case_entities"):
        row(key, [float(r[key]) for _, r in results])  # type: ignore[arg-type]
    for stage in stage_names:
        row(f"{stage} (s)", [float(r["stages_s"][stage]) for _, r in results])  # type: ignore[index]
    row("total (s)", [float(r["total_s"]) for _, r in results])  # type: ignore[arg-type]
    for stage in stage_names:
        row(
            f"peak RSS after {stage[:22]} (MB)",
            [float(r["peak_after_mb"][stage]) for _, r in results],
        )  # type: ignore[index]
    row("peak RSS (MB)", [float(r["peak_rss_mb"]) for _, r in results])  # type: ignore[arg-type]
    print("side by side with one DuckDB pass over the transactions (target: <= 10x):")
    for key, name in (
        ("duckdb_pass_before_s", "duckdb pass just before (s)"),
        ("duckdb_pass_after_s", "duckdb pass just after (s)"),
        ("duckdb_pass_s", "duckdb pass, mean (s)"),
        ("duckdb_pass_rss_mb", "duckdb pass RSS (MB)"),
        ("graph_s", "graph build (s)"),
        ("graph_x_duckdb", "graph build / duckdb pass"),
        ("case_build_s", "case build (s)"),
        ("cases_x_duckdb", "case build / duckdb pass"),
        ("both_x_duckdb", "graph + case build / duckdb pass"),
    ):
        row(name, [float(r[key]) for _, r in results])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
