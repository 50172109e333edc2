"""Financial sextortion: the rings and look-alikes in the world, the detector on both
engines, its explanations, its registration, fusion and its evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from daybreak.detectors import DetectorError
from daybreak.detectors.info import detector_info
from daybreak.engines.sextortion import SextortionDetector, run_frames, run_parquet
from daybreak.graph.fusion import FusionContext, family, fuse
from daybreak.model.cases import Tier
from daybreak.platform.evaluate import evaluate_payer_handles
from daybreak.platform.inputs import SextortionInput
from daybreak.platform.sextortion import SextortionParams
from daybreak.synth import World, generate_world, write_world
from daybreak.synth.sextortion import EXTORTION_SCENARIOS, LOOKALIKES, PAIR, SextortionPriors
from daybreak.testing import check_detector, check_detector_info

T0 = datetime(2025, 3, 1, 20, tzinfo=UTC)


@cache
def _world(seed: int = 7) -> World:
    return generate_world(customers=2500, months=4, seed=seed, sextortion_priors=SextortionPriors())


def _input(w: World) -> SextortionInput:
    assert w.platform_accounts is not None
    return SextortionInput(w.platform_events, w.platform_accounts, w.identifiers, w.transactions)


def _truth(w: World) -> pl.DataFrame:
    assert w.account_labels is not None
    return w.account_labels.filter(pl.col("subject_type") == PAIR)


def test_world_plants_rings_and_every_lookalike_with_labels() -> None:
    w = _world()
    truth = _truth(w)
    assert set(LOOKALIKES) <= set(truth["scenario"].to_list())
    assert set(truth.filter(pl.col("label") == 1)["scenario"].to_list()) <= set(EXTORTION_SCENARIOS)
    assert truth.filter(pl.col("label") == 1)["case_id"].null_count() == 0
    # every labelled pair is a payment in the world, and the payer is tied to a minor's
    # platform account
    pairs = truth["subject_id"].str.split_exact(">", 1).struct.unnest()
    paid = w.transactions.select(
        (pl.col("sender_id") + ">" + pl.col("receiver_id")).alias("pair")
    ).unique()
    assert set(truth["subject_id"].to_list()) <= set(paid["pair"].to_list())
    assert w.platform_accounts is not None
    minors = w.platform_accounts.filter(pl.col("is_minor")).select(
        (pl.col("service") + ":" + pl.col("account_id")).alias("value")
    )
    tied = w.identifiers.filter(pl.col("kind") == "account").join(minors, on="value")
    assert set(pairs["field_0"].to_list()) <= set(tied["source_id"].to_list())
    # the rings' accounts, handles, events and payments are case records
    cases = set(truth["case_id"].drop_nulls().to_list())
    linked = w.links.filter(pl.col("case_id").is_in(list(cases)))
    assert {"accounts", "beneficiaries", "platform_events", "transactions"} <= set(
        linked["source"].to_list()
    )
    # the bank's labels name the handles for what they are, and do not call them abuse
    handles = set(pairs.filter(truth["label"] == 1)["field_1"].to_list())
    bank = w.labels.filter(pl.col("subject_id").is_in(list(handles)))
    assert set(bank["scenario"].to_list()) == {"sextortion_handle"}
    assert bank["label"].sum() == 0


def test_world_without_sextortion_has_no_teenagers_or_pair_labels() -> None:
    plain = generate_world(customers=600, months=2, seed=9)
    assert plain.account_labels is None
    with_it = generate_world(customers=600, months=2, seed=9, sextortion_priors=SextortionPriors())
    assert with_it.params is not None and "rings_per_10k" in with_it.params["sextortion"]
    # the payers' side is drawn before: the customers are the same people
    assert plain.customers.equals(with_it.customers)


def test_detector_finds_extortion_handles_and_spares_the_lookalikes() -> None:
    w = _world()
    result = run_frames(_input(w), with_episodes=True)
    m = evaluate_payer_handles(result.episodes, _truth(w), SextortionParams().alert_score)
    assert m["extortion_handles"] >= 4
    assert m["average_precision"] >= 0.9
    assert m["recall"] >= 0.6
    assert m["lookalike_accounts"] >= 30 and m["lookalike_false_alarm_rate"] <= 0.05
    families = m["pairs"]
    assert families["recall"] >= 0.6 and families["lookalike_false_alarm_rate"] <= 0.02
    for lookalike in LOOKALIKES:
        assert families["by_scenario"][lookalike]["accounts"] > 0


def test_alerts_pass_the_kit_and_name_the_evidence() -> None:
    w = _world()
    events = set(w.platform_events["event_id"].to_list())
    alerts = check_detector(SextortionDetector(), _input(w), evidence_ids=events)
    top = alerts[0]
    assert top.detector == "sextortion" and top.subject_type == "beneficiary"
    assert "sextortion" in top.typologies
    assert top.evidence_ids[0] in top.explanation, "names the events"
    assert "tied to the minor's account" in top.explanation
    txns = set(w.transactions["txn_id"].to_list())
    assert any(t in top.explanation for t in txns), "names the payments"
    truth = _truth(w).filter(pl.col("label") == 1)
    handles = set(truth["subject_id"].str.split(">").list.get(1).to_list())
    assert top.subject_id in handles


def _tiny(
    *,
    actor: dict[str, Any] | None = None,
    channel: str = "wallet",
    minor_first: bool = False,
    later_calls: int = 0,
) -> SextortionInput:
    """An account that friends a minor (tied to customer C1 by an identifier), calls an
    hour later, and C1 pays a handle in Nigeria twice that evening; ``actor`` edits the
    account's row; ``later_calls`` calls follow, a day apart, after the payments."""
    a, m = ("minor", "actor") if minor_first else ("actor", "minor")
    rows = [
        ("E1", "friend_request", a, m, 0.0),
        ("E2", "message", "minor", "actor", 0.5),
        ("E3", "call", "actor", "minor", 1.0),
        ("E4", "message", "actor", "minor", 2.0),
    ]
    rows += [(f"L{k}", "call", "minor", "actor", 24.0 * (k + 1)) for k in range(later_calls)]
    events = pl.DataFrame(
        [
            {"event_id": e, "service": "kinnect", "event_type": t, "account_id": src,
             "counterparty_account_id": dst, "started_at": T0 + timedelta(hours=h),
             "ended_at": None, "ip": None, "device_id": None,
             "country": "NG" if src == "actor" else "AU"}
            for e, t, src, dst, h in rows
        ],
        schema_overrides={"ended_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    base = {"service": "kinnect", "verified": False}
    accounts = pl.DataFrame([
        base | {"account_id": "actor", "created_at": T0 - timedelta(days=2),
                "age_band": None, "is_minor": None, "country": "NG"} | (actor or {}),
        base | {"account_id": "minor", "created_at": T0 - timedelta(days=500),
                "age_band": "16-17", "is_minor": True, "country": "AU"},
    ])  # fmt: skip
    identifiers = pl.DataFrame(
        {"source": ["customers"], "source_id": ["C1"], "kind": ["account"],
         "value": ["kinnect:minor"], "role": ["customer"],
         "seen_at": [None]},
        schema_overrides={"seen_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    pays = [("T0", -90 * 24.0, "AU"), ("T1", 3.0, "NG"), ("T2", 5.0, "NG"), ("T3", 400.0, "NG")]
    transactions = pl.DataFrame(
        [
            {"txn_id": t, "timestamp": T0 + timedelta(hours=h), "sender_id": "C1",
             "sender_name": "A Parent", "sender_country": "AU",
             "receiver_id": "opay:+2348000000001" if c == "NG" else "bsb:1",
             "receiver_name": None, "receiver_country": c, "amount": 150.0,
             "currency": "AUD", "channel": channel, "reference": None,
             "merchant_category": None}
            for t, h, c in pays
        ]
    )  # fmt: skip
    return SextortionInput(events, accounts, identifiers, transactions)


def _episode(data: SextortionInput, params: SextortionParams | None = None) -> dict[str, Any]:
    episodes = run_frames(data, params, with_episodes=True).episodes
    return episodes.row(0, named=True) if episodes.height else {}


def test_features_read_the_metadata_and_the_payments() -> None:
    row = _episode(_tiny())
    assert (row["actor"], row["minor"], row["customer_id"]) == (
        "kinnect:actor",
        "kinnect:minor",
        "C1",
    )
    assert row["receiver_id"] == "opay:+2348000000001"
    # T3 is 400 hours (more than 14 days) after the first contact: not in the episode
    assert (row["payments"], row["new_account"], row["initiated"], row["call_before_pay"]) == (
        2, 1, 1, 1)  # fmt: skip
    assert row["hours_to_pay"] == pytest.approx(3.0)
    assert row["contact_days"] == pytest.approx(2 / 24)
    # the demand (E4, 2 h) came an hour before the first payment (3 h)
    assert (row["hours_silent"], row["last_event_id"]) == (pytest.approx(1.0), "E4")
    assert row["handle_payers"] == 1 and row["actor_payers"] == 1
    # the actor made the first contact with the one paying family's minor; no call after
    assert row["initiated_payers"] == 1 and row["calls_after_pay"] == 0
    # the data begin 90 days before: the handle, first paid at T1, is new
    assert row["new_handle"] == 1.0
    # an old, verified account that the minor contacted first scores lower
    old = _episode(_tiny(actor={"created_at": datetime(2020, 1, 1, tzinfo=UTC), "verified": True},
                         minor_first=True))  # fmt: skip
    assert (old["new_account"], old["initiated"], old["verified"]) == (0, 0, 1)
    assert old["initiated_payers"] == 0
    assert old["score"] < row["score"]


def test_calls_after_the_payment_count_against() -> None:
    """Extortion ends in pay, block or report; a contact that goes on calling (either
    side) after the money looks like a friend, a tutor or a relative."""
    row = _episode(_tiny())
    later = _episode(_tiny(later_calls=3))
    assert later["calls_after_pay"] == 3
    assert later["score"] < row["score"]


def test_card_payments_and_minors_tied_to_no_customer_are_left_out() -> None:
    assert _episode(_tiny(channel="card")) == {}
    data = _tiny()
    untied = SextortionInput(
        data.platform_events, data.platform_accounts, data.identifiers.head(0), data.transactions
    )
    assert _episode(untied) == {}
    # an account the platform knows to be an adult is no minor to protect here
    adult = data.platform_accounts.with_columns(
        age_band=pl.when(pl.col("account_id") == "minor").then(pl.lit("25+"))
        .otherwise(pl.col("age_band")),
        is_minor=pl.when(pl.col("account_id") == "minor").then(pl.lit(False))
        .otherwise(pl.col("is_minor")),
    )  # fmt: skip
    as_adult = SextortionInput(data.platform_events, adult, data.identifiers, data.transactions)
    assert _episode(as_adult) == {}
    # a shorter window leaves the second payment out
    assert _episode(data, SextortionParams(window_days=0.15))["payments"] == 1


def test_handles_whose_age_the_data_cannot_tell_count_half() -> None:
    data = _tiny()
    recent = data.transactions.filter(pl.col("txn_id") != "T0")  # data start at T1
    row = _episode(SextortionInput(data.platform_events, data.platform_accounts,
                                   data.identifiers, recent))  # fmt: skip
    assert row["new_handle"] == 0.5


def test_bad_parameters_and_missing_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="window_days"):
        SextortionParams(window_days=0)
    with pytest.raises(ValueError, match="weights lack"):
        SextortionParams(weights={"intercept": 0.0})
    with pytest.raises(DetectorError, match="platform_events"):
        detector_info("sextortion").input_from_world(tmp_path)
    _world().platform_events.head(10).write_parquet(tmp_path / "platform_events.parquet")
    with pytest.raises(DetectorError, match="no platform_accounts"):
        run_parquet(tmp_path)


def test_registered_like_the_other_detectors(tmp_path: Path) -> None:
    w = _world()
    write_world(w, tmp_path, fmt="parquet")
    info = detector_info("sextortion")
    found = check_detector_info(
        info, tmp_path, set(w.platform_events["event_id"].to_list()), window_days=10
    )
    assert found
    assert info.reads == ("platform_events", "platform_accounts", "identifiers", "transactions")
    # the Parquet path reads the files in place and agrees with the validated frames
    assert [a.alert_id for a in run_parquet(tmp_path).alerts] == [
        a.alert_id for a in run_frames(_input(w)).alerts
    ]


def test_alerts_join_cases_as_the_platform_family_at_the_solicitation_tier() -> None:
    alert = run_frames(_input(_world())).alerts[0]
    assert family(alert) == "platform"
    fused = fuse([alert], FusionContext())
    assert fused.tier == Tier.AGGRESSIVE_SOLICITATION
    assert fused.sources == ["platform"]


@pytest.mark.spark
def test_duckdb_and_spark_agree(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    data = _input(_world())
    duck = run_frames(data, with_episodes=True)
    spark = run_frames(data, engine=SparkEngine(SMALL_DATA_CONF), with_episodes=True)
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    keys = ["actor", "minor", "customer_id", "receiver_id"]
    d, s = duck.episodes.sort(keys), spark.episodes.sort(keys)
    assert d.select(keys).equals(s.select(keys))
    for col in ("payments", "new_account", "initiated", "call_before_pay", "handle_payers"):
        assert d[col].cast(pl.Int64).to_list() == s[col].cast(pl.Int64).to_list(), col
    for col in ("score", "handle_score", "new_handle", "hours_to_pay"):
        for a, b in zip(d[col].to_list(), s[col].to_list(), strict=True):
            assert a == pytest.approx(b, abs=1e-9), col


def _second_family(data: SextortionInput, days: float) -> SextortionInput:
    """``data`` and the same contact and payments ``days`` later with a second minor
    (``minor2``, tied to customer C2): the same actor, the same handle."""
    shift = timedelta(days=days)
    events = data.platform_events.with_columns(
        pl.col("event_id") + "b",
        pl.col("started_at") + shift,
        pl.col("account_id").replace("minor", "minor2"),
        pl.col("counterparty_account_id").replace("minor", "minor2"),
    )
    minor2 = data.platform_accounts.filter(pl.col("account_id") == "minor").with_columns(
        account_id=pl.lit("minor2")
    )
    ids = data.identifiers.with_columns(source_id=pl.lit("C2"), value=pl.lit("kinnect:minor2"))
    pays = data.transactions.filter(pl.col("txn_id") != "T0").with_columns(
        pl.col("txn_id") + "b", pl.col("timestamp") + shift, sender_id=pl.lit("C2")
    )
    return SextortionInput(
        pl.concat([data.platform_events, events]),
        pl.concat([data.platform_accounts, minor2]),
        pl.concat([data.identifiers, ids]),
        pl.concat([data.transactions, pays]),
    )


def test_account_and_handle_age_are_the_actors_and_the_handles() -> None:
    """A ring's later victim meets an account weeks old and pays a handle the first
    victim opened weeks before: both still count as new (the account's age at its first
    contact with any tied minor; the handle's at its first payment in any episode)."""
    both = run_frames(_second_family(_tiny(), 40), with_episodes=True).episodes
    later = both.filter(pl.col("customer_id") == "C2").row(0, named=True)
    assert later["account_age_days"] == pytest.approx(42.0)
    assert later["handle_age_days"] == pytest.approx(40.0)
    assert (later["new_account"], later["new_handle"]) == (1, 1.0)
    # two approached families on one handle score above one
    assert later["initiated_payers"] == 2
    assert later["score"] > _episode(_tiny())["score"]


def test_the_accounts_age_counts_from_a_first_contact_with_a_family_that_never_paid() -> None:
    """The account's age is taken at its first contact with any tied minor, also one
    whose family never paid abroad (the plan aggregates only the paying families' pairs,
    and takes the actor's first contact from the contacts)."""
    data = _second_family(_tiny(), 40)
    unpaid = data.transactions.filter((pl.col("sender_id") == "C2") | (pl.col("txn_id") == "T0"))
    only_c2 = SextortionInput(
        data.platform_events, data.platform_accounts, data.identifiers, unpaid
    )
    episodes = run_frames(only_c2, with_episodes=True).episodes
    assert episodes["customer_id"].to_list() == ["C2"]
    row = episodes.row(0, named=True)
    assert row["account_age_days"] == pytest.approx(42.0)
    assert row["new_account"] == 1  # first contact (with C1's minor) two days after creation


def test_the_familys_own_payees_count_against() -> None:
    """A relative abroad the family paid before the contact, and a new payee of its own
    paid after the one demanded, are not the ring's handle."""
    data = _tiny()
    row = _episode(data)
    relative = data.transactions.with_columns(
        timestamp=pl.when(pl.col("txn_id") == "T0").then(pl.lit(T0 - timedelta(days=20)))
        .otherwise(pl.col("timestamp")),
        receiver_id=pl.lit("opay:+2348000000001"), receiver_country=pl.lit("NG"),
    )  # fmt: skip
    known = _episode(SextortionInput(data.platform_events, data.platform_accounts,
                                     data.identifiers, relative))  # fmt: skip
    assert (row["paid_before"], known["paid_before"]) == (0, 1)
    assert known["score"] < row["score"]
    other = data.transactions.with_columns(
        receiver_id=pl.when(pl.col("txn_id") == "T2").then(pl.lit("gtbank:7"))
        .otherwise(pl.col("receiver_id"))
    )  # fmt: skip
    eps = run_frames(SextortionInput(data.platform_events, data.platform_accounts,
                                     data.identifiers, other), with_episodes=True).episodes  # fmt: skip
    later = dict(zip(eps["receiver_id"], eps["later_payee"], strict=True))
    assert later == {"opay:+2348000000001": 0, "gtbank:7": 1}


def test_a_friend_who_calls_again_and_again_before_the_gift_scores_lower() -> None:
    """One capture call, then the money, is extortion's pattern; a friend abroad calls
    the teenager many times before a gift (the look-alike)."""
    data = _tiny()
    calls = pl.concat([
        data.platform_events,
        data.platform_events.filter(pl.col("event_id") == "E3").with_columns(
            event_id=pl.lit("E3c"), started_at=pl.col("started_at") + timedelta(hours=1)
        ),
    ])  # fmt: skip
    friend = _episode(SextortionInput(calls, data.platform_accounts, data.identifiers,
                                      data.transactions))  # fmt: skip
    row = _episode(data)
    assert (row["calls_before_pay"], friend["calls_before_pay"]) == (1, 2)
    assert friend["score"] < row["score"]


def test_a_strangers_contact_before_an_unrelated_payment_abroad_is_no_alert() -> None:
    """The commonest harmless episode: an old account befriends the teenager, nothing
    more, and two days later the family pays a new handle abroad once (an online
    purchase). Version 4, fitted without such background, alerted on it (score 0.78)."""
    data = _tiny(actor={"created_at": datetime(2020, 1, 1, tzinfo=UTC)})
    once = data.transactions.filter(pl.col("txn_id").is_in(["T0", "T1"])).with_columns(
        timestamp=pl.when(pl.col("txn_id") == "T1").then(pl.lit(T0 + timedelta(hours=48)))
        .otherwise(pl.col("timestamp"))
    )  # fmt: skip
    stranger = SextortionInput(
        data.platform_events.filter(pl.col("event_id") == "E1"),
        data.platform_accounts, data.identifiers, once,
    )  # fmt: skip
    result = run_frames(stranger, with_episodes=True)
    row = result.episodes.row(0, named=True)
    assert (row["new_account"], row["initiated"], row["payments"], row["new_handle"]) == (
        0, 1, 1, 1.0)  # fmt: skip
    assert row["score"] < SextortionParams().alert_score
    assert result.alerts == []
    # the same payment hours after a new account's friend request and capture call is
    # a ring's single-payment victim, and alerts
    ring = run_frames(_tiny(), with_episodes=True)
    assert ring.alerts and ring.episodes.row(0, named=True)["score"] > row["score"]


def _acquaintance(silent_hours: float, later_days: tuple[float, ...]) -> SextortionInput:
    """An old account calls the minor once; ``silent_hours`` later the family pays a new
    handle abroad once; the two go on messaging ``later_days`` days after the call."""
    data = _tiny(actor={"created_at": datetime(2020, 1, 1, tzinfo=UTC)})
    call = data.platform_events.filter(pl.col("event_id") == "E3")
    later = [
        call.with_columns(event_id=pl.lit(f"M{k}"), event_type=pl.lit("message"),
                          started_at=pl.col("started_at") + timedelta(days=d))
        for k, d in enumerate(later_days)
    ]  # fmt: skip
    once = data.transactions.filter(pl.col("txn_id").is_in(["T0", "T1"])).with_columns(
        timestamp=pl.when(pl.col("txn_id") == "T1")
        .then(pl.lit(T0 + timedelta(hours=1 + silent_hours)))
        .otherwise(pl.col("timestamp"))
    )  # fmt: skip
    return SextortionInput(
        pl.concat([call, *later]), data.platform_accounts, data.identifiers, once
    )


def test_a_contact_long_silent_before_a_payment_is_no_alert_however_long_it_lasts() -> None:
    """The ring-free folder's false alerts (version 5: 9 on platform_speed.py's 1 M
    events): an old account's single call, a day or more of silence, one payment to a
    handle only that family pays, then months of messages. Version 5 scored the months
    of contact for the episode (ln(1 + days)); the money follows a ring's demand within
    hours, so the silence before the payment counts against, and later contact no more
    for."""
    months = run_frames(_acquaintance(30.0, (40.0, 80.0, 120.0)), with_episodes=True)
    row = months.episodes.row(0, named=True)
    assert row["contact_days"] == pytest.approx(120.0)
    assert (row["hours_silent"], row["last_event_id"]) == (pytest.approx(30.0), "E3")
    assert (row["new_account"], row["payments"], row["new_handle"]) == (0, 1, 1.0)
    assert months.alerts == []
    # later contact changes nothing (it is not evidence either way)...
    short = run_frames(_acquaintance(30.0, ()), with_episodes=True).episodes.row(0, named=True)
    assert short["score"] == pytest.approx(row["score"])
    # ...while the same payment minutes after the contact scores higher
    prompt = run_frames(_acquaintance(0.25, ()), with_episodes=True).episodes.row(0, named=True)
    assert prompt["hours_silent"] == pytest.approx(0.25)
    assert prompt["score"] > row["score"]


def test_explanations_name_the_last_contact_before_the_money() -> None:
    result = run_frames(_tiny())
    (alert,) = result.alerts
    assert "60 minutes after their last contact before it (E4)" in alert.explanation
    assert alert.evidence_ids == ("E1", "E3", "E4")
