"""Engines execute compiled pipelines; DuckDB and Spark give the same alerts."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from daybreak.detectors.pipeline import Pipeline
from daybreak.engines import EngineError, open_engine
from daybreak.payments.scan import scan_frames
from payments.tiny import tiny_world


def test_duckdb_runs_a_pipeline_and_names_the_failing_step() -> None:
    p = Pipeline()
    p.add("doubled", "SELECT x * 2 AS y FROM numbers", materialize=True)
    p.add("total", "SELECT sum(y) AS s FROM doubled")
    with open_engine("duckdb") as eng:
        eng.register("numbers", pa.table({"x": [1, 2, 3]}))
        eng.run(p)
        assert eng.fetch("SELECT s FROM total").to_pylist() == [{"s": 12}]
        broken = Pipeline()
        broken.add("oops", "SELECT nope FROM numbers")
        with pytest.raises(EngineError, match="step 'oops' failed"):
            eng.run(broken)


def test_a_duckdb_scan_never_starts_a_jvm() -> None:
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "from payments.tiny import tiny_world; from daybreak.payments.scan import scan_frames;"
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
