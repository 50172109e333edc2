"""Households abroad and beneficiaries with no name (issue #13, worst-case work).

A customer supporting a spouse's family abroad pays several people who share a family
name with each other but not with him: that is one household, not several unrelated
beneficiaries. Two accounts under one given name are one person, not a household; two
members of one family paid within minutes on the same days are a split payment, not
support. Small payments to a wallet that names no beneficiary are evidence of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import load_pack
from daybreak.payments.explain import render
from daybreak.payments.scan import ScanResult
from payments.failure_modes import _Rows, scored_customer

START = datetime(2026, 1, 5)


def _world() -> tuple[pl.DataFrame, pl.DataFrame]:
    r = _Rows("Australia/Sydney", "AU", "AUD")
    r.customer("CI001", "Peter Walker", "M", "in_law_remitter", 0)
    for k in range(6):  # the mother-in-law after payday, her children now and then
        r.pay("CI001", "Peter Walker", START + timedelta(days=30 * k + 1), 19.5,
              "gcash:+639170000001", "Maria Santos", "PH", 150.0, "remittance", "family")  # fmt: skip
    for k, (rid, name) in enumerate((("gcash:+639170000002", "SANTOS, Joy"),
                                     ("gcash:+639170000003", "Grace Cruz Santos"))):  # fmt: skip
        for j in range(2):
            r.pay("CI001", "Peter Walker", START + timedelta(days=40 * j + 11 * k + 9), 20.0,
                  rid, name, "PH", 60.0, "remittance", "")  # fmt: skip
    r.customer("CA001", "Paul Harris", "M", "alias", 0)
    for k, (rid, name) in enumerate((("gcash:+639170000011", "Rhea Reyes"),
                                     ("bpi:1234567", "Rhea Bautista Reyes"))):  # fmt: skip
        for j in range(3):
            r.pay("CA001", "Paul Harris", START + timedelta(days=20 * j + 7 * k), 14.0,
                  rid, name, "PH", 40.0, "wallet", "")  # fmt: skip
    r.customer("CS001", "Mark Young", "M", "careful_split_wallets", 1)
    for j in range(5):  # each payment split over two wallets of one family, minutes apart
        day = START + timedelta(days=12 * j + 3)
        r.pay("CS001", "Mark Young", day, 13.0, "gcash:+639170000021", "Rosa Cruz", "PH",
              45.0, "wallet", "")  # fmt: skip
        r.pay("CS001", "Mark Young", day, 13.1, "gcash:+639170000022", "Angel Cruz", "PH",
              40.0, "wallet", "")  # fmt: skip
    for i in range(2):
        cid = f"CW00{i + 1}"
        r.customer(cid, f"Kevin {['King', 'Hill'][i]}", "M", "careful_crypto", 1)
        for j in range(6):
            r.pay(cid, f"Kevin {['King', 'Hill'][i]}", START + timedelta(days=17 * j + 5 * i),
                  11.0, "usdt:TQmA1bcdefghijkLmnopq", None, "PH", 55.0 + j, "crypto", "")  # type: ignore[arg-type]  # fmt: skip
    tx = pl.DataFrame(r.tx)
    return tx, pl.DataFrame(r.customers)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    tx, cu = _world()
    return scan_frames(tx, cu)


def test_a_spouses_family_is_one_household_not_several_strangers(result: ScanResult) -> None:
    row = scored_customer(result, "CI001")
    assert row["unrelated_beneficiaries"] == 3
    assert row["household_share"] == 1.0 and row["unrelated_families"] == 1
    assert row["s__multiple_unrelated_beneficiaries"] == 0
    assert row["s__household_abroad"] == 1.0


def test_two_accounts_under_one_given_name_are_one_person_not_a_household(
    result: ScanResult,
) -> None:
    row = scored_customer(result, "CA001")
    assert row["household_share"] == 0.0 and row["unrelated_families"] == 2


def test_a_split_payment_over_one_family_keeps_both_beneficiaries(result: ScanResult) -> None:
    row = scored_customer(result, "CS001")
    assert row["household_share"] == 1.0 and row["run_share"] == 1.0
    assert row["unrelated_families"] == 2 and row["s__household_abroad"] == 0


def test_small_payments_to_a_wallet_with_no_name_are_evidence(result: ScanResult) -> None:
    for cid in ("CW001", "CW002"):
        row = scored_customer(result, cid)
        assert row["unnamed_share"] == 1.0  # crypto's channel risk is 1.0 in the pack
        assert row["s__unnamed_beneficiary"] == 1.0
    named = scored_customer(result, "CA001")
    assert named["unnamed_share"] == 0.0 and named["s__unnamed_beneficiary"] == 0.0
    wallet = result.beneficiary_scores.filter(pl.col("receiver_id") == "usdt:TQmA1bcdefghijkLmnopq")
    assert wallet["inbound_unnamed_share"].to_list() == [1.0]
    assert wallet["s__inbound_unnamed"].to_list() == [1.0]


def test_the_explanation_names_the_unnamed_wallets(result: ScanResult) -> None:
    alerts = {a.subject_id: a for a in result.alerts}
    wallet = alerts.get("usdt:TQmA1bcdefghijkLmnopq")
    assert wallet is not None, sorted(alerts)
    assert "inbound_unnamed" in wallet.typologies
    assert "of inbound payments (weighted by channel risk) name no beneficiary" in (
        wallet.explanation
    )


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_households_and_unnamed_wallets(
    java_home: str, result: ScanResult
) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    tx, cu = _world()
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in result.alerts]
    for col in ("household_share", "unrelated_families", "unnamed_share", "raw_score"):
        d = result.customer_scores[col].to_list()
        s = spark.customer_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6, abs=1e-9), col
    for col in ("inbound_unnamed_share", "raw_score"):
        d = result.beneficiary_scores[col].to_list()
        s = spark.beneficiary_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6, abs=1e-9), col


def test_the_explanation_counts_a_household_once() -> None:
    t = next(t for t in load_pack().typologies if t.id == "multiple_unrelated_beneficiaries")
    text = render(t.explain, {"unrelated_beneficiaries": 3, "unrelated_families": 1.0})
    assert text == (
        "Paid 3 beneficiaries who share no surname with the sender (households counted once: 1)."
    )
