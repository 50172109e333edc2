"""Related purchases (indicator 10) against the customer's own purchase rate: software
bought every month by someone who pays the corridor every few days is near a payment by
chance; credits bought only around a few payments are not. The explanation says how many
were expected there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import load_pack
from daybreak.payments.explain import render
from daybreak.payments.scan import ScanResult

T0 = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
COLUMNS = [
    "txn_id",
    "timestamp",
    "sender_id",
    "sender_name",
    "sender_country",
    "receiver_id",
    "receiver_name",
    "receiver_country",
    "amount",
    "currency",
    "channel",
    "reference",
    "merchant_category",
]


def _world() -> tuple[pl.DataFrame, pl.DataFrame]:
    rows: list[tuple[object, ...]] = []

    def add(sender: str, when: datetime, *, card: bool) -> None:
        recv, name, country, channel, mcc = (
            ("shop:stream", "StreamCo", "US", "card", "4899")
            if card
            else (f"bdo:{sender}", "Maria Reyes", "PH", "remittance", None)
        )
        txn = f"T{len(rows):05d}"
        rows.append((txn, when, sender, f"Sender {sender}", "AU", recv, name, country, 30.0))
        rows[-1] += ("AUD", channel, None, mcc)

    for sender in ("EVERYDAY", "CLUSTERED"):
        # 180 days of corridor payments: every 5 days for one, 4 in the last month for
        # the other.
        days = range(0, 181, 5) if sender == "EVERYDAY" else (150, 155, 160, 165)
        for day in days:
            add(sender, T0 + timedelta(days=day), card=False)
    for month in range(7):  # a streaming subscription all year
        add("EVERYDAY", T0 + timedelta(days=30 * month + 2), card=True)
    for day in (149, 152, 157, 161, 166):  # credits only around the payments
        add("CLUSTERED", T0 + timedelta(days=day), card=True)
    tx = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    cu = pl.DataFrame(
        {
            "customer_id": ["EVERYDAY", "CLUSTERED"],
            "name": ["Sender EVERYDAY", "Sender CLUSTERED"],
            "birth_year": [1960, 1960],
            "gender": ["M", "M"],
            "country": ["AU", "AU"],
            "timezone": ["Australia/Sydney", "Australia/Sydney"],
            "known_offender": [False, False],
        }
    )
    return tx, cu


@pytest.fixture(scope="module")
def rows() -> dict[str, dict[str, object]]:
    tx, cu = _world()
    result: ScanResult = scan_frames(tx, cu)
    return {r["sender_id"]: r for r in result.customer_scores.iter_rows(named=True)}


def test_purchases_spread_over_the_period_carry_no_evidence(
    rows: dict[str, dict[str, object]],
) -> None:
    everyday = rows["EVERYDAY"]
    assert everyday["webcam_purchases"] == 7  # every one is near a payment...
    assert everyday["related_purchases_expected"] == pytest.approx(7.0)  # ...by chance
    assert everyday["related_purchase_excess"] == pytest.approx(0.0)


def test_purchases_clustered_around_payments_do(rows: dict[str, dict[str, object]]) -> None:
    clustered = rows["CLUSTERED"]
    assert clustered["webcam_purchases"] == 5
    # Windows of 30 days around days 150..165 cover days 120..182 of the period (days
    # 0..182: the first payment to the last purchase).
    expected = 5 * 62 / 182
    assert clustered["related_purchases_expected"] == pytest.approx(expected, rel=0.02)
    assert clustered["related_purchase_excess"] == pytest.approx(5 - expected, rel=0.02)


def test_the_explanation_says_how_many_were_expected_there(
    rows: dict[str, dict[str, object]],
) -> None:
    typology = next(t for t in load_pack().typologies if t.id == "related_purchases")
    text = render(typology.explain, rows["EVERYDAY"])
    assert text.startswith("Within 30 days of corridor payments: 0 VPN/software, 7 webcam/")
    assert "; 7.00 of them (airlines counting twice) expected there" in text


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_the_purchase_baseline(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    duck = scan_frames(*_world(), engine="duckdb")
    spark = scan_frames(*_world(), engine=SparkEngine(SMALL_DATA_CONF))
    cols = ["sender_id", "webcam_purchases", "related_purchases_expected"]
    cols.append("related_purchase_excess")
    d, s = (r.customer_scores.select(cols).sort("sender_id") for r in (duck, spark))
    assert d["sender_id"].to_list() == s["sender_id"].to_list() == ["CLUSTERED", "EVERYDAY"]
    for col in cols[1:]:
        assert s[col].to_list() == pytest.approx(d[col].to_list(), abs=1e-9)
