"""Engines execute compiled pipelines; DuckDB and Spark give the same alerts."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from daybreak.detectors.pipeline import Pipeline
from daybreak.engines import EngineError, open_engine
from daybreak.engines.payments import scan_frames
from payments.tiny import tiny_world


def test_duckdb_runs_a_pipeline_and_names_the_failing_step() -> None:
    p = Pipeline(("numbers",))
    p.add("doubled", "SELECT x * 2 AS y FROM numbers", inputs=["numbers"], materialize=True)
    p.add("total", "SELECT sum(y) AS s FROM doubled", inputs=["doubled"])
    with open_engine("duckdb") as eng:
        eng.register("numbers", pa.table({"x": [1, 2, 3]}))
        eng.run(p)
        assert eng.fetch("SELECT s FROM total").to_pylist() == [{"s": 12}]
        broken = Pipeline(("numbers",))
        broken.add("oops", "SELECT nope FROM numbers", inputs=["numbers"])
        with pytest.raises(EngineError, match="step 'oops' failed"):
            eng.run(broken)


def test_a_duckdb_scan_never_starts_a_jvm() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "from payments.tiny import tiny_world; from daybreak.engines.payments import scan_frames;"
        "tx, cu = tiny_world(); r = scan_frames(tx, cu);"
        "assert r.alerts; print('pyspark' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_alerts(java_home: str) -> None:
    tx, cu = tiny_world()
    duck = scan_frames(tx, cu, engine="duckdb")
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert duck.alerts, "the tiny world must produce alerts"
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    for col in ("corridor_payments", "unrelated_beneficiaries", "night_share", "raw_score"):
        d = duck.customer_scores[col].to_list()
        s = spark.customer_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6), col


@pytest.mark.spark
def test_spark_folds_names_like_the_python_reference(java_home: str) -> None:
    from daybreak.detectors.dialect import SparkDialect
    from daybreak.engines.spark import SMALL_DATA_CONF, spark_session
    from daybreak.payments.config import load_pack
    from daybreak.payments.names import name_tokens
    from payments.name_keys import folded_names_sql

    particles = tuple(load_pack().name_particles)
    names = ["Long Do", "DO, Phuong", "Maria do Carmo", "DAS, Divya Meena", "Jose R. Santos",
             "Nguyễn Thị Mai", "Quang Ho", "de la Cruz, Maria", "", "J.", "Srisook de la de la"]  # fmt: skip
    spark = spark_session(SMALL_DATA_CONF)
    pairs = spark.createDataFrame([(n, None) for n in names], "sn string, rn string")
    pairs.createOrReplaceTempView("pair_names")
    offenders = spark.createDataFrame([], "name string, known_offender boolean")
    offenders.createOrReplaceTempView("customers")
    sql = f"SELECT nm, k FROM ({folded_names_sql(SparkDialect())}) f"
    keys = {r["nm"]: r["k"].split() for r in spark.sql(sql).collect()}
    assert keys == {n: name_tokens(n, particles) for n in names}


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_network_words_and_peer_scores(java_home: str) -> None:
    """The graph rounds, word specificity, payroll pattern and peer ranks in both engines."""
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine
    from payments.failure_modes import small_world

    tx, cu, _ = small_world()
    duck = scan_frames(tx, cu, engine="duckdb")
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    cols = ("network_evidence", "payroll_pattern", "cover_specific_share", "peer_anomaly",
            "gap_cv", "household_share", "unrelated_families", "unnamed_share",
            "raw_score")  # fmt: skip
    for col in cols:
        d = duck.customer_scores[col].to_list()
        s = spark.customer_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6, abs=1e-9), col
    for col in ("weighted_senders", "sender_suspicion", "inbound_unnamed_share", "raw_score"):
        d = duck.beneficiary_scores[col].to_list()
        s = spark.beneficiary_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6, abs=1e-9), col
