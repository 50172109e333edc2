"""Daybreak on a real Spark cluster and on Spark Connect, run as an operator runs it.

``tests/spark_cluster.py`` starts a standalone master, two workers and a Connect server
as separate JVMs on loopback. The commands run in their own processes with
``--spark-master`` (or ``SPARK_REMOTE``), so nothing here shares the test process's
Spark session; their files must equal what DuckDB writes for the same world.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from spark_cluster import APP_CONF, SparkCluster

pytestmark = [pytest.mark.spark_cluster, pytest.mark.slow]

DAYBREAK = str(Path(sys.executable).parent / "daybreak")
SMALL = {"spark.sql.shuffle.partitions": "2", "spark.sql.codegen.wholeStage": "false"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from daybreak.synth import generate_world, write_world

    out = tmp_path_factory.mktemp("cluster-world") / "world"
    write_world(generate_world(400, 2, 11), out)
    return out


def _conf_args(conf: dict[str, str]) -> list[str]:
    return [a for k, v in conf.items() for a in ("--spark-conf", f"{k}={v}")]


def _daybreak(args: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [DAYBREAK, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", **(env or {})},
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _scan(world: Path, out: Path, *spark_args: str, env: dict[str, str] | None = None) -> Path:
    _daybreak(["payments", "scan", "-t", str(world), "-o", str(out), *spark_args], env)
    return out


def _same_scan(duck: Path, spark: Path) -> None:
    a = pl.read_parquet(duck / "alerts.parquet")
    b = pl.read_parquet(spark / "alerts.parquet")
    assert a.height > 0, "the world must produce alerts"
    assert b.to_dicts() == a.to_dicts()
    for subject in ("customer", "beneficiary"):
        d = pl.read_parquet(duck / f"{subject}_scores.parquet")
        s = pl.read_parquet(spark / f"{subject}_scores.parquet")
        assert s.columns == d.columns
        assert s.height == d.height
        for col in ("raw_score", "score"):
            assert s[col].to_list() == pytest.approx(d[col].to_list(), rel=1e-6, abs=1e-9)


@pytest.fixture(scope="module")
def duck_scan(world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _scan(world, tmp_path_factory.mktemp("duck-scan"))


def test_payments_scan_on_the_cluster_equals_duckdb(
    spark_cluster: SparkCluster, world: Path, duck_scan: Path, tmp_path: Path
) -> None:
    # Inputs and results go through a shared exchange folder (every worker mounts it:
    # here they all run on this machine), written by the driver and the executors.
    before = [spark_cluster.apps_on_worker(n) for n in (1, 2)]
    exchange = tmp_path / "exchange"
    spark = _scan(world, tmp_path / "out", "--engine", "spark",
                  "--spark-master", spark_cluster.master_url, "--spark-exchange", str(exchange),
                  *_conf_args({**APP_CONF, **SMALL}))  # fmt: skip
    _same_scan(duck_scan, spark)
    # The scan's application ran executors on both workers.
    new = [spark_cluster.apps_on_worker(n) - before[n - 1] for n in (1, 2)]
    assert new[0] and new[0] == new[1], new
    assert list(exchange.iterdir()) == [], "the run's exchange files are removed"


def test_payments_train_on_the_cluster_writes_the_model_to_a_uri(
    spark_cluster: SparkCluster, tmp_path: Path
) -> None:
    # The model folder at a URI every machine reaches (a shared mount; here one
    # machine), written through the driver's Hadoop filesystem API, file by file.
    from daybreak.payments.model import TrainedModel
    from daybreak.synth import generate_world, write_world

    world, shared = tmp_path / "world", tmp_path / "shared" / "model"
    write_world(generate_world(1000, 6, 3), world, "parquet")
    _daybreak(["payments", "train", "-t", str(world), "--labels",
               str(world / "truth" / "labels.csv"), "--out", shared.as_uri(),
               "--engine", "spark", "--spark-master", spark_cluster.master_url,
               *_conf_args({**APP_CONF, **SMALL})])  # fmt: skip
    names = {p.name for p in shared.iterdir()}
    assert {"manifest.json", "MODEL_CARD.md", "customer.pkl"} <= names
    assert all((shared / name).is_file() for name in names)
    assert "customer" in TrainedModel.load(shared).subjects  # checksums hold


def _traced(strace: str, trace: Path, args: list[str]) -> None:
    """Run ``daybreak args`` with strace writing every file open of it and its
    children (the driver JVM) to ``trace``."""
    traced = [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=open,openat,openat2",
              "-o", str(trace)]  # fmt: skip
    done = subprocess.run(
        [*traced, DAYBREAK, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _opened_by_driver(trace: Path, under: Path) -> list[str]:
    """Files (not folders) under ``under`` that the traced processes opened."""
    return [
        line
        for line in trace.read_text("utf-8", errors="replace").splitlines()
        if f'"{under}' in line and "O_DIRECTORY" not in line and "ENOENT" not in line
    ]


def test_the_executors_not_the_driver_read_the_input_files(
    spark_cluster: SparkCluster, world: Path, duck_scan: Path, tmp_path: Path
) -> None:
    # The inputs in a folder every worker reads (a shared mount; here one machine), one
    # given as a path and one as a file:// URI. strace follows the driver: this Python
    # process and the driver JVM it starts; the executors are the workers' children.
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    shared = tmp_path / "shared"
    shared.mkdir()
    for name in ("transactions.parquet", "customers.parquet"):
        shutil.copy(world / name, shared / name)
    out, trace = tmp_path / "out", tmp_path / "driver.trace"
    spark_args = ["--engine", "spark", "--spark-master", spark_cluster.master_url,
                  *_conf_args({**APP_CONF, **SMALL})]  # fmt: skip
    scan = ["payments", "scan", "-t", str(shared / "transactions.parquet"),
            "-c", (shared / "customers.parquet").as_uri(), "-o", str(out), *spark_args]  # fmt: skip
    _traced(strace, trace, scan)
    _same_scan(duck_scan, out)
    # The trace saw the driver's own file work (the results it wrote)...
    assert _opened_by_driver(trace, out), "strace did not follow the driver"
    # ...and no open of an input file: the executors read them.
    assert _opened_by_driver(trace, shared) == []


def test_payments_scan_on_spark_connect_equals_duckdb(
    spark_cluster: SparkCluster, world: Path, duck_scan: Path, tmp_path: Path
) -> None:
    # SPARK_REMOTE alone selects Connect (it used to fail at once with
    # CANNOT_CONFIGURE_SPARK_CONNECT_MASTER); data go through Spark as Arrow.
    spark = _scan(world, tmp_path / "out", "--engine", "spark", *_conf_args(SMALL),
                  env={"SPARK_REMOTE": spark_cluster.connect_url})  # fmt: skip
    _same_scan(duck_scan, spark)


def test_payments_scan_under_spark_submit_uses_its_session(
    spark_cluster: SparkCluster, world: Path, duck_scan: Path, tmp_path: Path
) -> None:
    # No --spark-master: the session spark-submit made (its master, its settings) is used.
    import daybreak.cli.main
    from spark_cluster import SPARK_HOME

    before = spark_cluster.apps_on_worker(1)
    args = [str(SPARK_HOME / "bin" / "spark-submit"), "--master", spark_cluster.master_url]
    for k, v in {**APP_CONF, **SMALL}.items():
        args += ["--conf", f"{k}={v}"]
    out = tmp_path / "out"
    scan = ["payments", "scan", "-t", str(world), "-o", str(out), "--engine", "spark"]
    env = {"SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
           "SPARK_HOME": str(SPARK_HOME)}  # fmt: skip
    done = subprocess.run(
        [*args, daybreak.cli.main.__file__, *scan],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _same_scan(duck_scan, out)
    assert spark_cluster.apps_on_worker(1) - before, "the scan ran on the cluster"


def _graph(world: Path, out: Path, *spark_args: str) -> dict[str, object]:
    _daybreak(["graph", "build", "--world", str(world), "--out", str(out), *spark_args])
    return _graph_files(out)


def _graph_files(out: Path) -> dict[str, object]:
    return {
        "summary": json.loads((out / "summary.json").read_text("utf-8")),
        "hubs": (out / "hubs.csv").read_text("utf-8"),
        "edges": pl.read_parquet(out / "edges.parquet")
        .sort("source", "target", "relation")
        .to_dicts(),
        "weights": pl.read_csv(out / "match_weights.csv").sort("unique_id_l", "unique_id_r"),
    }


def _same_graph(duck: dict[str, object], spark: dict[str, object]) -> None:
    assert spark["summary"] == duck["summary"]
    assert duck["summary"]["same_person_links"] > 0  # type: ignore[index]
    assert spark["hubs"] == duck["hubs"]
    d, s = duck["weights"], spark["weights"]
    assert isinstance(d, pl.DataFrame) and isinstance(s, pl.DataFrame)
    assert d.height > 0, "the world must have candidate pairs"
    assert s.select("unique_id_l", "unique_id_r").equals(d.select("unique_id_l", "unique_id_r"))
    assert s["match_weight"].to_list() == pytest.approx(d["match_weight"].to_list(), abs=1e-6)
    edges_d, edges_s = duck["edges"], spark["edges"]
    assert isinstance(edges_d, list) and isinstance(edges_s, list)
    assert [(e["source"], e["target"], e["relation"]) for e in edges_s] == [
        (e["source"], e["target"], e["relation"]) for e in edges_d
    ]


@pytest.fixture(scope="module")
def people_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The graph tests' hand-made world: it has people recorded twice for splink."""
    path = Path(__file__).parents[1] / "graph" / "graph_world.py"
    spec = importlib.util.spec_from_file_location("graph_world", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.write_world(tmp_path_factory.mktemp("people") / "world"))


@pytest.fixture(scope="module")
def duck_graph(people_world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return _graph(people_world, tmp_path_factory.mktemp("duck-graph"))


def test_graph_build_with_splink_on_the_cluster_equals_duckdb(
    spark_cluster: SparkCluster, people_world: Path, duck_graph: dict[str, object], tmp_path: Path
) -> None:
    spark = _graph(people_world, tmp_path / "graph", "--backend", "spark",
                   "--spark-master", spark_cluster.master_url,
                   *_conf_args({**APP_CONF, **SMALL}))  # fmt: skip
    _same_graph(duck_graph, spark)


def test_graph_build_with_splink_on_spark_connect_equals_duckdb(
    spark_cluster: SparkCluster, people_world: Path, duck_graph: dict[str, object], tmp_path: Path
) -> None:
    spark = _graph(people_world, tmp_path / "graph", "--backend", "spark",
                   "--spark-master", spark_cluster.connect_url, *_conf_args(SMALL))  # fmt: skip
    _same_graph(duck_graph, spark)


def test_graph_and_cases_on_the_cluster_read_the_world_on_the_executors(
    spark_cluster: SparkCluster, people_world: Path, duck_graph: dict[str, object], tmp_path: Path
) -> None:
    # The world in a folder every worker reads (a shared mount; here one machine), given
    # as a file:// URI. strace follows the driver (this CLI process and the driver JVM
    # it starts): it opens none of the world's files, the executors read them; the
    # graph, splink's weights and the cases equal DuckDB's.
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    shared = tmp_path / "shared"
    shutil.copytree(people_world, shared, ignore=shutil.ignore_patterns("truth"))
    out, trace = tmp_path / "graph", tmp_path / "driver.trace"
    spark_args = ["--backend", "spark", "--spark-master", spark_cluster.master_url,
                  *_conf_args({**APP_CONF, **SMALL})]  # fmt: skip
    build = ["graph", "build", "--world", shared.as_uri(), "--out", str(out), *spark_args]
    _traced(strace, trace, build)
    _same_graph(duck_graph, _graph_files(out))
    assert _opened_by_driver(trace, out), "strace did not follow the driver"
    assert _opened_by_driver(trace, shared) == []
    # cases build on the cluster: the same cases as DuckDB's, evidence looked up there
    cases = []
    for name, args in (("duck", []), ("spark", spark_args)):
        where = shared.as_uri() if args else str(shared)
        _daybreak(["cases", "build", "--world", where, "--out", str(tmp_path / name), *args])
        cases.append((tmp_path / name / "cases.jsonl").read_text("utf-8"))
    assert cases[0] and cases[1] == cases[0]
