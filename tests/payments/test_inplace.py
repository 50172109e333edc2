"""The in-place Parquet read (``daybreak.engines.payments.scan`` on a Parquet file): it
keeps exactly the rows the detector reads, whichever first filter the file's statistics
allow, and counts currencies from statistics only when they are conclusive."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from daybreak.engines.payments import scan, scan_frames
from daybreak.engines.payments_inplace import ParquetInPlace
from daybreak.payments.config import load_pack
from daybreak.payments.inputs import PaymentsInputError
from daybreak.payments.scan import ScanResult
from payments.tiny import tiny_world


def _with_unread_rows(tx: pl.DataFrame) -> pl.DataFrame:
    """``tx`` plus rows the wide first filter reads and the exact one drops, each reusing
    the id of a row the detector reads (kept by mistake, one would stop the scan with a
    duplicate id): a listed merchant code on a wire and, when ``tx`` has payments sent
    from the Philippines, a domestic payment there. Plus a listed purchase by card,
    which is read."""
    read_id = tx.filter(pl.col("receiver_country") == "PH")["txn_id"][0]
    extra = tx.head(3).with_columns(
        pl.Series("txn_id", [read_id, "X2", read_id]),
        pl.Series("sender_country", ["AU", "AU", "PH"]),
        pl.Series("receiver_country", ["AU", "AU", "PH"]),
        pl.Series("channel", ["wire", "card", "p2p"]),
        pl.Series("merchant_category", ["4816", "4816", None]),
    )
    if "PH" not in tx["sender_country"].to_list():
        extra = extra.head(2)
    return pl.concat([tx, extra])


def _same_result(a: ScanResult, b: ScanResult) -> None:
    assert a.alerts_table.equals(b.alerts_table)
    # Scores to the last bits: DuckDB's parallel sums may add the same rows in another
    # order (shares differ by an ulp), which is not a different row read.
    assert_frame_equal(a.customer_scores, b.customer_scores, rel_tol=1e-12, abs_tol=1e-12)
    assert_frame_equal(a.beneficiary_scores, b.beneficiary_scores, rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize(
    ("senders", "statistics", "wide_first"),
    [
        (["AU"], True, True),  # no corridor sender: the wide read is safe
        (["AU", "GB"], False, False),  # the same kind of rows, undescribed: it may not be
        (["AU", "GB", "PH"], True, False),  # payments sent from the Philippines
    ],
)
def test_in_place_reads_keep_exactly_the_rows_the_detector_reads(
    tmp_path: Path, senders: list[str], statistics: bool, wide_first: bool
) -> None:
    tx, cu = tiny_world()
    tx = tx.filter(pl.col("sender_country").is_in(senders))
    if "PH" in senders:  # a payment from the Philippines to Australia, also scanned
        tx = pl.concat([tx, tx.head(1).with_columns(
            pl.lit("P1").alias("txn_id"), pl.lit("PH").alias("sender_country"),
            pl.lit("AU").alias("receiver_country"))])  # fmt: skip
    path = tmp_path / "tx.parquet"
    _with_unread_rows(tx).write_parquet(path, row_group_size=7, statistics=statistics)
    cu.write_parquet(tmp_path / "cu.parquet")
    pack = load_pack(None)
    with ParquetInPlace(path) as opened:
        assert opened.reads_wide_first(pack) is wide_first
    in_place = scan(path, customers=tmp_path / "cu.parquet")
    purchase = _with_unread_rows(tx).filter(pl.col("txn_id") == "X2")
    in_memory = scan_frames(pl.concat([tx, purchase]), cu)
    assert in_place.alerts_table.height > 0
    _same_result(in_place, in_memory)


def test_an_offender_who_pays_no_corridor_still_links_his_other_account(tmp_path: Path) -> None:
    """The in-place scan hands DuckDB only the customers it reads: corridor payers and
    known offenders. An offender with no corridor payment of his own is kept, so the
    account he shares a name and birth year with is still found."""
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


def test_currencies_are_counted_from_statistics_only_for_one_value_and_no_nulls(
    tmp_path: Path,
) -> None:
    """A file in one currency is counted from its statistics; a null or a second value
    in one row group of several is found in the rows (and refused)."""
    tx, cu = tiny_world()
    tx = tx.with_columns(pl.lit("AUD").alias("currency"))
    cu.write_parquet(tmp_path / "cu.parquet")
    last = pl.int_range(pl.len()) == pl.len() - 1

    def scanned(name: str, frame: pl.DataFrame) -> ScanResult:
        path = tmp_path / f"{name}.parquet"
        frame.write_parquet(path, row_group_size=10)  # several row groups
        return scan(path, customers=tmp_path / "cu.parquet")

    assert scanned("one", tx).summary["transactions"] == tx.height
    second = tx.with_columns(
        pl.when(last).then(pl.lit("ISK")).otherwise(pl.col("currency")).alias("currency")
    )
    with pytest.raises(PaymentsInputError, match=r"no exchange rate for currency ISK \(1 row"):
        scanned("second", second)
    null = tx.with_columns(pl.when(last).then(None).otherwise(pl.col("currency")).alias("currency"))
    with pytest.raises(PaymentsInputError, match=rf"row {tx.height}, column 'currency'"):
        scanned("null", null)
