"""The in-place Parquet read: the wider first filter keeps exactly the relevant rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.duckdb import DuckDBEngine
from daybreak.engines.payments_inplace import (
    _currency_counts,
    _may_send_from,
    _read_relevant,
    _sender_country_ranges,
)
from daybreak.payments.config import load_pack
from payments.tiny import tiny_world


def _mixed() -> pl.DataFrame:
    """The tiny world plus the rows the wide filter reads and the exact one drops:
    domestic payments inside the Philippines and a listed merchant code on a wire."""
    tx = tiny_world()[0]
    extra = tx.head(3).with_columns(
        pl.Series("txn_id", ["X1", "X2", "X3"]),
        pl.Series("sender_country", ["PH", "PH", "AU"]),
        pl.Series("receiver_country", ["PH", "PH", "AU"]),
        pl.Series("channel", ["p2p", "card", "wire"]),
        pl.Series("merchant_category", [None, "4816", "4816"]),
    )
    return pl.concat([tx, extra])


@pytest.mark.parametrize("wide_first", [True, False])
def test_both_reads_keep_the_relevant_rows(tmp_path: Path, wide_first: bool) -> None:
    path = tmp_path / "tx.parquet"
    tx = _mixed()
    tx.write_parquet(path, row_group_size=7)
    pack = load_pack(None)
    eng = DuckDBEngine()
    try:
        got = _read_relevant(path, pack, eng, wide_first=wide_first)
    finally:
        eng.close()
    corridor = pl.col("receiver_country").is_in(list(pack.corridor_countries)) & (
        pl.col("receiver_country") != pl.col("sender_country")
    )
    listed = [code for m in (pack.mcc.vpn_software, pack.mcc.webcam_streaming,
                             pack.mcc.airlines) for code in m]  # fmt: skip
    purchase = (pl.col("channel") == "card") & pl.col("merchant_category").is_in(listed)
    expected = tx.filter(corridor | purchase)
    assert {"X1", "X3"}.isdisjoint(got["txn_id"].to_list())  # read wide, dropped exactly
    assert "X2" in got["txn_id"].to_list()  # a listed purchase, in the Philippines too
    assert got.equals(expected)


def test_statistics_decide_whether_the_wide_read_is_safe(tmp_path: Path) -> None:
    corridor = load_pack(None).corridor_countries
    eng = DuckDBEngine()
    try:
        from_home = tiny_world()[0].filter(pl.col("sender_country") == "AU")
        home = tmp_path / "home.parquet"
        from_home.write_parquet(home, row_group_size=7)
        assert not _may_send_from(_sender_country_ranges(eng, home), corridor)
        mixed = tmp_path / "mixed.parquet"
        _mixed().write_parquet(mixed, row_group_size=7)
        assert _may_send_from(_sender_country_ranges(eng, mixed), corridor)
        bare = tmp_path / "bare.parquet"
        from_home.write_parquet(bare, statistics=False)  # the same rows, undescribed
        assert _may_send_from(_sender_country_ranges(eng, bare), corridor)
    finally:
        eng.close()
    assert _may_send_from([], corridor)  # no row groups described: assume it may


def test_an_offender_who_pays_no_corridor_still_links_his_other_account(tmp_path: Path) -> None:
    """The in-place scan hands DuckDB only the customers it reads: corridor payers and
    known offenders. An offender with no corridor payment of his own is kept, so the
    account he shares a name and birth year with is still found."""
    from daybreak.engines.payments import scan, scan_frames

    tx, cu = tiny_world()
    c2 = cu.filter(pl.col("customer_id") == "C2")
    other = c2.with_columns(pl.lit("C6").alias("customer_id"), pl.lit(True).alias("known_offender"))
    cu = pl.concat([cu, other])
    tx.write_parquet(tmp_path / "tx.parquet")
    cu.write_parquet(tmp_path / "cu.parquet")
    in_place = scan(tmp_path / "tx.parquet", customers=tmp_path / "cu.parquet")
    in_memory = scan_frames(tx, cu)
    for result in (in_place, in_memory):
        linked = result.customer_scores.filter(pl.col("sender_id") == "C2")
        assert linked["linked_offender_account"].to_list() == [1]
    assert in_place.alerts_table.equals(in_memory.alerts_table)


def test_currency_counts_trust_statistics_only_for_one_value_and_no_nulls(tmp_path: Path) -> None:
    """A file in one currency is counted from its statistics; a null or a second value
    in one row group of several sends the count to the rows."""
    tx = tiny_world()[0].with_columns(pl.lit("AUD").alias("currency"))
    last = pl.int_range(pl.len()) == pl.len() - 1
    cases = {
        "one": (tx, {"AUD": tx.height}),
        "null": (
            tx.with_columns(
                pl.when(last).then(None).otherwise(pl.col("currency")).alias("currency")
            ),
            {"AUD": tx.height - 1, None: 1},
        ),
        "second": (
            tx.with_columns(
                pl.when(last).then(pl.lit("ISK")).otherwise(pl.col("currency")).alias("currency")
            ),
            {"AUD": tx.height - 1, "ISK": 1},
        ),
    }
    for name, (frame, expected) in cases.items():
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path, row_group_size=10)  # several row groups
        eng = DuckDBEngine()
        try:
            eng.register_parquet("transactions", str(path), row_numbers=False)
            assert _currency_counts(eng, path) == expected, name
        finally:
            eng.close()
