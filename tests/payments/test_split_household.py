"""A sole sender who splits each payment over two wallets of one family abroad is tied
to both (issue #13, `shifted` worlds of the 9951 and 9971 sets): a careful payer splitting
over the facilitator's wallet and a relative's, minutes apart, pays two people who share a
family name with each other, a household by name, and until this change neither wallet
was scored when he was their only sender, although he was alerted. A customer who pays
the same family on separate occasions supports a household: his payees stay untied.

Both customers below pay two members of the Cruz family in the Philippines ten times, in
the afternoon, AUD 30-45 each; one pays both on the same day, minutes apart (``run_share``
1.0: alerted, though below the propagation threshold), the other one on alternate days
(``run_share`` 0.0: not alerted). Before the change the split payer's wallets were never
scored."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.engines.payments_realtime import scan_with_context
from daybreak.payments.config import load_pack
from daybreak.payments.realtime_features import first_stage
from daybreak.payments.realtime_graph import Entities
from daybreak.payments.scan import ScanResult
from payments.failure_modes import _Rows, scored_customer
from payments.test_realtime_features import (
    _beneficiary_rows,
    _by_sender,
    _context,
    _differences,
    _index,
)

START = datetime(2026, 1, 5)
SPLITS, SUPPORTS = "CS002", "CH002"
SPLIT_WALLETS = [("gcash:+639170000031", "Rosa Cruz"), ("gcash:+639170000032", "Angel Cruz")]
FAMILY = [("gcash:+639170000041", "Joy Cruz"), ("gcash:+639170000042", "Lorna Cruz")]
GAPS = (3, 11, 5, 14, 4, 9, 2, 16, 6, 8)  # irregular, as shows are arranged


def _world() -> tuple[pl.DataFrame, pl.DataFrame]:
    r = _Rows("Australia/Sydney", "AU", "AUD")
    r.customer(SPLITS, "Mark Young", "M", "careful_split_wallets", 1)
    r.customer(SUPPORTS, "Neil Young", "M", "household", 0)
    day = START
    for k, gap in enumerate(GAPS):
        day += timedelta(days=gap)
        for j, (rid, name) in enumerate(SPLIT_WALLETS):  # minutes apart, the same night
            r.pay(SPLITS, "Mark Young", day, 14.0 + 0.1 * j, rid, name, "PH", 30.0 + j * 5 + k,
                  "wallet", "")  # fmt: skip
        for j, (rid, name) in enumerate(FAMILY):  # the same sums, on separate days
            r.pay(SUPPORTS, "Neil Young", day + timedelta(days=j), 14.0, rid, name, "PH",
                  30.0 + j * 5 + k, "wallet", "")  # fmt: skip
    return pl.DataFrame(r.tx), pl.DataFrame(r.customers)


@pytest.fixture(scope="module")
def result() -> ScanResult:
    tx, cu = _world()
    return scan_frames(tx, cu)


def _beneficiaries(result: ScanResult) -> dict[str, dict[str, object]]:
    return {r["receiver_id"]: r for r in result.beneficiary_scores.to_dicts()}


def test_a_split_payers_household_wallets_are_tied_to_him(result: ScanResult) -> None:
    payer = scored_customer(result, SPLITS)
    assert payer["household_share"] == 1.0 and payer["run_share"] == 1.0
    alerted = {a.subject_id: a.score for a in result.alerts}
    assert SPLITS in alerted, scored_customer(result, SPLITS)["score"]
    bene = _beneficiaries(result)
    for rid, _ in SPLIT_WALLETS:
        assert rid in bene, f"{rid} was not scored"
        assert bene[rid]["sole_sender"] == SPLITS and bene[rid]["sole_sender_tie"] == 1.0
        # alerted, and no higher than the one customer who pays her (the sole-sender cap)
        assert rid in alerted and alerted[rid] <= alerted[SPLITS] + 1e-9


def test_a_household_paid_on_separate_days_stays_untied(result: ScanResult) -> None:
    supporter = scored_customer(result, SUPPORTS)
    assert supporter["household_share"] == 1.0 and supporter["run_share"] == 0.0
    bene = _beneficiaries(result)
    for rid, _ in FAMILY:
        assert rid not in bene or bene[rid]["sole_sender_tie"] == 0.0


def test_the_real_time_scorer_ties_them_as_the_scan_does() -> None:
    tx, cu = _world()
    pack = load_pack()
    batch, pinned = scan_with_context(tx, cu, pack=pack)
    c = _context(pack, cu, pinned)
    stages = {s: first_stage(s, rows, c) for s, rows in _by_sender(tx).items()}
    senders_of = _index(stages)
    expected = _beneficiaries(batch)
    mine = _beneficiary_rows(
        stages,
        senders_of,
        pack,
        c.word_spec,
        Entities.of(pinned.tables["pinned_entities"].to_dicts()),
    )
    assert set(mine) == set(expected)
    assert {rid for rid, _ in SPLIT_WALLETS} <= set(mine)
    for receiver, row in mine.items():
        assert not _differences(expected[receiver], row), receiver


@pytest.mark.spark
def test_duckdb_and_spark_tie_them_alike(java_home: str, result: ScanResult) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    tx, cu = _world()
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in result.alerts]
    d = result.beneficiary_scores.sort("receiver_id")
    s = spark.beneficiary_scores.sort("receiver_id")
    assert d["receiver_id"].to_list() == s["receiver_id"].to_list()
    assert d["sole_sender_tie"].to_list() == s["sole_sender_tie"].to_list()
