"""Graph and case build on Spark (local mode): the world's tables are read and reduced
by Spark's executors, and the graph, the splink links and the cases equal DuckDB's."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.graph.loader import WorldError
from daybreak.graph.pipeline import build_cases, build_world_graph

pytestmark = pytest.mark.spark


def _graph_world() -> ModuleType:
    """The graph tests' hand-made world (people recorded twice, reports, events)."""
    path = Path(__file__).parents[1] / "graph" / "graph_world.py"
    spec = importlib.util.spec_from_file_location("graph_world", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(_graph_world().write_world(tmp_path_factory.mktemp("parquet") / "world"))


@pytest.fixture(scope="module")
def csv_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("csv") / "world"
    return Path(_graph_world().write_world(folder, fmt="csv"))


def _spark() -> Any:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkSettings, spark_session

    return spark_session(SparkSettings(conf=SMALL_DATA_CONF))


def _on_spark(world: str | Path) -> Any:
    from daybreak.engines.spark_graph import world_graph_on_spark

    return world_graph_on_spark(world, _spark())


def _edges(wg: Any) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(s, t, k): d for s, t, k, d in wg.graph.edges(keys=True, data=True)}


def _same_graph(duck: Any, spark: Any) -> None:
    assert _edges(spark) == _edges(duck)
    assert dict(spark.graph.nodes(data=True)) == dict(duck.graph.nodes(data=True))
    assert spark.links.issues.sort("source", "record_id", "field").equals(
        duck.links.issues.sort("source", "record_id", "field")
    )
    assert duck.same_person.height > 0, "the world has people recorded twice"
    assert spark.same_person.sort("source", "target").equals(
        duck.same_person.sort("source", "target")
    )


def test_graph_and_cases_from_the_world_on_spark_equal_duckdbs(java_home: str, world: Path) -> None:
    duck, spark = build_world_graph(world), _on_spark(world)
    _same_graph(duck, spark)
    alerts = _graph_world().payment_alerts()
    a = build_cases(world, alerts, world_graph=duck)
    b = build_cases(world, alerts, world_graph=spark)
    assert a, "the alerts and reports make cases"
    assert [c.model_dump() for c in b] == [c.model_dump() for c in a]
    # The payments cited by the alerts, looked up on the executors.
    ids = sorted({i for al in alerts for i in al.evidence_ids})
    assert ids
    # (DuckDB names the zone Etc/UTC, Spark UTC: the rows compare as instants)
    assert spark.records.transactions_by_id(ids).sort("txn_id").to_dicts() == (
        duck.records.transactions_by_id(ids).sort("txn_id").to_dicts()
    )


def test_the_executors_read_the_world_files(java_home: str, world: Path) -> None:
    from daybreak.engines.spark_graph import load_world

    spark = _spark()
    read = load_world(spark, world)
    # Spark's own plan: each view is a scan of the world's file (rows sent up by the
    # driver would list no input file).
    for table in ("transactions", "customers", "identifiers", "platform_events"):
        assert spark.table(table).inputFiles() == [(world / f"{table}.parquet").as_uri()]
    assert read.frames.payment_edges.height > 0


def test_identifiers_are_normalised_on_the_executors_not_here(
    java_home: str, world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.engines.spark_graph import keys_on_executors, load_world
    from daybreak.graph.resolution import resolve_exact
    from daybreak.model.identifiers import IdentifierType

    spark = _spark()
    frames = load_world(spark, world).frames
    here = resolve_exact(frames)
    assert here.issues.height > 0, "the world has values that do not normalise"

    def not_here(*_args: object) -> str:
        raise AssertionError("an identifier was normalised in this process")

    # This process's normalisation refuses; the executors' Python workers are
    # processes of their own, untouched.
    monkeypatch.setattr(IdentifierType, "node_key", not_here)
    there = resolve_exact(frames, keys_on_executors(spark))
    assert there.nodes.equals(here.nodes)
    order = ["source", "target", "relation"]
    assert there.edges.sort(order).equals(here.edges.sort(order))
    order = ["source", "record_id", "field", "value"]
    assert there.issues.sort(order).equals(here.issues.sort(order))


def test_csv_world_on_spark_equals_duckdb(java_home: str, csv_world: Path) -> None:
    _same_graph(build_world_graph(csv_world), _on_spark(csv_world))
    assert _spark().table("transactions").inputFiles() == [
        (csv_world / "transactions.csv").as_uri()
    ]


def test_bad_csv_rows_are_named_by_row_line_and_column(
    java_home: str, csv_world: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(csv_world, bad)
    file = bad / "transactions.csv"
    lines = file.read_text("utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("amount")] = "-5"
    cells[header.index("timestamp")] = "yesterday"
    lines[3] = ",".join(cells)
    lines[5] += ",extra"
    file.write_text("\n".join(lines) + "\n", "utf-8")
    with pytest.raises(WorldError) as caught:
        _on_spark(bad)
    message = str(caught.value)
    assert "row 3 (line 4), column 'amount': expected a non-negative number" in message
    assert "row 3 (line 4), column 'timestamp': expected an ISO-8601 UTC timestamp" in message
    assert "row 5 (line 6): expected the header's 13 fields" in message


def test_graph_build_cli_on_spark_reads_and_writes_uris(
    java_home: str, world: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    duck, spark = tmp_path / "duck", tmp_path / "spark"
    res = runner.invoke(app, ["graph", "build", "--world", str(world), "--out", str(duck)])
    assert res.exit_code == 0, res.output
    # On Spark: the world read from a URI, the files written by Spark under a URI.
    args = ["--world", world.as_uri(), "--out", spark.as_uri(), "--backend", "spark"]
    res = runner.invoke(app, ["graph", "build", *args])
    assert res.exit_code == 0, res.output
    for name in ("summary.json", "hubs.csv"):
        (part,) = (spark / name).glob("part-*.txt")
        assert part.read_text("utf-8") == (duck / name).read_text("utf-8"), name
    (model,) = (spark / "splink_model.json").glob("part-*.txt")
    assert json.loads(model.read_text("utf-8"))["sql_dialect"] == "spark"
    assert json.loads((duck / "summary.json").read_text("utf-8"))["same_person_links"] > 0
    key = ["source", "target", "relation"]
    (edges,) = (spark / "edges.parquet").glob("part-*.parquet")
    assert pl.read_parquet(edges).sort(key).to_dicts() == (
        pl.read_parquet(duck / "edges.parquet").sort(key).to_dicts()
    )


def test_graph_files_to_a_uri_need_the_spark_backend(world: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["graph", "build", "--world", str(world), "--out", (tmp_path / "g").as_uri()]
    )
    assert res.exit_code == 2
    assert "a URI is written by Spark (--backend spark)" in res.output


def test_a_world_uri_without_transactions_is_a_clear_error(
    java_home: str, world: Path, tmp_path: Path
) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(world / "customers.parquet", partial / "customers.parquet")
    with pytest.raises(WorldError, match=r"no transactions\.parquet or transactions\.csv"):
        _on_spark(partial.as_uri())


def test_a_world_uri_needs_the_spark_backend(world: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["graph", "build", "--world", world.as_uri(), "--out", str(tmp_path / "g")]
    )
    assert res.exit_code == 2
    assert "a URI is read by Spark (--backend spark)" in res.output


def test_names_fold_in_spark_sql_as_in_python_on_every_character(java_home: str) -> None:
    import pyarrow as pa

    from daybreak.graph.matching import normalise_name
    from daybreak.graph.people_sql import name_folding, normalised_name_sql

    fold = name_folding()
    changed = fold.single_from + fold.dropped + "".join(fold.expanded)
    # Every character of the Basic Multilingual Plane, every character the folding
    # changes anywhere, and a stride through the unchanged rest, between letters.
    points = {*range(0xD800), *range(0xE000, 0x10000), *map(ord, changed),
              *range(0x10000, 0x110000, 97)}  # fmt: skip
    names = [f"Ab{chr(cp)}cD" for cp in sorted(points)]
    names += ["GREEN, Donald", " ,x", "x, ", "Ĳsbrand ǅakić", "Nguyễn Thị Mai", "⑴ Maria",
              "José  R. Santos", None, "!!!", "İstanbul ΣΟΦΙΑ", "a\nb", "e\u0301e", "ＭＡＲＩＡ"]  # fmt: skip
    spark = _spark()
    spark.createDataFrame(pa.table({"name": names})).createOrReplaceTempView("names")
    got = spark.sql(f"SELECT {normalised_name_sql('name')} AS k FROM names").toArrow()
    want = [normalise_name(n) for n in names]
    wrong = [(n, g, w) for n, g, w in zip(names, got.column("k").to_pylist(), want, strict=True)
             if g != w]  # fmt: skip
    assert wrong == []


def test_splinks_people_table_is_made_from_the_customers_file(java_home: str, world: Path) -> None:
    from daybreak.engines.spark_graph import load_world, people_on_spark
    from daybreak.graph.matching import person_records
    from daybreak.graph.resolution import resolve_exact

    spark = _spark()
    read = load_world(spark, world)
    links = resolve_exact(read.frames)
    people = people_on_spark(spark, links)
    assert (world / "customers.parquet").as_uri() in people.inputFiles()
    got = pl.from_arrow(people.toArrow())
    assert isinstance(got, pl.DataFrame)
    want = person_records(read.frames.customers, links)
    assert got.sort("unique_id").to_dicts() == want.sort("unique_id").to_dicts()


def test_a_world_of_payments_only_on_spark_equals_duckdb(
    java_home: str, world: Path, tmp_path: Path
) -> None:
    # The tables a world may leave out (reports, identifiers, events, media) are empty.
    payments = tmp_path / "payments"
    payments.mkdir()
    for table in ("transactions", "customers"):
        shutil.copy(world / f"{table}.parquet", payments / f"{table}.parquet")
    duck, spark = build_world_graph(payments), _on_spark(payments)
    assert _edges(duck) and _edges(spark) == _edges(duck)
    assert dict(spark.graph.nodes(data=True)) == dict(duck.graph.nodes(data=True))
    assert spark.frames.reports.height == 0 and spark.frames.event_edges.height == 0
