"""One person on several accounts, and the facilitator of an alerted payer (pack
2026.12.6, issue #13: the worst held-out worlds lost AP on careful payers who pay one
woman on her bank account and her wallet, and on facilitators whose only payer was
alerted but who stayed below the alert threshold themselves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from daybreak.engines.payments import scan_frames
from daybreak.payments.config import load_pack
from daybreak.payments.explain import beneficiary_lead
from daybreak.payments.scan import ScanResult, _capped_by_sole_sender
from payments.failure_modes import TX_SCHEMA, small_world

PAYER = "CW000"
ACCOUNTS = ("scb:5528241870", "promptpay:+66857235232")


def _row(frame: pl.DataFrame, key: str, value: str) -> dict[str, object]:
    rows = frame.filter(pl.col(key) == value).to_dicts()
    assert rows, f"{value} was not scored"
    return rows[0]


def _payments(sender: str, name: str, to: list[tuple[str, str]], amount: float, n: int,
              country: str = "TH") -> pl.DataFrame:  # fmt: skip
    """``n`` daytime payments with blank references from ``sender``, taking turns over
    the accounts ``to`` (receiver id, name as written), every 9-14 days."""
    start = datetime(2025, 1, 3, 2, 30, tzinfo=UTC)  # 13:30 in Sydney
    rows = []
    for k in range(n):
        rid, rname = to[k % len(to)]
        rows.append({
            "txn_id": f"W{sender}{k:04d}", "timestamp": start + timedelta(days=9 * k + k % 3 * 2),
            "sender_id": sender, "sender_name": name, "sender_country": "AU",
            "receiver_id": rid, "receiver_name": rname, "receiver_country": country,
            "amount": amount, "currency": "AUD", "channel": "remittance", "reference": None,
            "merchant_category": None,
        })  # fmt: skip
    return pl.DataFrame(rows, schema=TX_SCHEMA)


# Customers paying two accounts in Thailand, by the names the accounts are under.
NAMES = {
    PAYER: ("SUKHON, Siriporn", "Siriporn Sukhon"),  # one woman, two accounts
    "CW001": ("SUKHON Siriporn", "Siriporn Sukhon"),  # the same two names swapped
    "CW002": ("Siriporn Sukhon", "Siriporn M. Sukhon"),  # an initial added
    "CW003": ("Siriporn Sukhon", "Malee Sukhon"),  # two women of one family
    "CW004": ("Siriporn Sukhon", "Malee Wongsa"),  # two unrelated women
    "CW005": ("Siriporn Hughes", "Siriporn Hughes"),  # his relative: a family tie
}


def _with_payers(names: dict[str, tuple[str, str]], amount: float = 30.0) -> tuple[pl.DataFrame, ...]:  # fmt: skip
    """The small world with more customers, each a man paying two accounts in Thailand
    under ``names`` eight times in all, in daytime, with no reference; another unrelated
    customer pays the first account of each twice (indicator 2: since pack 2026.12.7 the
    accounts of one person whom nobody else pays are a look-alike, ``test_inlaw.py``)."""
    tx, cu, _ = small_world()
    rows, payers = [tx], [cu]
    for k, (cid, pair) in enumerate(names.items()):
        to = [(f"{a}{k}", n) for a, n in zip(ACCOUNTS, pair, strict=True)]
        rows.append(_payments(cid, "Wayne Hughes", to, amount, 8))
        rows.append(_payments(f"CO{k:03d}", "Peter Lewis", to[:1], amount, 2))
        payers.append(pl.DataFrame(
            [{"customer_id": c, "name": n, "birth_year": 1980, "gender": "M",
              "country": "AU", "timezone": "Australia/Sydney", "known_offender": False}
             for c, n in ((cid, "Wayne Hughes"), (f"CO{k:03d}", "Peter Lewis"))],
            schema=cu.schema,
        ))  # fmt: skip
    return pl.concat(rows), pl.concat(payers)


@pytest.fixture(scope="module")
def accounts() -> ScanResult:
    return scan_frames(*_with_payers(NAMES))


def test_one_person_on_two_accounts_is_one_person_and_a_sign(accounts: ScanResult) -> None:
    row = _row(accounts.customer_scores, "sender_id", PAYER)
    assert row["corridor_beneficiaries"] == 2 and row["alias_share"] == 1.0
    assert row["household_share"] == 0.0
    assert row["s__one_person_several_accounts"] == 1.0
    # two accounts of one woman are not two people given a gift or two
    assert row["s__occasional_gifts_lookalike"] == 0.0
    # two unrelated women: no such sign, a lower score
    apart = _row(accounts.customer_scores, "sender_id", "CW004")
    assert float(str(apart["raw_score"])) < float(str(row["raw_score"]))


@pytest.mark.parametrize(
    ("cid", "alias", "household"),
    [(PAYER, 1.0, 0.0), ("CW001", 1.0, 0.0), ("CW002", 1.0, 0.0), ("CW003", 0.0, 1.0),
     ("CW004", 0.0, 0.0), ("CW005", 0.0, 0.0)],
)  # fmt: skip
def test_what_counts_as_one_person(
    accounts: ScanResult, cid: str, alias: float, household: float
) -> None:
    row = _row(accounts.customer_scores, "sender_id", cid)
    assert (row["alias_share"], row["household_share"]) == (alias, household)
    assert (float(str(row["s__one_person_several_accounts"])) > 0) == (alias > 0)


def test_the_explanation_names_the_accounts() -> None:
    low = load_pack().model_copy(update={"alert_threshold": 0.001})
    result = scan_frames(*_with_payers({PAYER: NAMES[PAYER]}), pack=low)
    alert = next(a for a in result.alerts if a.subject_id == PAYER)
    assert "one_person_several_accounts" in alert.typologies
    assert "100% of corridor payments go to one person abroad" in alert.explanation


FACILITATOR = "usdt:TCmxyGVr12AyE7Q4ursZn9bP4g7bsigWiZ"


def _bold_payer_pays_once(amount: float, name: str = "SORIANO, Aileen") -> ScanResult:
    """The small world with bold payer CB000 (alerted) paying one more account once,
    ``amount`` AUD: nobody else pays her."""
    tx, cu, _ = small_world()
    sender = tx.filter(pl.col("sender_id") == "CB000")["sender_name"][0]
    extra = _payments("CB000", sender, [(FACILITATOR, name)], amount, 1, "PH")
    return scan_frames(pl.concat([tx, extra]), cu)


def test_the_facilitator_of_an_alerted_payer_ranks_with_him() -> None:
    """One payment of AUD 380 (over the low-value cap) from an alerted payer: her own
    inbound signs left her below the alert threshold (0.18 in a generated world); she
    now ranks at his score times the tie's weight (a third for one payment)."""
    result = _bold_payer_pays_once(380.0)
    payer = _row(result.customer_scores, "sender_id", "CB000")
    row = _row(result.beneficiary_scores, "receiver_id", FACILITATOR)
    assert row["sole_sender"] == "CB000" and row["sole_sender_tie"] == pytest.approx(1 / 3)
    assert row["raised_by_sender"] is True
    assert row["score"] == pytest.approx(float(str(payer["score"])) / 3, abs=1e-6)
    alert = next(a for a in result.alerts if a.subject_id == FACILITATOR)
    assert "Paid by one customer only (CB000, alerted at " in alert.explanation
    assert "the weight of 1 payment(s)" in alert.explanation


def test_a_relative_of_an_alerted_payer_is_not_raised() -> None:
    tx, _, _ = small_world()
    surname = str(tx.filter(pl.col("sender_id") == "CB000")["sender_name"][0]).split()[-1]
    result = _bold_payer_pays_once(380.0, f"Aileen {surname}")
    assert FACILITATOR not in set(result.beneficiary_scores["receiver_id"])
    # nor a second woman of a household abroad he pays (Grace Cruz's family)
    result = _bold_payer_pays_once(380.0, "DELA CRUZ, Aileen")
    row = _row(result.beneficiary_scores, "receiver_id", FACILITATOR)
    assert row["sole_sender_tie"] == 0.0 and row["raised_by_sender"] is False


def test_the_floor_needs_an_alerted_sole_sender_and_a_tie() -> None:
    bene = pl.DataFrame(
        {
            "receiver_id": ["b1", "b2", "b3", "b4", "b5"],
            "score": [0.1, 0.1, 0.1, 0.05, 0.9],
            "sole_sender": ["c1", "c1", "c1", "c2", None],
            "sole_sender_tie": [1.0, 1 / 3, 0.0, 1.0, None],
        }
    )
    cust = pl.DataFrame({"sender_id": ["c1", "c2"], "score": [0.6, 0.15]})
    bounded = _capped_by_sole_sender(bene, cust, suspect=0.2)
    assert bounded["score"].to_list() == pytest.approx([0.6, 0.2, 0.1, 0.05, 0.9])
    assert bounded["raised_by_sender"].to_list() == [True, True, False, False, False]
    # a contractor of a payroll firm (not alerted) or a relative (no tie) stays as scored
    assert "Paid by one customer only" not in beneficiary_lead(bounded.row(3, named=True))
    lead = beneficiary_lead({**bounded.row(1, named=True), "inbound_payments": 1})
    assert "Paid by one customer only (c1, alerted at 0.60), without a family tie" in lead


def test_payroll_contractors_are_not_raised(accounts: ScanResult) -> None:
    contractors = accounts.beneficiary_scores.filter(pl.col("receiver_id").str.contains("ph-"))
    assert contractors.height and not contractors["raised_by_sender"].any()
    alerted = {a.subject_id for a in accounts.alerts}
    assert not alerted & set(contractors["receiver_id"])


@pytest.mark.spark
def test_duckdb_and_spark_agree_on_accounts_and_the_floor(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    tx, cu = _with_payers(NAMES)
    sender = tx.filter(pl.col("sender_id") == "CB000")["sender_name"][0]
    tx = pl.concat([tx, _payments("CB000", sender, [(FACILITATOR, "Aileen Soriano")], 380.0, 1, "PH")])  # fmt: skip
    duck = scan_frames(tx, cu, engine="duckdb")
    spark = scan_frames(tx, cu, engine=SparkEngine(SMALL_DATA_CONF))
    for frame, key, cols in (
        ("customer_scores", "sender_id", ("alias_share", "household_share", "score")),
        ("beneficiary_scores", "receiver_id", ("sole_sender_tie", "score")),
    ):
        d, s = getattr(duck, frame), getattr(spark, frame)
        assert d[key].to_list() == s[key].to_list(), frame
        for col in cols:
            assert d[col].to_list() == pytest.approx(s[col].to_list(), abs=1e-5), (frame, col)
    assert duck.beneficiary_scores["raised_by_sender"].to_list() == (
        spark.beneficiary_scores["raised_by_sender"].to_list()
    )
    assert sorted((a.subject_id, a.explanation) for a in duck.alerts) == sorted(
        (a.subject_id, a.explanation) for a in spark.alerts
    )
