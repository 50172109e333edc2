"""One person behind several accounts (issue #13: `shifted` worlds). A facilitator takes
payments on a wallet and a bank account under her full name; bold payers pay the wallet,
a careful payer only the bank account, in daytime, larger sums, no reference. Per
account, nobody else pays the careful payer's account and he has no sign of his own;
read as one person (same given name and two family names, one country, two accounts at
different providers), her other senders are his co-payers (indicator 2) and he is
found, with her bank account. A namesake of two names only ("Ana Reyes") is not merged:
two-token names collide too often (in-law and family look-alikes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.engines.payments_realtime import scan_with_context
from daybreak.payments.config import load_pack
from daybreak.payments.realtime import PinnedContext
from daybreak.payments.realtime_features import first_stage
from daybreak.payments.realtime_graph import Entities, beneficiary_score, customer_score
from daybreak.payments.scan import ScanResult
from payments.failure_modes import TX_SCHEMA, scored_customer, small_world
from payments.test_realtime_features import _by_sender, _context, _index

WALLET = ("maya:+639450361687", "OCAMPO, Lorna Lopez")
BANK = ("bpi:6218828307", "Lorna Lopez Ocampo")
NAMESAKE_WALLET = ("gcash:+639171234567", "Ana Reyes")
NAMESAKE_BANK = ("bdo:001234567890", "REYES, Ana")
CAREFUL, CONTROL = "CE000", "CE001"
BOLD = ("CE010", "CE011", "CE012")
BOLD_TO_NAMESAKE = ("CE020", "CE021", "CE022")


def _pays(sender: str, name: str, to: tuple[str, str], n: int, hour: float, every: int,
          amount: float) -> pl.DataFrame:  # fmt: skip
    """``n`` payments from ``sender`` to ``to`` at ``hour`` Sydney time (UTC+11 in
    summer), every ``every`` days or so, no reference."""
    start = datetime(2025, 1, 3, tzinfo=UTC) + timedelta(hours=hour - 11)
    return pl.DataFrame(
        [{"txn_id": f"E{sender}{k:04d}", "timestamp": start + timedelta(days=every * k + k % 3),
          "sender_id": sender, "sender_name": name, "sender_country": "AU",
          "receiver_id": to[0], "receiver_name": to[1], "receiver_country": "PH",
          "amount": amount, "currency": "AUD", "channel": "remittance", "reference": None,
          "merchant_category": None}
         for k in range(n)],
        schema=TX_SCHEMA,
    )  # fmt: skip


NAMES = {
    CAREFUL: "Dale Morgan",
    CONTROL: "Trevor Hall",
    **{c: f"Barry Cook{k}" for k, c in enumerate(BOLD)},
    **{c: f"Keith Ward{k}" for k, c in enumerate(BOLD_TO_NAMESAKE)},
}


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    tx, cu, _ = small_world()
    payments = [
        _pays(CAREFUL, NAMES[CAREFUL], BANK, 8, 13.0, 20, 250.0),
        _pays(CONTROL, NAMES[CONTROL], NAMESAKE_BANK, 8, 13.0, 20, 250.0),
        *[_pays(c, NAMES[c], WALLET, 12, 23.5, 14, 40.0) for c in BOLD],
        *[_pays(c, NAMES[c], NAMESAKE_WALLET, 12, 23.5, 14, 40.0) for c in BOLD_TO_NAMESAKE],
    ]
    people = pl.DataFrame(
        [{"customer_id": cid, "name": name, "birth_year": 1970, "gender": "M", "country": "AU",
          "timezone": "Australia/Sydney", "known_offender": False}
         for cid, name in NAMES.items()],
        schema=cu.schema,
    )  # fmt: skip
    return pl.concat([tx, *payments]), pl.concat([cu, people])


@pytest.fixture(scope="module")
def scanned(world: tuple[pl.DataFrame, pl.DataFrame]) -> tuple[ScanResult, PinnedContext]:
    return scan_with_context(*world, pack=load_pack())


def test_the_careful_payer_of_her_other_account_is_found(
    scanned: tuple[ScanResult, PinnedContext],
) -> None:
    result, _ = scanned
    row = scored_customer(result, CAREFUL)
    assert row["hub_accounts"] == 2 and row["hub_other_senders"] == len(BOLD)
    assert float(str(row["network_evidence"])) > 0.5
    alert = next(a for a in result.alerts if a.subject_id == CAREFUL)
    assert "network_propagation" in alert.typologies
    assert "2 accounts under one full name" in alert.explanation
    bank = next(a for a in result.alerts if a.subject_id == BANK[0])
    assert "One of 2 accounts under the same full name" in bank.explanation
    entities = result.beneficiary_scores.filter(pl.col("receiver_id") == BANK[0])
    assert entities["person_accounts"].to_list() == [2]


def test_a_two_name_namesake_is_not_merged(scanned: tuple[ScanResult, PinnedContext]) -> None:
    result, context = scanned
    row = scored_customer(result, CONTROL)
    assert row["hub_accounts"] == 1 and row["hub_other_senders"] == 0
    alerted = {a.subject_id for a in result.alerts}
    assert CONTROL not in alerted and NAMESAKE_BANK[0] not in alerted
    assert NAMESAKE_WALLET[0] in alerted  # the hub itself is found
    pinned = context.tables["pinned_entities"]
    assert sorted(pinned["receiver_id"]) == sorted([WALLET[0], BANK[0]])


def test_the_real_time_scorer_resolves_her_the_same_way(
    world: tuple[pl.DataFrame, pl.DataFrame], scanned: tuple[ScanResult, PinnedContext]
) -> None:
    tx, cu = world
    result, context = scanned
    pack = load_pack()
    c = _context(pack, cu, context)
    entities = Entities.of(context.tables["pinned_entities"].to_dicts())
    stages = {s: first_stage(s, rows, c) for s, rows in _by_sender(tx).items()}
    senders_of = _index(stages)
    got = customer_score(CAREFUL, stages, senders_of, pack, entities=entities)
    assert got is not None
    assert abs(got["score"] - float(str(scored_customer(result, CAREFUL)["score"]))) <= 1e-6
    assert got["hub_accounts"] == 2
    bank = beneficiary_score(BANK[0], stages, senders_of, pack, c.word_spec, entities=entities)
    expected = result.beneficiary_scores.filter(pl.col("receiver_id") == BANK[0]).to_dicts()[0]
    assert bank is not None and abs(bank["score"] - expected["score"]) <= 1e-6
    # without the entities the same rows give her account nothing from the graph
    alone = customer_score(CAREFUL, stages, senders_of, pack)
    assert alone is not None and alone["score"] < 0.2 <= got["score"]


def test_the_pack_turns_it_off(world: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    """``entity_max_accounts: 1``: every account is its own beneficiary again."""
    pack = load_pack().model_copy(update={"entity_max_accounts": 1})
    result, context = scan_with_context(*world, pack=pack)
    row = scored_customer(result, CAREFUL)
    assert row["hub_accounts"] == 1 and row["hub_other_senders"] == 0
    assert CAREFUL not in {a.subject_id for a in result.alerts}
    assert context.tables["pinned_entities"].height == 0


@pytest.mark.spark
def test_duckdb_and_spark_resolve_her_alike(
    java_home: str, world: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    tx, cu = world
    duck = scan_frames(tx, cu, engine="duckdb")
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    assert CAREFUL in {a.subject_id for a in duck.alerts}
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    for frame, key in (("customer_scores", "sender_id"), ("beneficiary_scores", "receiver_id")):
        d = getattr(duck, frame).sort(key)
        s = getattr(spark, frame).sort(key)
        assert d["raw_score"].to_list() == pytest.approx(s["raw_score"].to_list(), rel=1e-6)
