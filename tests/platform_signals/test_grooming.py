"""Grooming contact patterns: the behaviours and look-alikes in the world, the detector on
both engines, its explanations, its registration, fusion and its evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from daybreak.detectors import DetectorError
from daybreak.detectors.info import detector_info
from daybreak.engines.grooming import GroomingDetector, run_frames, run_parquet
from daybreak.graph.fusion import family
from daybreak.platform.evaluate import evaluate_actors
from daybreak.platform.grooming import GroomingParams
from daybreak.platform.inputs import GroomingInput
from daybreak.synth import World, generate_world, write_world
from daybreak.synth.grooming import GROOMER_SCENARIOS, LOOKALIKES, GroomingPriors
from daybreak.testing import check_detector, check_detector_info


@cache
def _world(seed: int = 5) -> World:
    return generate_world(customers=1500, months=4, seed=seed, grooming_priors=GroomingPriors())


def _input(w: World) -> GroomingInput:
    assert w.platform_accounts is not None
    return GroomingInput(w.platform_events, w.platform_accounts)


def _labels(w: World) -> pl.DataFrame:
    assert w.account_labels is not None
    return w.account_labels


def test_world_plants_groomers_and_every_lookalike_with_labels() -> None:
    labels = _labels(_world())
    scenarios = set(labels["scenario"].to_list())
    assert set(LOOKALIKES) <= scenarios and "groomer" in scenarios
    assert set(labels.filter(pl.col("label") == 1)["scenario"].to_list()) <= set(GROOMER_SCENARIOS)
    assert labels.filter(pl.col("label") == 1)["case_id"].null_count() == 0
    # every labelled account is a row of platform_accounts, and groomers' contacts are
    # case records
    accounts = _world().platform_accounts
    assert accounts is not None
    keys = set((accounts["service"] + ":" + accounts["account_id"]).to_list())
    assert set(labels["subject_id"].to_list()) <= keys
    links = _world().links
    assert links.filter(pl.col("source") == "platform_events").height > 0
    grooming_cases = set(labels["case_id"].drop_nulls().to_list())
    assert grooming_cases <= set(links["case_id"].to_list())


def test_world_without_grooming_is_unchanged_but_has_platform_accounts() -> None:
    plain = generate_world(customers=600, months=2, seed=9)
    groomed = generate_world(customers=600, months=2, seed=9, grooming_priors=GroomingPriors())
    for name in ("transactions", "customers", "reports", "media_sightings", "identifiers"):
        assert plain.tables()[name].equals(groomed.tables()[name]), name
    assert plain.account_labels is None and plain.platform_accounts is not None
    events = plain.platform_events
    acting = set((events["service"] + ":" + events["account_id"]).to_list())
    pa = plain.platform_accounts
    assert acting <= set((pa["service"] + ":" + pa["account_id"]).to_list())
    # only declared minors are minors, and the flag agrees with the band
    assert pa.filter(pl.col("is_minor")).height == 0  # no minors without grooming


def test_detector_finds_groomers_and_spares_the_lookalikes() -> None:
    w = _world()
    result = run_frames(_input(w), with_actors=True)
    m = evaluate_actors(result.actors, _labels(w), GroomingParams().alert_score)
    assert m["groomer_accounts"] >= 8
    assert m["average_precision"] >= 0.9
    assert m["recall"] >= 0.6
    assert m["lookalike_accounts"] >= 40 and m["lookalike_false_alarm_rate"] <= 0.05
    assert m["unlabelled_alerts"] == 0
    for lookalike in LOOKALIKES:
        assert m["by_scenario"][lookalike]["accounts"] > 0


def test_alerts_pass_the_kit_and_name_the_evidence() -> None:
    w = _world()
    events = set(w.platform_events["event_id"].to_list())
    alerts = check_detector(GroomingDetector(), _input(w), evidence_ids=events)
    top = alerts[0]
    assert top.detector == "grooming" and top.subject_type == "account"
    assert top.evidence_ids[0] in top.explanation, "names the events"
    assert "minor accounts" in top.explanation and "have no contact" in top.explanation
    groomers = set(_labels(w).filter(pl.col("label") == 1)["subject_id"].to_list())
    assert top.subject_id in groomers


def _tiny(**change: Any) -> GroomingInput:
    """One adult account that sends friend requests to four minors (who do not know each
    other) and calls two of them within hours; ``change`` edits the account's row."""
    t0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
    minors = [f"m{i}" for i in range(4)]
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(minors):
        for k, (etype, hours) in enumerate((("friend_request", 0), ("message", 1), ("call", 5))):
            if etype == "call" and i >= 2:
                continue
            rows.append(
                {
                    "event_id": f"E{i}{k}",
                    "service": "kinnect",
                    "event_type": etype,
                    "account_id": "adult" if etype != "message" else m,
                    "counterparty_account_id": m if etype != "message" else "adult",
                    "started_at": t0 + timedelta(days=i, hours=hours),
                    "ended_at": None,
                    "ip": "10.0.0.1" if etype != "message" else None,
                    "device_id": "dev-1" if etype != "message" else None,
                    "country": "GB" if etype != "message" else "PH",
                }
            )
    events = pl.DataFrame(rows, schema_overrides={"ended_at": pl.Datetime("us", "UTC")})
    account = {
        "service": "kinnect",
        "account_id": "adult",
        "created_at": t0 - timedelta(days=3),
        "age_band": "25+",
        "is_minor": False,
        "country": "GB",
        "verified": False,
    } | change
    kids = [
        {"service": "kinnect", "account_id": m, "created_at": t0 - timedelta(days=400),
         "age_band": "13-15", "is_minor": True, "country": "PH", "verified": False}
        for m in minors
    ]  # fmt: skip
    return GroomingInput(events, pl.DataFrame([account, *kids]))


def _score(data: GroomingInput, params: GroomingParams | None = None) -> dict[str, Any]:
    actors = run_frames(data, params, with_actors=True).actors
    return actors.row(0, named=True) if actors.height else {}


def test_features_read_the_metadata() -> None:
    row = _score(_tiny())
    assert row["actor"] == "kinnect:adult"
    assert (row["initiated"], row["unconnected"], row["foreign_targets"]) == (4, 4, 4)
    assert (row["quick_messages"], row["fast_calls"], row["new_account"]) == (4, 2, 1)
    # an old, verified account scores lower than a new one doing the same
    old = _score(_tiny(created_at=datetime(2020, 1, 1, tzinfo=UTC), verified=True))
    assert old["new_account"] == 0 and old["score"] < row["score"]
    # minors who know each other (a class) count against
    data = _tiny()
    friends = data.platform_events.head(1).with_columns(
        event_id=pl.lit("F1"), account_id=pl.lit("m0"), counterparty_account_id=pl.lit("m1")
    )
    known = GroomingInput(pl.concat([data.platform_events, friends]), data.platform_accounts)
    assert _score(known)["unconnected"] == 2 and _score(known)["score"] < row["score"]
    # fewer minors than min_targets: scored 0
    assert _score(_tiny(), GroomingParams(min_targets=5))["score"] == 0.0


def test_minors_who_befriend_the_actor_count_against() -> None:
    """Two more minors send the adult a friend request themselves (a class, a family):
    the adult reached out first to four of six, and scores lower."""
    data = _tiny()
    inbound = data.platform_events.head(2).with_columns(
        event_id=pl.Series(["I1", "I2"]), event_type=pl.lit("friend_request"),
        account_id=pl.Series(["m4", "m5"]), counterparty_account_id=pl.lit("adult"),
    )  # fmt: skip
    kids = data.platform_accounts.tail(2).with_columns(account_id=pl.Series(["m4", "m5"]))
    mixed = GroomingInput(pl.concat([data.platform_events, inbound]),
                          pl.concat([data.platform_accounts, kids]))  # fmt: skip
    row, befriended = _score(data), _score(mixed)
    assert (befriended["pairs"], befriended["initiated"]) == (6, 4)
    assert (row["pairs"], row["initiated"]) == (4, 4)
    assert befriended["score"] < row["score"]


def test_minors_and_unknown_accounts_are_never_actors() -> None:
    as_minor = _score(_tiny(age_band="16-17", is_minor=True))
    assert as_minor == {}
    flag_only = _score(_tiny(age_band=None, is_minor=True))
    assert flag_only == {}
    no_age = _score(_tiny(age_band=None, is_minor=None))
    assert no_age["initiated"] == 4  # an account with no declared age is an actor


def test_recreated_account_on_the_same_device_is_named() -> None:
    data = _tiny()
    again = data.platform_events.with_columns(
        account_id=pl.when(pl.col("account_id") == "adult").then(pl.lit("adult2"))
        .otherwise(pl.col("account_id")),
        counterparty_account_id=pl.when(pl.col("counterparty_account_id") == "adult")
        .then(pl.lit("adult2")).otherwise(pl.col("counterparty_account_id")),
        event_id=pl.col("event_id") + "b",
    )  # fmt: skip
    second = data.platform_accounts.head(1).with_columns(account_id=pl.lit("adult2"))
    both = GroomingInput(
        pl.concat([data.platform_events, again]), pl.concat([data.platform_accounts, second])
    )
    result = run_frames(both, with_actors=True)
    row = result.actors.filter(pl.col("actor") == "kinnect:adult").row(0, named=True)
    assert row["same_service_siblings"] == 1 and row["sibling_targets"] == 4
    alert = next(a for a in result.alerts if a.subject_id == "kinnect:adult")
    assert "kinnect:adult2" in alert.explanation and "recreated" in alert.explanation


def test_bad_parameters_and_missing_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_targets"):
        GroomingParams(min_targets=0)
    with pytest.raises(ValueError, match="fast_call_hours"):
        GroomingParams(fast_call_hours=0)
    with pytest.raises(DetectorError, match="platform_events"):
        detector_info("grooming").input_from_world(tmp_path)
    _world().platform_events.head(10).write_parquet(tmp_path / "platform_events.parquet")
    with pytest.raises(DetectorError, match="no platform_accounts"):
        run_parquet(tmp_path)
    with pytest.raises(DetectorError, match="no platform_accounts"):
        detector_info("grooming").input_from_world(tmp_path)


def test_bad_platform_accounts_file_names_file_row_and_field(tmp_path: Path) -> None:
    w = _world()
    write_world(w, tmp_path, fmt="csv")
    path = tmp_path / "platform_accounts.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[1]  # a duplicate account
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DetectorError) as info:
        detector_info("grooming").input_from_world(tmp_path)
    assert "platform_accounts.csv, row 2 (line 3), column 'account_id'" in str(info.value)
    assert "duplicate service + account_id" in str(info.value)


def test_registered_like_the_other_detectors(tmp_path: Path) -> None:
    w = _world()
    write_world(w, tmp_path, fmt="parquet")
    info = detector_info("grooming")
    found = check_detector_info(
        info, tmp_path, set(w.platform_events["event_id"].to_list()), min_targets=3
    )
    assert found and info.reads == ("platform_events", "platform_accounts")
    assert (tmp_path / "truth" / "account_labels.csv").is_file()
    # the Parquet path reads the files in place and agrees with the validated frames
    assert [a.alert_id for a in run_parquet(tmp_path).alerts] == [a.alert_id for a in found]


def test_alerts_join_cases_as_the_platform_family() -> None:
    alert = run_frames(_input(_world())).alerts[0]
    assert family(alert) == "platform"


@pytest.mark.spark
def test_duckdb_and_spark_agree(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    data = _input(_world())
    duck = run_frames(data, with_actors=True)
    spark = run_frames(data, engine=SparkEngine(SMALL_DATA_CONF), with_actors=True)
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    d, s = duck.actors.sort("actor"), spark.actors.sort("actor")
    assert d["actor"].equals(s["actor"])
    for col in ("initiated", "unconnected", "fast_calls", "foreign_targets", "sibling_targets"):
        assert d[col].cast(pl.Int64).to_list() == s[col].cast(pl.Int64).to_list(), col
    for a, b in zip(d["score"].to_list(), s["score"].to_list(), strict=True):
        assert a == pytest.approx(b, abs=1e-9)
