"""Recruitment ads and fake profiles: the networks and look-alikes in the world, the
detector on both engines, its explanations, registration, graph links and cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from daybreak.detectors import DetectorError
from daybreak.detectors.info import detector_info
from daybreak.engines.ads import AdsDetector, run_frames, run_parquet
from daybreak.graph import build_cases, build_world_graph
from daybreak.graph.fusion import family
from daybreak.platform.ads import AdsParams
from daybreak.platform.evaluate import evaluate_ad_details
from daybreak.platform.inputs import AdsInput
from daybreak.synth import World, generate_world, write_world
from daybreak.synth.ads import LOOKALIKES, NETWORK, AdsPriors
from daybreak.testing import check_detector, check_detector_info

T0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
PHONE = "+639171234567"


@cache
def _world(seed: int = 6) -> World:
    return generate_world(customers=1500, months=4, seed=seed, ads_priors=AdsPriors())


def _ads(w: World) -> pl.DataFrame:
    assert w.platform_ads is not None
    return w.platform_ads


def test_world_plants_networks_and_every_lookalike_with_labels() -> None:
    w = _world()
    assert w.account_labels is not None
    labels = w.account_labels.filter(pl.col("subject_type") == "ad")
    assert set(labels["subject_id"].to_list()) == set(_ads(w)["ad_id"].to_list())
    assert {NETWORK, *LOOKALIKES} == set(labels["scenario"].to_list())
    network = labels.filter(pl.col("label") == 1)
    assert network["case_id"].null_count() == 0
    linked = w.links.filter(pl.col("source") == "platform_ads")
    assert set(linked["record_id"].to_list()) == set(network["subject_id"].to_list())
    assert w.params is not None and "networks_per_10k" in w.params["ads"]
    plain = generate_world(customers=600, months=2, seed=9)
    assert plain.platform_ads is not None and plain.platform_ads.height == 0
    assert plain.tables()["platform_ads"].columns == _ads(w).columns


def test_detector_finds_network_details_and_spares_the_lookalikes() -> None:
    w = _world()
    result = run_frames(AdsInput(_ads(w)), with_details=True)
    assert w.account_labels is not None
    m = evaluate_ad_details(result.details, _ads(w), w.account_labels, AdsParams().alert_score)
    assert m["network_details"] >= 10
    assert m["average_precision"] >= 0.95 and m["recall"] >= 0.6
    assert m["lookalike_accounts"] >= 200 and m["lookalike_false_alarm_rate"] <= 0.01
    for lookalike in LOOKALIKES:
        assert m["by_scenario"][lookalike]["accounts"] > 0


def test_alerts_pass_the_kit_and_name_the_evidence() -> None:
    w = _world()
    alerts = check_detector(AdsDetector(), AdsInput(_ads(w)),
                            evidence_ids=set(_ads(w)["ad_id"].to_list()))  # fmt: skip
    top = alerts[0]
    assert top.detector == "recruitment_ads" and top.subject_type == "entity"
    assert top.subject_id.split(":", 1)[0] in ("phone", "payment_handle", "hash")
    assert top.evidence_ids[0] in top.explanation and "accounts on" in top.explanation
    assert family(top) == "platform"


def _tiny(accounts: int, cities: int, category: str = "online_job") -> AdsInput:
    """Six ads giving one phone, from ``accounts`` accounts in ``cities`` cities."""
    rows = [
        {"ad_id": f"A{i}", "service": "kinnect", "record_type": "ad",
         "account_id": f"u{i % accounts}", "posted_at": T0 + timedelta(days=i),
         "city": f"City {i % cities}", "country": "PH", "category": category,
         "contact_phone": PHONE, "payment_handle": None, "photo_pdq": None}
        for i in range(6)
    ]  # fmt: skip
    schema = {"payment_handle": pl.String, "photo_pdq": pl.String}
    return AdsInput(pl.DataFrame(rows, schema_overrides=schema))


def test_features_read_the_ads() -> None:
    network = run_frames(_tiny(6, 4), with_details=True).details.row(0, named=True)
    assert (network["kind"], network["value"]) == ("phone", PHONE)
    assert (network["ads"], network["accounts"], network["places"]) == (6, 6, 4)
    assert network["risky_share"] == 1.0 and network["score"] >= 0.5
    # an agency: one account re-posting in several cities scores lower
    agency = run_frames(_tiny(1, 4), with_details=True).details.row(0, named=True)
    assert agency["accounts"] == 1 and agency["score"] < network["score"]
    # a shared office phone: many accounts, one city, everyday categories
    office = run_frames(_tiny(6, 1, "hospitality"), with_details=True).details
    assert office.row(0, named=True)["score"] < 0.5
    # one ad is no reuse: never scored
    one = AdsInput(_tiny(6, 4).platform_ads.head(1))
    assert run_frames(one, with_details=True).details.row(0, named=True)["score"] == 0.0


def test_details_given_together_link_their_cities() -> None:
    """A phone in two ads of one city whose photo also appears in ads of three other
    cities is linked to four cities (one hop through the photo); alone it has one."""
    ads = _tiny(2, 1).platform_ads.head(2).with_columns(photo_pdq=pl.lit("ab" * 32))
    elsewhere = _tiny(3, 3).platform_ads.head(3).with_columns(
        ad_id="B" + pl.col("ad_id"), contact_phone=pl.lit("+639170000002"),
        photo_pdq=pl.lit("ab" * 32), city="Elsewhere " + pl.col("city"),
    )  # fmt: skip
    details = run_frames(AdsInput(pl.concat([ads, elsewhere])), with_details=True).details
    linked = details.filter(pl.col("value") == PHONE).row(0, named=True)
    assert (linked["places"], linked["linked_places"]) == (1, 4)
    alone = run_frames(AdsInput(ads.with_columns(photo_pdq=pl.lit(None, pl.String))),
                       with_details=True).details.filter(pl.col("value") == PHONE)  # fmt: skip
    assert alone.row(0, named=True)["linked_places"] == 1
    assert alone.row(0, named=True)["score"] < linked["score"]


def test_bad_parameters_and_missing_table_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_ads"):
        AdsParams(min_ads=1)
    with pytest.raises(DetectorError, match="platform_ads"):
        detector_info("recruitment_ads").input_from_world(tmp_path)


def test_registered_linked_into_the_graph_and_cases(tmp_path: Path) -> None:
    w = _world()
    write_world(w, tmp_path)
    info = detector_info("recruitment_ads")
    found = check_detector_info(info, tmp_path, set(_ads(w)["ad_id"].to_list()), min_ads=3)
    assert found and info.reads == ("platform_ads",)
    alerts = run_parquet(tmp_path).alerts
    assert [a.alert_id for a in alerts] == [
        a.alert_id for a in run_frames(AdsInput(_ads(w))).alerts
    ]
    # the posting accounts link to the details they give, so a network meets at them
    wg = build_world_graph(tmp_path, probabilistic=False)
    ad_edges = wg.links.edges.filter(pl.col("origin") == "platform_ads")
    assert {"ad_phone", "ad_photo", "ad_payment_handle"} == set(ad_edges["relation"].to_list())
    top = alerts[0]
    assert top.subject_id.lower() in {k.lower() for k in wg.graph.nodes}
    cases = build_cases(tmp_path, alerts, world_graph=wg, include_reports=False)
    case = next(c for c in cases if top.alert_id in c.alert_ids)
    assert "platform" in case.sources
    assert sum(n.kind == "account" for n in case.nodes) >= 2, "the accounts that gave it"


@pytest.mark.spark
def test_duckdb_and_spark_agree(java_home: str) -> None:
    from daybreak.engines.spark import SMALL_DATA_CONF, SparkEngine

    data = AdsInput(_ads(_world()))
    duck = run_frames(data, with_details=True)
    spark = run_frames(data, engine=SparkEngine(SMALL_DATA_CONF), with_details=True)
    assert [a.model_dump() for a in spark.alerts] == [a.model_dump() for a in duck.alerts]
    d, s = duck.details.sort("kind", "value"), spark.details.sort("kind", "value")
    for col in ("ads", "accounts", "places", "services"):
        assert d[col].cast(pl.Int64).to_list() == s[col].cast(pl.Int64).to_list(), col
    for a, b in zip(d["score"].to_list(), s["score"].to_list(), strict=True):
        assert a == pytest.approx(b, abs=1e-9)
