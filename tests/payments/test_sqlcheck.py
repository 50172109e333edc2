"""Whole-file column checks that read Parquet statistics instead of rows."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from daybreak.payments.sqlcheck import columns_failing
from payments.tiny import tiny_world

COLUMNS = ("sender_country", "receiver_country", "channel", "currency")


def _failing(frame: pl.DataFrame, path: Path, *, statistics: bool = True) -> list[str]:
    frame.write_parquet(path, row_group_size=10)  # several row groups
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    return columns_failing(con, "t", "transactions", COLUMNS, path if statistics else None)


def _one_currency() -> pl.DataFrame:
    return tiny_world()[0].with_columns(pl.lit("AUD").alias("currency"))


def test_one_value_columns_are_judged_by_that_value(tmp_path: Path) -> None:
    tx = _one_currency()  # one currency: settled by the statistics
    assert _failing(tx, tmp_path / "ok.parquet") == []
    bad = tx.with_columns(pl.lit("AUDX").alias("currency"), pl.lit("au").alias("sender_country"))
    assert _failing(bad, tmp_path / "bad.parquet") == ["sender_country", "currency"]
    assert _failing(bad, tmp_path / "rows.parquet", statistics=False) == [
        "sender_country",
        "currency",
    ]


def test_statistics_do_not_hide_nulls_or_a_second_value(tmp_path: Path) -> None:
    tx = _one_currency()
    last = pl.int_range(pl.len()) == pl.len() - 1
    one_null = tx.with_columns(
        pl.when(last).then(None).otherwise(pl.col("currency")).alias("currency")
    )
    assert _failing(one_null, tmp_path / "null.parquet") == ["currency"]
    # a bad value in one row group only: the bounds differ, so the rows are read
    other = tx.with_columns(
        pl.when(last).then(pl.lit("ZZZ")).otherwise(pl.col("currency")).alias("currency")
    )
    assert _failing(other, tmp_path / "other.parquet") == ["currency"]
