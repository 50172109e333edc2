"""Loading a synthetic world's reports into the store and returning the triaged queue."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from daybreak.model.alerts import Alert
from daybreak.store import SYSTEM, Keyring, TiplineStore
from daybreak.store.keys import generate_key
from daybreak.store.world import alerted_identifiers, load_world_reports
from daybreak.tipline import cluster_alert
from daybreak.tipline.world import WorldLoadError

REPORTS = """report_id,received_at,reporter_type,incident_type,occurred_at,is_live,service,victim_age_estimate,victim_country,description
R001,2026-03-01T10:00:00Z,platform,live_streaming_abuse,2026-03-01T09:55:00Z,true,streamx,8,PH,live now
R002,2026-03-02T10:00:00Z,public,online_enticement,,false,streamx,,,
R003,2026-03-03T10:00:00Z,hotline,other,,false,,,GB,
R004,2026-03-04T10:00:00Z,platform,child_sexual_abuse_material,,false,chatz,13,,
"""
IDENTIFIERS = """source,source_id,kind,value,role,seen_at
reports,R001,account,streamx:host77,reported_account,
reports,R001,ip,49.145.0.1,reported_account,2026-03-01T09:50:00Z
reports,R002,account,streamx:host77,reported_account,
reports,R002,payment_handle,gcash:+639171234567,payment,
reports,R004,email,seller@example.org,reported_account,
customers,C1,phone,+639171234567,,
"""


def _world(tmp_path: Path, reports: str = REPORTS) -> Path:
    (tmp_path / "reports.csv").write_text(reports)
    (tmp_path / "identifiers.csv").write_text(IDENTIFIERS)
    return tmp_path


@pytest.fixture
def store(tmp_path: Path) -> TiplineStore:
    s = TiplineStore(f"sqlite+pysqlite:///{tmp_path / 'w.db'}", Keyring.from_text(generate_key()))
    yield s  # type: ignore[misc]
    s.close()


def test_world_reports_load_cluster_and_queue(tmp_path: Path, store: TiplineStore) -> None:
    queue = load_world_reports(store, _world(tmp_path))
    assert [c.tier for c in queue] == sorted(c.tier for c in queue)
    top = queue[0]
    assert top.tier == 1 and set(top.report_ids) == {"R001", "R002"}  # same account
    assert top.is_live and top.country == "PH" and "WCPC" in top.agency
    assert {r for c in queue for r in c.report_ids} == {"R001", "R002", "R003", "R004"}
    gb = next(c for c in queue if c.report_ids == ("R003",))
    assert "NCA" in gb.agency
    # Loading again stores nothing twice.
    again = load_world_reports(store, tmp_path)
    assert store.reports.count() == 4
    assert [c.cluster_id for c in again] == [c.cluster_id for c in queue]
    alert = cluster_alert(top)
    assert alert.detector == "tipline" and set(alert.evidence_ids) == {"R001", "R002"}


def test_world_parquet_files_load_too(tmp_path: Path, store: TiplineStore) -> None:
    (tmp_path / "csv").mkdir()
    csv = _world(tmp_path / "csv")
    out = tmp_path / "pq"
    out.mkdir()
    from daybreak.schema import read_table

    read_table(csv / "reports.csv", "reports").frame.write_parquet(out / "reports.parquet")
    read_table(csv / "identifiers.csv", "identifiers").frame.write_parquet(
        out / "identifiers.parquet"
    )
    assert len(load_world_reports(store, out)) == 3


def test_bad_world_rows_are_named(tmp_path: Path, store: TiplineStore) -> None:
    world = _world(tmp_path)
    (world / "identifiers.csv").write_text(IDENTIFIERS + "reports,R003,phone,not-a-phone,victim,\n")
    with pytest.raises(WorldLoadError, match=r"report R003: identifiers\.0"):
        load_world_reports(store, world)
    assert store.reports.count() == 0
    with pytest.raises(WorldLoadError, match=r"no reports\.parquet or reports\.csv"):
        load_world_reports(store, tmp_path / "nowhere")
    assert pl.read_csv(world / "reports.csv").height == 4


def _alert(detector: str, subject_type: str, subject_id: str) -> Alert:
    return Alert(
        alert_id=f"{detector}:{subject_id}",
        detector=detector,
        subject_type=subject_type,
        subject_id=subject_id,
        score=0.9,
        typologies=("t",),
        explanation="test alert",
    )


def test_other_detectors_alerts_raise_the_reports_about_their_subjects(
    tmp_path: Path, store: TiplineStore
) -> None:
    world = _world(tmp_path)
    alerts = [
        _alert("payments", "beneficiary", "GCash:+63 917 123 4567"),  # R002's payment handle
        _alert("payments", "customer", "C1"),  # a customer is no identifier of a report
        _alert("media", "account", "streamx:host77"),  # R001's and R002's account
        _alert("tipline", "report", "R003"),
    ]
    assert alerted_identifiers(alerts) == {
        "media": ["account:streamx:host77"],
        "payments": ["payment_handle:gcash:+639171234567"],
    }
    load_world_reports(store, world, alerts=alerts)
    reasons = {r.report_id: r.reasons for r in store.reports.by_ids(["R001", "R002"], SYSTEM)}
    assert "+0.020 linked to 1 alert(s) (payments or other detectors)" in reasons["R002"]
    assert not any("linked to" in r for r in reasons["R001"])  # no payment handle
    media = "+0.015 1 media hash match(es) with known material"
    assert media in reasons["R001"] and media in reasons["R002"]


def test_without_other_alerts_no_report_is_linked(tmp_path: Path, store: TiplineStore) -> None:
    load_world_reports(store, _world(tmp_path))
    stored = store.reports.by_ids(["R001", "R002", "R003", "R004"], SYSTEM)
    assert not any("alert(s)" in r or "media hash" in r for s in stored for r in s.reasons)


@pytest.mark.slow
def test_media_matches_of_a_generated_world_raise_its_reports(
    tmp_path: Path, store: TiplineStore
) -> None:
    """The pipeline of ``daybreak demo``: synthetic world -> media hash matching ->
    reports loaded with the media alerts. Seed 42's world has a report that names an
    account seen with listed media (asserted below, so the test cannot pass empty)."""
    from daybreak.media.sightings import demo_matcher, match_sightings, sighting_alerts
    from daybreak.synth import generate_world, write_world
    from daybreak.tipline.intake import report_identifiers
    from daybreak.tipline.world import world_reports

    world = generate_world(2000, 3, 42, "default")
    write_world(world, tmp_path / "world")
    known = world.links.filter(pl.col("source") == "media_sightings")["record_id"].to_list()
    matcher = demo_matcher(world.media_sightings, tmp_path / "banks", known_ids=known)
    alerts = sighting_alerts(match_sightings(world.media_sightings, matcher))
    matched = set(alerted_identifiers(alerts)["media"])
    about_matched = {
        rid
        for rid, _, report in world_reports(tmp_path / "world")
        if matched & {i.key for i in report_identifiers(report)}
    }
    assert about_matched
    load_world_reports(store, tmp_path / "world", alerts=alerts)
    for stored in store.reports.by_ids(sorted(about_matched), SYSTEM):
        assert any("media hash match(es) with known material" in r for r in stored.reasons)
