"""Occasional gifts to several people abroad (issue #13, look-alikes above 1%).

A gift-giver pays friends and godchildren abroad once or twice each, on occasions
(Christmas, a local holiday, a birthday): several unrelated beneficiaries, small round
sums, "gift" (indicators 3, 6 and 7 of payments-indicators.md), to people nobody else
pays. A payer of facilitators pays the same people again and again (AIC T&I 589: more
than half paid more than once), or pays once each people whom many unrelated senders
abroad pay (indicator 2). The look-alike typology reads the payments per beneficiary and
the other senders of the beneficiaries; it must not touch a payer who pays each of
several women repeatedly, one who pays shared beneficiaries once each, nor a careful
payer with one beneficiary.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import load_pack
from daybreak.payments.scan import ScanResult
from payments.failure_modes import _Rows, scored_customer

START = datetime(2026, 1, 5)
FRIENDS = (  # receiver, name, country
    ("gcash:+639170000101", "Maria Reyes", "PH"),
    ("promptpay:+66810000102", "Malee Suksawat", "TH"),
    ("nequi:+573100000103", "Valentina Gomez", "CO"),
    ("gcash:+639170000104", "Joy Bautista", "PH"),
)
HUBS = (
    ("gcash:+639170000301", "Lorna Dizon", "PH"),
    ("gcash:+639170000302", "Marites Lopez", "PH"),
    ("gcash:+639170000303", "Cherry Ramos", "PH"),
)


def _world() -> tuple[pl.DataFrame, pl.DataFrame]:
    r = _Rows("Australia/Sydney", "AU", "AUD")
    r.customer("CG001", "Peter Walker", "M", "gift_giver", 0)
    for k, (rid, name, cc) in enumerate(FRIENDS):  # Christmas for each, a birthday for two
        r.pay("CG001", "Peter Walker", datetime(2025, 12, 14 + k), 23.0, rid, name, cc,
              50.0, "remittance", "gift")  # fmt: skip
        if k % 2 == 0:
            r.pay("CG001", "Peter Walker", START + timedelta(days=40 + 30 * k), 22.5, rid,
                  name, cc, 30.0, "remittance", "birthday")  # fmt: skip
    r.customer("CO001", "Mark Young", "M", "frequent_low_value", 1)
    for k, (rid, name, cc) in enumerate(FRIENDS):  # other women, each again and again
        for j in range(4):
            r.pay("CO001", "Mark Young", START + timedelta(days=9 * j + 2 * k), 23.0,
                  rid + "9", name, cc, 50.0, "remittance", "gift")  # fmt: skip
    r.customer("CF001", "Brian Scott", "M", "frequent_low_value", 1)
    for k, (rid, name, cc) in enumerate(HUBS):  # once each, to women many others pay
        r.pay("CF001", "Brian Scott", START + timedelta(days=5 + 6 * k), 1.5, rid, name, cc,
              40.0, "crypto", "")  # fmt: skip
        for s, sname in enumerate(("Gary Lee", "Ron Clark", "Tom Baker")):
            if k == 0:
                r.customer(f"CX00{s}", sname, "M", "frequent_low_value", 1)
            for j in range(3):
                r.pay(f"CX00{s}", sname, START + timedelta(days=11 * j + 3 * k + s), 2.0,
                      rid, name, cc, 35.0, "crypto", "")  # fmt: skip
    r.customer("CC001", "Kevin King", "M", "careful_steady", 1)
    for j in range(8):
        r.pay("CC001", "Kevin King", START + timedelta(days=17 * j), 12.0,
              "gcash:+639170000201", "Rosa Cruz", "PH", 60.0, "remittance", "")  # fmt: skip
    return pl.DataFrame(r.tx), pl.DataFrame(r.customers)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    tx, cu = _world()
    return scan_frames(tx, cu)


def test_one_or_two_payments_to_each_of_several_people_is_the_gift_look_alike(
    result: ScanResult,
) -> None:
    row = scored_customer(result, "CG001")
    assert row["corridor_beneficiaries"] == 4 and row["corridor_payments"] == 6
    # 1.5 payments per beneficiary (at most 2 each) is at the foot of ramp(x, 1.5, 3)
    assert row["s__occasional_gifts_lookalike"] == pytest.approx(1.0)


def test_paying_the_same_women_again_and_again_is_not(result: ScanResult) -> None:
    row = scored_customer(result, "CO001")
    assert row["corridor_beneficiaries"] == 4 and row["corridor_payments"] == 16
    assert row["s__occasional_gifts_lookalike"] == 0.0
    assert float(row["score"]) > float(scored_customer(result, "CG001")["score"])  # type: ignore[arg-type]


def test_paying_once_each_women_whom_other_senders_pay_is_not(result: ScanResult) -> None:
    row = scored_customer(result, "CF001")
    assert row["corridor_beneficiaries"] == 3 and row["corridor_payments"] == 3
    assert row["hub_other_senders"] == 3
    assert row["s__occasional_gifts_lookalike"] == 0.0


def test_a_careful_payer_with_one_beneficiary_is_untouched(result: ScanResult) -> None:
    assert scored_customer(result, "CC001")["s__occasional_gifts_lookalike"] == 0.0


def test_the_look_alike_lowers_the_gift_givers_score() -> None:
    """Same world, pack without the typology: the gift-giver's raw score is higher."""
    pack = load_pack()
    without = pack.model_copy(
        update={"typologies": [t for t in pack.typologies if t.id != "occasional_gifts_lookalike"]}
    )
    tx, cu = _world()
    base = scan_frames(tx, cu, pack=without).customer_scores
    now = scan_frames(tx, cu, pack=pack).customer_scores
    raw = {
        name: frame.filter(pl.col("sender_id") == "CG001")["raw_score"][0]
        for name, frame in (("without", base), ("with", now))
    }
    assert raw["with"] < raw["without"]


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_occasional_gifts(java_home: str, result: ScanResult) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    tx, cu = _world()
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in result.alerts]
    for col in ("s__occasional_gifts_lookalike", "hub_other_senders", "raw_score"):
        d = result.customer_scores[col].to_list()
        s = spark.customer_scores[col].to_list()
        assert d == pytest.approx(s, rel=1e-6, abs=1e-9), col
