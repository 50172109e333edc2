"""Which transactions an alert cites: the compiled evidence step on its own, on DuckDB
and Spark (``compile_evidence``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from daybreak.detectors.engine import Engine
from daybreak.engines import open_engine
from daybreak.payments.compiler import MAX_EVIDENCE, compile_evidence

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _payments() -> pl.DataFrame:
    """Customer "X1" makes 70 payments to "X1" the beneficiary (the same id for two
    subjects of different types), every fourth to an unrelated person at night; "C2"
    pays "B2" twice at the same instant (ties broken by id)."""
    rows = []
    for i in range(70):
        odd = i % 4 == 0
        rows.append(("X1", "X1", f"P{i:03d}", T0 + timedelta(hours=i), 0 if odd else 1,
                     int(odd), 0, i % 2))  # fmt: skip
    rows += [("C2", "B2", "Q2", T0, 0, 0, 0, 0), ("C2", "B2", "Q1", T0, 0, 0, 0, 0)]
    return pl.DataFrame(
        rows,
        schema=["sender_id", "receiver_id", "txn_id", "ts", "related", "night", "cover",
                "low_value"],
        orient="row",
    )  # fmt: skip


def _expected(payments: pl.DataFrame, key: str, subject: str) -> list[str]:
    """The plain definition: the subject's payments, most telling first (unrelated, then
    night, cover word, low value), then by time and id; at most MAX_EVIDENCE."""
    prio = (
        (1 - pl.col("related")) * 8
        + pl.col("night") * 2
        + pl.col("cover") * 2
        + pl.col("low_value")
    )
    own = payments.filter(pl.col(key) == subject).with_columns(prio.alias("prio"))
    top = own.sort(["prio", "ts", "txn_id"], descending=[True, False, False]).head(MAX_EVIDENCE)
    return sorted(top["txn_id"].to_list())


def _evidence(eng: Engine) -> dict[tuple[str, str], list[str]]:
    payments = _payments()
    purchases = pl.DataFrame(
        {"sender_id": ["C2"], "txn_id": ["V1"], "ts": [T0 + timedelta(days=1)]}
    )
    alerted = pl.DataFrame(
        {"subject_type": ["customer", "beneficiary", "customer"], "subject_id": ["X1", "X1", "C2"]}
    )
    compat = pl.CompatLevel.oldest()
    eng.register("payments_with_ties", payments.to_arrow(compat_level=compat))
    eng.register("related_purchases", purchases.to_arrow(compat_level=compat))
    eng.register("alerted", alerted.to_arrow(compat_level=compat))
    eng.run(compile_evidence(eng.dialect))
    rows = pl.from_arrow(eng.fetch("SELECT * FROM evidence_rows"))
    assert isinstance(rows, pl.DataFrame)
    out: dict[tuple[str, str], list[str]] = {}
    for st, sid, txn in rows.select("subject_type", "subject_id", "txn_id").iter_rows():
        out.setdefault((st, sid), []).append(txn)
    return {k: sorted(v) for k, v in out.items()}


def test_each_subject_cites_its_most_telling_payments() -> None:
    payments = _payments()
    with open_engine("duckdb") as eng:
        got = _evidence(eng)
    assert got[("customer", "X1")] == _expected(payments, "sender_id", "X1")
    assert got[("beneficiary", "X1")] == _expected(payments, "receiver_id", "X1")
    assert len(got[("customer", "X1")]) == MAX_EVIDENCE
    # all 18 unrelated payments are cited before any related one
    assert {f"P{i:03d}" for i in range(0, 70, 4)} <= set(got[("customer", "X1")])
    assert got[("customer", "C2")] == ["Q1", "Q2", "V1"]  # payments and the purchase
    assert got[("beneficiary", "X1")] == got[("customer", "X1")]  # the same payments


@pytest.mark.spark
def test_duckdb_and_spark_cite_the_same_evidence(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    with open_engine("duckdb") as duck:
        expected = _evidence(duck)
    spark = SparkEngine(SMALL_DATA_CONF)
    try:
        assert _evidence(spark) == expected
    finally:
        spark.close()
