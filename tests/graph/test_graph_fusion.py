"""Signal fusion: noisy-OR across independent families, context, explanation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from daybreak.graph.fusion import FusionContext, fuse
from daybreak.graph.signals import alerts_from_media_matches, alerts_from_reports
from daybreak.model.alerts import Alert
from daybreak.model.cases import Tier

T = datetime(2026, 1, 1, tzinfo=UTC)


def alert(detector: str, score: float, i: int = 0) -> Alert:
    return Alert(
        alert_id=f"{detector}-{i}",
        detector=detector,
        subject_type="customer",
        subject_id="C1",
        score=score,
        explanation=f"{detector} says so",
        first_seen=T,
        last_seen=T,
    )


def test_independent_families_combine_by_noisy_or() -> None:
    one = fuse([alert("payments", 0.7)], FusionContext())
    two = fuse([alert("payments", 0.7), alert("media", 0.7)], FusionContext())
    three = fuse(
        [alert("payments", 0.7), alert("media", 0.7), alert("tipline", 0.7)], FusionContext()
    )
    assert one.priority == pytest.approx(0.7)
    assert two.priority == pytest.approx(0.91)
    assert three.priority == pytest.approx(0.973)
    assert "3 independent sources" in three.explanation
    assert three.sources == ["media", "payments", "reports"]


def test_repeated_alerts_of_one_family_do_not_compound() -> None:
    many = fuse([alert("payments", 0.7, i) for i in range(5)], FusionContext())
    assert many.priority == pytest.approx(0.7)
    assert "One source" in many.explanation


def test_a_case_names_the_platform_detectors_that_agree() -> None:
    fused = fuse(
        [alert("payments", 0.7), alert("sextortion", 0.6), alert("grooming", 0.8, 1)],
        FusionContext(),
    )
    # one platform family (the best of its two alerts), but both detectors are named
    assert fused.sources == ["payments", "platform"]
    assert fused.priority == pytest.approx(1 - 0.3 * 0.2)
    assert "platform detection [grooming, sextortion] 0.80" in fused.explanation
    assert "payment alert 0.70" in fused.explanation
    assert "[" not in fuse([alert("payments", 0.7)], FusionContext()).explanation


def test_context_moves_priority_and_tier_with_reasons() -> None:
    base = [alert("payments", 0.5)]
    assert fuse(base, FusionContext()).tier is Tier.COMMERCIAL_OR_VOLUME
    live = fuse(base, FusionContext(live_reports=("R1",)))
    assert live.priority >= 0.9 and live.tier is Tier.LIVE_OR_IMMEDIATE_RISK
    assert "R1" in live.explanation
    offender = fuse(base, FusionContext(known_offenders=("customer:C4",)))
    assert offender.priority == pytest.approx(1 - 0.5 * 0.7)
    assert offender.tier is Tier.KNOWN_OFFENDER_ACCESS
    hub = fuse(base, FusionContext(hubs=(("payment_handle:x", 9),)))
    assert hub.priority == pytest.approx(1 - 0.5 * 0.8)
    assert "9 unrelated customers" in hub.explanation
    old = fuse(base, FusionContext(as_of=T + timedelta(days=30)))
    assert old.priority == pytest.approx(0.5 * 0.75)


def test_fuse_needs_alerts() -> None:
    with pytest.raises(ValueError, match="at least one alert"):
        fuse([], FusionContext())


def test_report_alerts() -> None:
    reports = pl.DataFrame(
        {
            "report_id": ["R1", "R2"],
            "received_at": [T, T],
            "reporter_type": ["platform", "public"],
            "incident_type": ["live_streaming_abuse", "grooming"],
            "is_live": [True, False],
            "victim_age_estimate": [10, None],
        }
    )
    r1, r2 = alerts_from_reports(reports)
    assert r1.score > r2.score and "live" in r1.typologies and r1.score < 1.0
    assert r2.subject_type == "report" and r2.evidence_ids == ("R2",)


def test_media_alerts_score_closer_matches_higher() -> None:
    near, far = alerts_from_media_matches(
        [
            {"sighting_id": "S1", "account_id": None, "bank": "b", "distance": 0},
            {"sighting_id": "S2", "account_id": "a", "bank": "b", "distance": 31},
        ]
    )
    assert near.score > far.score >= 0.5
    with pytest.raises(ValueError, match="sighting_id, account_id, bank, distance"):
        alerts_from_media_matches([{"sighting_id": "S3"}])


def report_alert(typologies: tuple[str, ...], explanation: str, score: float = 0.8) -> Alert:
    return Alert(
        alert_id="tipline:R00000061",
        detector="tipline",
        subject_type="report",
        subject_id="R00000061",
        score=score,
        typologies=typologies,
        explanation=explanation,
        evidence_source="reports",
        evidence_ids=("R00000061",),
        first_seen=T,
        last_seen=T,
    )


def test_case_tier_is_the_most_severe_tier_of_its_evidence() -> None:
    # A payments case with a triaged tier-2 report (live streaming abuse, a 10-year-old
    # victim) was filed as tier 5 because only the cluster context set the tier.
    triaged = report_alert(
        ("icac_tier_2",),
        "tier 2: live streaming abuse: a child with a facilitator; victim estimated 10 years old",
    )
    fused = fuse([alert("payments", 0.9), triaged], FusionContext())
    assert fused.tier is Tier.KNOWN_OFFENDER_ACCESS
    assert "set by tipline:R00000061" in fused.explanation
    assert fused.reasons[0].startswith("Priority") and "tier 2" in fused.reasons[0]


@pytest.mark.parametrize(
    ("typologies", "tier"),
    [
        (("live_streaming_abuse",), Tier.KNOWN_OFFENDER_ACCESS),
        (("child_sex_trafficking",), Tier.KNOWN_OFFENDER_ACCESS),
        (("other", "live"), Tier.LIVE_OR_IMMEDIATE_RISK),
        (("sextortion",), Tier.AGGRESSIVE_SOLICITATION),
        (("icac_tier_1",), Tier.LIVE_OR_IMMEDIATE_RISK),
    ],
)
def test_report_alert_types_carry_their_triage_tier(
    typologies: tuple[str, ...], tier: Tier
) -> None:
    fused = fuse([alert("payments", 0.9), report_alert(typologies, "report")], FusionContext())
    assert fused.tier is tier


def test_context_incident_type_of_a_facilitated_report_is_tier_2() -> None:
    ctx = FusionContext(incident_types=("live_streaming_abuse",))
    assert fuse([alert("payments", 0.9)], ctx).tier is Tier.KNOWN_OFFENDER_ACCESS


def test_a_less_severe_alert_tier_never_lowers_the_case_tier() -> None:
    ctx = FusionContext(live_reports=("R1",))
    fused = fuse([report_alert(("icac_tier_5",), "volume")], ctx)
    assert fused.tier is Tier.LIVE_OR_IMMEDIATE_RISK
    assert "set by" not in fused.explanation
