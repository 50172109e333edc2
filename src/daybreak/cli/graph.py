"""`daybreak graph`: Build the entity graph across every source."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from daybreak.cli.common import (
    SPARK_CONF,
    SPARK_EXCHANGE,
    SPARK_MASTER,
    err,
    fail,
    out,
    spark_settings,
    spinner,
)

if TYPE_CHECKING:
    import polars as pl

    from daybreak.graph.pipeline import WorldGraph

BACKEND = typer.Option(
    "duckdb",
    "--backend",
    help="duckdb, or spark: the world read and reduced by Spark's executors (--spark-master), "
    "splink on Spark.",
)
GRAPH_OUT_HELP = (
    "Folder for the graph files; with --backend spark also a URI Spark's executors write "
    "to (file:///shared/…, s3a://…)."
)
WORLD_HELP = (
    "World folder (`daybreak synth`); with --backend spark also a URI the cluster reads "
    "(file:///shared/world, s3a://bucket/world)."
)

app = typer.Typer(help="Build the entity graph across every source.", no_args_is_help=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Expected failures become one clear line and exit code 2, never a traceback."""
    from daybreak.graph.cases import AlertError
    from daybreak.graph.files import InputFileError
    from daybreak.graph.loader import WorldError
    from daybreak.schema import SchemaError
    from daybreak.schema.results import CasesFileError
    from daybreak.sharing import ShareError

    try:
        yield
    except (WorldError, InputFileError, AlertError, ShareError, SchemaError, CasesFileError) as exc:
        fail(str(exc))


@app.command()
def build(
    world: str = typer.Option(..., "--world", "-w", help=WORLD_HELP),
    out_dir: str = typer.Option(..., "--out", "-o", help=GRAPH_OUT_HELP),
    probabilistic: bool = typer.Option(
        True, "--probabilistic/--exact-only", help="Add splink same-person links."
    ),
    backend: str = BACKEND,
    min_same_person: float = typer.Option(
        0.9, min=0.0, max=1.0, help="Match probability needed for a same_person edge."
    ),
    min_hub_payers: int = typer.Option(3, min=2, help="Unrelated foreign payers that make a hub."),
    spark_master: str | None = SPARK_MASTER,
    spark_conf: list[str] = SPARK_CONF,
    spark_exchange: str | None = SPARK_EXCHANGE,
) -> None:
    """Resolve entities and write nodes/edges (Parquet), issues.csv, match_weights.csv,
    splink_model.json, hubs.csv and summary.json to --out."""

    from daybreak.graph.files import graph_files

    if "://" in out_dir and backend != "spark":
        fail(f"--out {out_dir}: a URI is written by Spark (--backend spark)")
    with user_errors():
        with spinner() as bar:
            bar.add_task("resolving entities and building the graph")
            wg = world_graph(world, probabilistic, min_same_person, backend,
                             spark_master, spark_conf, spark_exchange)  # fmt: skip
            tables, texts = graph_files(wg.links, [wg.same_person], wg.matches)
            hubs = wg.hubs(min_hub_payers)
            sizes = wg.tables.component_sizes()
        texts["hubs.csv"] = (
            "key,payers,unrelated_payers,payments,amount,payer_countries\n"
            + "".join(
                f"{h.key},{h.payers},{h.unrelated_payers},{h.payments},{h.amount:.2f},"
                f"{h.payer_countries}\n"
                for h in hubs
            )
        )
        summary = {
            "nodes": wg.tables.n_nodes,
            "edges": wg.tables.n_edges,
            "nodes_by_kind": wg.tables.counts_by("kind", of="nodes"),
            "edges_by_relation": wg.tables.counts_by("relation", of="edges"),
            "components": len(sizes),
            "largest_component": int(sizes[0]) if len(sizes) else 0,
            "facilitator_hubs": len(hubs),
            "same_person_links": wg.same_person.height,
            "normalisation_issues": wg.links.issues.height,
        }
        texts["summary.json"] = json.dumps(summary, indent=2) + "\n"
        where = _write_graph(out_dir, tables, texts, backend, spark_master, spark_conf)
    table = Table(title=f"Entity graph of {world}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k in ("nodes", "edges", "components", "largest_component", "facilitator_hubs",
              "same_person_links", "normalisation_issues"):  # fmt: skip
        table.add_row(k.replace("_", " "), str(summary[k]))
    out.print(table)
    if wg.links.issues.height:
        err.print(
            f"{wg.links.issues.height} value(s) could not be normalised: see {where}/issues.csv"
        )
    out.print(f"Wrote {', '.join([*tables, *texts])} to {where}")


@app.command()
def sightings(
    world: str = typer.Option(..., "--world", "-w", help=WORLD_HELP),
    alerts: list[Path] = typer.Option(
        [], "--alerts", "-a", help="alerts.jsonl/.parquet of any detector (repeatable)."
    ),
    out_file: Path = typer.Option(
        ..., "--out", "-o", help="sightings.csv or .parquet, for `daybreak estimate`."
    ),
    media_matches: Path | None = typer.Option(
        None, "--media-matches", help="Media matches (sighting_id, account_id, bank, distance)."
    ),
    reports: bool = typer.Option(
        True, "--reports/--no-reports", help="Count the world's tipline reports as a list."
    ),
    probabilistic: bool = typer.Option(
        True, "--probabilistic/--exact-only", help="Use splink same-person links."
    ),
) -> None:
    """Write who each source saw: one row per resolved person and list (the detector
    of its alerts, tipline, media) with role, country and quarter, for `daybreak
    estimate SIGHTINGS --by role` (docs/estimate.md)."""
    from daybreak.graph.files import read_alerts, read_media_matches
    from daybreak.graph.pipeline import MIN_SAME_PERSON, world_sightings

    if out_file.suffix not in (".csv", ".parquet"):
        fail(f"--out {out_file}: expected a .csv or .parquet file")
    with user_errors():
        loaded = [a for p in alerts for a in read_alerts(p)]
        matches = read_media_matches(media_matches) if media_matches else []
        with spinner() as bar:
            bar.add_task(f"resolving who {len(loaded)} alert(s) saw")
            wg = world_graph(world, probabilistic, MIN_SAME_PERSON, "duckdb", None, [], None)
            frame = world_sightings(wg, loaded, media_matches=matches, include_reports=reports)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    if out_file.suffix == ".parquet":
        frame.write_parquet(out_file)
    else:
        frame.write_csv(out_file)
    people = frame["person"].n_unique()
    counts = frame.group_by("list").len().sort("list").iter_rows()
    out.print(
        f"{people} people on {frame.height} (person, list) rows: "
        + ", ".join(f"{name} {n}" for name, n in counts),
        highlight=False,
    )
    out.print(f"Wrote {out_file}; next: daybreak estimate {out_file} --by role")


def _write_graph(
    out_dir: str,
    tables: dict[str, pl.DataFrame],
    texts: dict[str, str],
    backend: str,
    spark_master: str | None,
    spark_conf: list[str],
) -> str:
    """The files in the folder ``out_dir``, or by Spark under the URI ``out_dir``."""
    if "://" in out_dir:
        from daybreak.engines.spark import spark_session
        from daybreak.engines.spark_outputs import write_by_spark

        settings = spark_settings(backend, spark_master, spark_conf, None)
        assert settings is not None  # the URI was refused without the spark backend
        write_by_spark(spark_session(settings), out_dir, tables, texts)
        return out_dir.rstrip("/")
    from daybreak.graph.files import write_files

    write_files(Path(out_dir), tables, texts)
    return str(Path(out_dir))


@app.command()
def paths(
    graph_dir: Path = typer.Option(..., "--graph", "-g", help="Folder of `graph build --out`."),
    start: str = typer.Option(..., "--from", help="Node key, e.g. report:R1 or account:kumu:x."),
    to: str | None = typer.Option(None, "--to", help="Node key; default: nearest payers."),
    max_hops: int = typer.Option(6, min=1, help="Longest path searched for payers."),
) -> None:
    """Shortest paths from a node (a reported account) to a paying customer."""
    from daybreak.graph.files import read_graph
    from daybreak.graph.tables import GraphTables, has_node, path_between, payer_paths

    with user_errors():
        nodes, edges = read_graph(graph_dir)
    # the world stays in tables; networkx gets the part the search walks
    tables = GraphTables.build(nodes, [edges])
    if not has_node(tables, start):
        fail(f"--from {start!r} is not a node of the graph in {graph_dir}")
    if to is not None:
        if not has_node(tables, to):
            fail(f"--to {to!r} is not a node of the graph in {graph_dir}")
        path = path_between(tables, start, to)
        found = [path] if path else []
    else:
        found = payer_paths(tables, start, max_hops=max_hops)
    if not found:
        out.print("No path found.")
        raise typer.Exit(1)
    for p in found:
        out.print(" -> ".join(p))


def world_graph(
    world: str,
    probabilistic: bool,
    min_same_person: float,
    backend: str,
    spark_master: str | None,
    spark_conf: list[str],
    spark_exchange: str | None,
) -> WorldGraph:
    """The world's graph, its splink matching on DuckDB or on Spark (where the Spark
    options say; the session is opened here, graph itself never opens one). On Spark the
    executors also read the world's tables and reduce them (``world`` may be a URI)."""
    from daybreak.graph.pipeline import build_world_graph

    if backend not in ("duckdb", "spark"):
        fail(f"--backend must be duckdb or spark, got {backend!r}")
    settings = spark_settings(backend, spark_master, spark_conf, spark_exchange)
    if settings is not None:
        from daybreak.engines.spark import spark_session
        from daybreak.engines.spark_graph import world_graph_on_spark

        return world_graph_on_spark(world, spark_session(settings), probabilistic=probabilistic,
                                    min_same_person=min_same_person)  # fmt: skip
    if "://" in world:
        fail(f"--world {world}: a URI is read by Spark (--backend spark)")
    return build_world_graph(
        Path(world), probabilistic=probabilistic, min_same_person=min_same_person
    )
