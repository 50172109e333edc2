"""Triage clocks per tier: the defaults, a team's own times, and bad specifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daybreak.model.cases import (
    DEFAULT_TRIAGE_SLA,
    Case,
    CaseStatus,
    Tier,
    parse_triage_sla,
    triage_time_left,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def case(tier: Tier, age: timedelta, status: CaseStatus = CaseStatus.NEW) -> Case:
    return Case(
        case_id="CASE-1", title="t", priority=0.5, tier=tier, status=status, created_at=NOW - age
    )


def test_every_tier_has_a_clock_and_tier_1_runs_in_hours() -> None:
    assert set(DEFAULT_TRIAGE_SLA) == set(Tier)
    assert DEFAULT_TRIAGE_SLA[Tier.LIVE_OR_IMMEDIATE_RISK] <= timedelta(hours=4)
    times = [DEFAULT_TRIAGE_SLA[t] for t in sorted(Tier)]
    assert times == sorted(times)  # a more severe tier never waits longer


def test_time_left_counts_down_and_goes_negative_when_overdue() -> None:
    assert triage_time_left(case(Tier(1), timedelta(hours=1)), NOW) == timedelta(hours=3)
    assert triage_time_left(case(Tier(1), timedelta(hours=6)), NOW) == -timedelta(hours=2)
    assert triage_time_left(case(Tier(1), timedelta(hours=6), CaseStatus.TRIAGED), NOW) is None
    undated = Case(case_id="CASE-2", title="t", priority=0.5, tier=Tier(1))
    assert triage_time_left(undated, NOW) is None


def test_a_team_sets_its_own_times_for_the_tiers_it_names() -> None:
    sla = parse_triage_sla(" 1=2h, 5=3.5d ")
    assert sla[Tier(1)] == timedelta(hours=2)
    assert sla[Tier(5)] == timedelta(days=3.5)
    assert sla[Tier(2)] == DEFAULT_TRIAGE_SLA[Tier(2)]
    assert parse_triage_sla("") == DEFAULT_TRIAGE_SLA
    assert triage_time_left(case(Tier(1), timedelta(hours=3)), NOW, sla) == -timedelta(hours=1)


@pytest.mark.parametrize("spec", ["1=4", "9=4h", "x=4h", "1=4w", "1=-2h", "1=0h", "1"])
def test_a_bad_specification_names_the_part_and_what_is_expected(spec: str) -> None:
    with pytest.raises(ValueError, match=rf"triage SLA '{spec}'"):
        parse_triage_sla(spec)
