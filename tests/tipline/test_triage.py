"""ICAC-style tiers and scores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from tipline_samples import report

from daybreak.model.cases import Tier
from daybreak.tipline.intake import IncidentType, Indicator, ReportIn
from daybreak.tipline.triage import TriageContext, triage


def _plain(**kw: object) -> ReportIn:
    return ReportIn.model_validate({"reporter": {"type": "public"}, "incident_type": "other", **kw})


def test_tiers_follow_the_danger_to_a_child() -> None:
    assert triage(_plain(is_live=True)).tier is Tier.LIVE_OR_IMMEDIATE_RISK
    assert (
        triage(_plain(indicators=["child_in_immediate_danger"])).tier is Tier.LIVE_OR_IMMEDIATE_RISK
    )
    assert triage(_plain(escalation="child in danger tonight")).tier is Tier.LIVE_OR_IMMEDIATE_RISK
    assert (
        triage(_plain(indicators=["offender_has_access_to_child"])).tier
        is Tier.KNOWN_OFFENDER_ACCESS
    )
    assert triage(_plain(incident_type="child_sex_trafficking")).tier is Tier.KNOWN_OFFENDER_ACCESS
    assert triage(_plain(incident_type="sextortion")).tier is Tier.AGGRESSIVE_SOLICITATION
    assert triage(_plain(indicators=["home_produced"])).tier is Tier.HOME_PRODUCED
    assert triage(_plain(indicators=["commercial"])).tier is Tier.COMMERCIAL_OR_VOLUME
    assert triage(_plain(), TriageContext(prior_reports=2)).tier is Tier.COMMERCIAL_OR_VOLUME
    assert triage(_plain()).tier is Tier.OTHER


def test_actionability_raises_the_score_within_the_tier() -> None:
    bare = triage(_plain(incident_type="online_enticement"))
    rich = triage(report())  # IP with time, located 11-year-old victim, account
    assert rich.tier is bare.tier is Tier.AGGRESSIVE_SOLICITATION
    assert rich.score > bare.score
    assert any("IP capture" in r for r in rich.reasons)
    assert any("victim location" in r for r in rich.reasons)
    linked = triage(report(), TriageContext(prior_reports=3, linked_alerts=1, hash_matches=1))
    assert linked.score > rich.score
    assert any("earlier report" in r for r in linked.reasons)


@given(
    live=st.booleans(),
    incident=st.sampled_from(list(IncidentType)),
    indicators=st.lists(st.sampled_from(list(Indicator)), max_size=3, unique=True),
    age=st.none() | st.integers(0, 17),
    prior=st.integers(0, 50),
    alerts=st.integers(0, 5),
)
def test_a_more_urgent_tier_always_scores_higher(
    live: bool,
    incident: IncidentType,
    indicators: list[Indicator],
    age: int | None,
    prior: int,
    alerts: int,
) -> None:
    r = _plain(
        is_live=live,
        incident_type=incident,
        indicators=indicators,
        victim={"age_estimate": age, "country": "PH"},
    )
    t = triage(r, TriageContext(prior, alerts, 0))
    bare = triage(_plain(is_live=live, incident_type=incident, indicators=indicators))
    assert 0.0 <= t.score <= 1.0
    assert t.reasons[0].startswith(f"tier {int(t.tier)}")
    # Score bands: everything in tier n outranks everything in tier n+1.
    worst_of_better_tier = {1: 0.85, 2: 0.70, 3: 0.55, 4: 0.40, 5: 0.25, 6: 0.10}[int(t.tier)]
    assert worst_of_better_tier <= t.score < worst_of_better_tier + 0.15
    assert t.score >= bare.score
