"""Recruitment ads and fake profiles: the networks and look-alikes in the world, the
detector on both engines, its explanations, registration, graph links and cases."""

from __future__ import annotations

from dataclasses import asdict
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
from daybreak.synth.ads import LOOKALIKES, NETWORK, WIDE, AdsPriors
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


def test_each_world_draws_networks_and_lookalikes_from_wide_bands() -> None:
    bands = asdict(AdsPriors())
    draws = [AdsPriors().draw(seed) for seed in (1, 2, 3)]
    for name, band in bands.items():
        assert all(band["lo"] <= d[name] <= band["hi"] for d in draws), name
        assert len({d[name] for d in draws}) == 3, f"{name} is not drawn per world"
    # the look-alikes keep to their world's draw
    w = _world()
    assert w.params is not None and w.account_labels is not None
    drawn = w.params["ads"]
    scenario = w.account_labels.select(pl.col("subject_id").alias("ad_id"), "scenario")
    per_phone = (
        _ads(w).join(scenario, on="ad_id")
        .group_by("scenario", "contact_phone")
        .agg(accounts=(pl.col("service") + ":" + pl.col("account_id")).n_unique(),
             cities=pl.col("city").n_unique(), countries=pl.col("country").n_unique())
    )  # fmt: skip
    agencies = per_phone.filter(pl.col("scenario") == "agency_reposts")
    offices = per_phone.filter(pl.col("scenario") == "shared_office_phone")
    assert agencies.height >= 4 and offices.height >= 4
    assert agencies["accounts"].max() <= max(2, round(drawn["agency_accounts"]))
    assert agencies["cities"].max() <= max(2, round(drawn["agency_cities"]))
    assert offices["accounts"].max() <= max(2, round(drawn["office_businesses"]))
    assert set(offices["cities"].to_list()) == {1} and set(agencies["countries"].to_list()) == {1}


@pytest.mark.parametrize("seed", [101, 102, 103])
def test_quality_on_worlds_with_every_band_widened(seed: int) -> None:
    """Networks with few ads, one city or reused accounts (``WIDE``), and look-alikes
    drawn per world: every network detail ranks high, no look-alike is flagged."""
    w = generate_world(customers=1500, months=4, seed=seed, ads_priors=WIDE)
    assert w.account_labels is not None
    details = run_frames(AdsInput(_ads(w)), with_details=True).details
    m = evaluate_ad_details(details, _ads(w), w.account_labels, AdsParams().alert_score)
    assert m["network_details"] >= 5, m
    assert m["average_precision"] >= 0.9 and m["lookalike_false_alarm_rate"] <= 0.01, m


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


def _ad(
    ad_id: str,
    account: str,
    city: str,
    country: str = "PH",
    *,
    phone: str | None = None,
    photo: str | None = None,
    handle: str | None = None,
    category: str = "online_job",
    record_type: str = "ad",
    service: str = "kinnect",
) -> dict[str, object]:
    return {"ad_id": ad_id, "service": service, "record_type": record_type,
            "account_id": account, "posted_at": T0 + timedelta(days=len(ad_id)), "city": city,
            "country": country, "category": category, "contact_phone": phone,
            "payment_handle": handle, "photo_pdq": photo}  # fmt: skip


def _frame(rows: list[dict[str, object]]) -> AdsInput:
    schema = {"contact_phone": pl.String, "payment_handle": pl.String, "photo_pdq": pl.String}
    return AdsInput(pl.DataFrame(rows, schema_overrides=schema))


def _details(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    details = run_frames(_frame(rows), with_details=True).details
    return {str(r["value"]): r for r in details.iter_rows(named=True)}


PHOTO_A, PHOTO_B, PHOTO_C = "a1" * 32, "b2" * 32, "c3" * 32
PHONE_2, HANDLE = "+639170000002", "gcash:+639170000003"
AGENCY_PHONE, OFFICE_PHONE = "+61290000001", "+61390000002"
# A small network: a phone in two ads of one city from one account, whose photo is shown
# by a second account with a second phone, whose handle is given by a third account in
# Bangkok and Sydney (three links away: phone - photo - phone - handle).
SMALL_NETWORK = [
    _ad("N1", "u1", "Cebu", phone=PHONE, photo=PHOTO_A),
    _ad("N2", "u1", "Cebu", phone=PHONE, photo=PHOTO_B, record_type="profile"),
    _ad("N3", "u2", "Manila", phone=PHONE_2, photo=PHOTO_A, category="model"),
    _ad("N4", "u2", "Manila", phone=PHONE_2, handle=HANDLE, record_type="profile"),
    _ad("N5", "u3", "Bangkok", "TH", handle=HANDLE, photo=PHOTO_C, category="travel_job"),
    _ad("N6", "u4", "Sydney", "AU", handle=HANDLE, photo=PHOTO_C),
]


def test_networks_join_details_through_shared_details_and_accounts() -> None:
    """Every ad linked by shared details or accounts, however many links away, is one
    network; its counts reach the detail given only in Cebu."""
    phone = _details(SMALL_NETWORK)[PHONE]
    assert (phone["ads"], phone["accounts"], phone["places"]) == (2, 1, 1)
    assert (phone["net_ads"], phone["net_accounts"], phone["net_places"]) == (6, 4, 4)
    assert (phone["net_countries"], phone["net_phones"], phone["net_pdqs"]) == (3, 2, 3)
    assert phone["net_payment_handles"] == 1 and phone["net_most_per_account"] == 2
    assert phone["net_profile_share"] == pytest.approx(2 / 6)
    assert phone["score"] >= 0.5
    # the same two ads alone: an ordinary poster's two ads, not a network
    alone = _details([*SMALL_NETWORK[:1], _ad("N2", "u1", "Cebu", phone=PHONE, photo=PHOTO_A)])
    assert (alone[PHONE]["net_ads"], alone[PHONE]["net_places"]) == (2, 1)
    assert alone[PHONE]["score"] < 0.5 < phone["score"]


def test_an_ad_naming_only_its_account_joins_that_accounts_network() -> None:
    """Version 5 passes labels through the ads naming two or more nodes only: an ad whose
    details are its own (N7: u4's own phone) still belongs to its account's network, an
    account whose ads give only their own details stays out of every network, and a
    detail in one ad has no network and scores 0."""
    own, other = "+639170000007", "+639170000008"
    rows = [*SMALL_NETWORK, _ad("N7", "u4", "Perth", "AU", phone=own),
            _ad("N8", "u9", "Davao", phone=other), _ad("N9", "u9", "Davao", photo="d4" * 32)]  # fmt: skip
    details = _details(rows)
    phone = details[PHONE]
    assert (phone["net_ads"], phone["net_accounts"], phone["net_places"]) == (7, 4, 5)
    assert (phone["net_phones"], phone["net_pdqs"]) == (3, 3)
    assert details[own]["net_ads"] is None and details[own]["score"] == 0.0
    assert details[own]["ads"] == 1 and details[own]["accounts"] == 1
    assert details[other]["net_ads"] is None


def test_network_explanation_and_evidence_name_the_networks_ads() -> None:
    found = run_frames(_frame(SMALL_NETWORK)).alerts
    by_subject = {a.subject_id: a for a in found}
    alert = by_subject[f"phone:{PHONE}"]
    assert alert.evidence_ids[:2] == ("N1", "N2")
    assert set(alert.evidence_ids) == {f"N{i}" for i in range(1, 7)}
    assert "Its network" in alert.explanation and "6 ads from 4 accounts in 4 cities" in (
        alert.explanation
    )
    assert "Bangkok" in alert.explanation and "up to 2 phones or photos" in alert.explanation


def _agency(accounts: int, cities: int, ads: int = 24) -> list[dict[str, object]]:
    """A staffing agency re-posting its ads from ``accounts`` branch accounts in
    ``cities`` cities with its office phone, handle and logo; a third online jobs."""
    return [
        _ad(f"G{i}", f"branch{i % accounts}", f"City {i % cities}", "AU", phone=AGENCY_PHONE,
            photo=PHOTO_A, handle="payid:jobs@example.com" if i % 3 == 0 else None,
            category=("online_job", "domestic_work", "hospitality")[i % 3],
            service=("kinnect", "streamly")[i % accounts % 2])
        for i in range(ads)
    ]  # fmt: skip


def _office(businesses: int) -> list[dict[str, object]]:
    """``businesses`` unrelated businesses in one building giving its front-desk phone,
    each with its own account, photo and handle, two ads each."""
    return [
        _ad(f"O{b}{k}", f"shop{b}", "Melbourne", "AU", phone=OFFICE_PHONE, photo=f"{b:02d}" * 32,
            handle=f"payid:shop{b}@example.com", category=("online_job", "hospitality")[b % 2],
            service=("kinnect", "streamly", "hoopla")[b % 3])
        for b in range(businesses) for k in range(2)
    ]  # fmt: skip


@pytest.mark.parametrize("accounts", [1, 2, 4])
def test_agency_reposting_in_many_cities_is_not_a_network(accounts: int) -> None:
    details = _details(_agency(accounts, cities=7))
    phone = details[AGENCY_PHONE]
    assert (phone["net_places"], phone["net_accounts"], phone["net_most_per_account"]) == (
        7, accounts, 1,
    )  # fmt: skip
    network = _details(SMALL_NETWORK)[PHONE]["score"]
    assert all(d["score"] < 0.5 for d in details.values()), details
    assert max(float(d["score"]) for d in details.values()) < float(network)


@pytest.mark.parametrize("businesses", [3, 8])
def test_shared_office_phone_is_not_a_network(businesses: int) -> None:
    details = _details(_office(businesses))
    phone = details[OFFICE_PHONE]
    assert (phone["accounts"], phone["net_accounts"], phone["net_places"]) == (
        businesses, businesses, 1,
    )  # fmt: skip
    assert phone["net_pdqs"] == businesses and phone["net_most_per_account"] == 1
    assert all(d["score"] < 0.5 for d in details.values()), details
    assert float(phone["score"]) < float(_details(SMALL_NETWORK)[PHONE]["score"])


def test_networks_are_found_however_the_ads_are_ordered() -> None:
    """Label propagation takes the least label: reversing the ads changes no score."""
    forward = _details(SMALL_NETWORK + _office(3))
    backward = _details(list(reversed(SMALL_NETWORK + _office(3))))
    assert {k: v["score"] for k, v in forward.items()} == pytest.approx(
        {k: v["score"] for k, v in backward.items()}
    )
    assert forward[PHONE]["network"] == forward[HANDLE]["network"]
    assert forward[PHONE]["network"] != forward[OFFICE_PHONE]["network"]


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
