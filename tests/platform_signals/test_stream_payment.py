"""Live stream - payment coincidence: the look-alike in the world, the detector on both
engines, its explanations, its registration, fusion and its evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from daybreak.detectors import DetectorError
from daybreak.detectors.info import detector_info
from daybreak.engines.stream_payment import StreamPaymentDetector, run_frames
from daybreak.graph.fusion import FusionContext, family, fuse
from daybreak.platform.coincidence import CoincidenceParams
from daybreak.platform.evaluate import (
    average_precision,
    evaluate_pairs,
    planted_pairs,
    relatives_calls,
)
from daybreak.platform.inputs import StreamPaymentInput
from daybreak.synth import World, generate_world, write_world
from daybreak.testing import check_detector, check_detector_info


@cache
def _world(seed: int = 5) -> World:
    return generate_world(customers=2500, months=4, seed=seed, relatives_calls=True)


def _input(w: World) -> StreamPaymentInput:
    return StreamPaymentInput(w.platform_events, w.identifiers, w.transactions, w.customers)


def _relative_calls(w: World) -> pl.DataFrame:
    return relatives_calls(w.links, w.platform_events, w.identifiers)


def test_relatives_calls_are_about_five_percent_of_calls_with_payments_around_them() -> None:
    w = _world()
    calls = w.platform_events.filter(pl.col("event_type") == "call").height
    relatives = _relative_calls(w)
    assert 0.03 <= relatives.height / calls <= 0.08
    # ...from the same corridor countries as the facilitators, and many coincide with a
    # payment to a relative (the look-alike the detector must not flag).
    pairs = run_frames(_input(w), with_pairs=True).pairs
    innocent = pairs.filter(pl.col("event_id").is_in(relatives["event_id"].to_list()))
    assert innocent.height >= 0.2 * relatives.height
    labels = w.labels.filter(pl.col("subject_type") == "beneficiary")
    paid = labels.filter(pl.col("subject_id").is_in(innocent["receiver_id"].to_list()))
    assert set(paid["scenario"].to_list()) == {"family"}


def test_detector_finds_planted_pairs_and_spares_relatives() -> None:
    w = _world()
    result = run_frames(_input(w), with_pairs=True)
    planted = planted_pairs(w.links, w.platform_events, w.transactions, w.identifiers)
    m = evaluate_pairs(result.pairs, planted, w.links, w.labels, threshold=0.5)
    assert m["planted_pairs"] > 50
    assert m["recall"] >= 0.8
    assert m["false_pair_share"] <= 0.01
    assert m["relative_candidates"] > 0 and m["relative_false_alarms"] == 0
    assert m["average_precision"] >= 0.9


def test_alerts_pass_the_kit_and_name_the_evidence() -> None:
    w = _world()
    events = set(w.platform_events["event_id"].to_list())
    alerts = check_detector(StreamPaymentDetector(), _input(w), evidence_ids=events)
    top = alerts[0]
    assert top.detector == "stream_payment" and top.subject_type == "customer"
    txn = w.transactions.filter(pl.col("sender_id") == top.subject_id)["txn_id"].to_list()
    assert any(t in top.explanation for t in txn), "names the payments"
    assert top.evidence_ids[0] in top.explanation, "names the shows"
    assert "minutes before" in top.explanation or "minutes after" in top.explanation


def _tiny(minutes: list[int], streamer_country: str = "PH") -> StreamPaymentInput:
    t0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
    n = len(minutes)
    events = pl.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(n)],
            "service": ["streamly"] * n,
            "event_type": ["stream"] * n,
            "account_id": ["seller"] * n,
            "counterparty_account_id": ["Viewer"] * n,
            "started_at": [t0 + timedelta(days=i) for i in range(n)],
            "ended_at": [t0 + timedelta(days=i, minutes=30) for i in range(n)],
            "ip": [None] * n,
            "device_id": [None] * n,
            "country": [streamer_country] * n,
        }
    )
    idents = pl.DataFrame(
        {"source": ["customers"], "source_id": ["C1"], "kind": ["account"],
         "value": ["streamly:viewer"], "role": ["customer"], "seen_at": [None]}
    )  # fmt: skip
    tx = pl.DataFrame(
        {
            "txn_id": [f"T{i}" for i in range(n)],
            "timestamp": [t0 + timedelta(days=i, minutes=m) for i, m in enumerate(minutes)],
            "sender_id": ["C1"] * n,
            "sender_name": ["A B"] * n,
            "sender_country": ["AU"] * n,
            "receiver_id": ["gcash:+639170000000"] * n,
            "receiver_name": ["C D"] * n,
            "receiver_country": ["PH"] * n,
            "amount": [50.0] * n,
            "currency": ["AUD"] * n,
            "channel": ["remittance"] * n,
            "reference": [None] * n,
            "merchant_category": [None] * n,
        }
    )
    return StreamPaymentInput(events, idents, tx)


def test_window_and_country_decide_what_coincides() -> None:
    params = CoincidenceParams(window_minutes=30, alert_score=0.0)
    inside = run_frames(_tiny([-20, 10, 25]), params, with_pairs=True)
    assert inside.pairs.height == 3
    assert sorted(inside.pairs["minutes"].to_list()) == [-20.0, 10.0, 25.0]
    assert run_frames(_tiny([-40, 31, 45]), params, with_pairs=True).pairs.height == 0
    assert run_frames(_tiny([-5, 5], "NG"), params, with_pairs=True).pairs.height == 0
    # once is not "repeatedly": one coinciding show scores 0 and raises no alert
    once = run_frames(_tiny([5, 500]), CoincidenceParams(window_minutes=30), with_pairs=True)
    assert once.pairs["score"].to_list() == [0.0] and once.alerts == []


def test_bad_parameters_and_missing_tables_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="window_minutes"):
        CoincidenceParams(window_minutes=0)
    with pytest.raises(DetectorError, match="platform_events"):
        detector_info("stream_payment").input_from_world(tmp_path)


def test_registered_like_the_other_detectors(tmp_path: Path) -> None:
    w = _world()
    write_world(w, tmp_path, fmt="parquet")
    info = detector_info("stream_payment")
    found = check_detector_info(
        info, tmp_path, set(w.platform_events["event_id"].to_list()), window_minutes=60
    )
    assert found and info.reads[0] == "platform_events"


def test_fused_cases_say_the_platform_agrees() -> None:
    alerts = list(run_frames(_input(_world())).alerts[:1])
    assert family(alerts[0]) == "platform"
    payment = alerts[0].model_copy(update={"alert_id": "p1", "detector": "payments", "score": 0.7})
    fused = fuse([alerts[0], payment], FusionContext())
    assert fused.sources == ["payments", "platform"]
    assert "platform detection" in fused.explanation and "payment alert" in fused.explanation


def test_average_precision_counts_unranked_positives() -> None:
    assert average_precision([0.9, 0.1], [True, False], 1) == 1.0
    assert average_precision([0.9, 0.1], [False, True], 1) == 0.5
    assert average_precision([0.9], [True], 2) == 0.5


@pytest.mark.spark
def test_duckdb_and_spark_agree(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    data = _input(_world())
    duck = run_frames(data, with_pairs=True)
    spark = run_frames(data, engine=SparkEngine(SMALL_DATA_CONF), with_pairs=True)
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    key = ["customer_id", "streamer", "receiver_id"]
    d, s = duck.triples.sort(key), spark.triples.sort(key)
    assert d[key].equals(s[key])
    for col in ("shows", "payments", "viewers"):
        assert d[col].to_list() == s[col].to_list()
    for a, b in zip(d["score"].to_list(), s["score"].to_list(), strict=True):
        assert a == pytest.approx(b, abs=1e-9)
