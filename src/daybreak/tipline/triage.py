"""Triage: an ICAC-style priority tier and a score, with the reasons behind them.

The tier answers "how much danger is a child in?" (see
``../shared/research/reporting-standards.md``): 1 a child at immediate risk (abuse live
now), 2 a child with a known offender, 3 aggressive solicitation, 4 home-produced
material, 5 high-volume or commercial offending, 6 everything else. The score orders
reports inside a tier by how *actionable* they are (IP with time, a located victim,
repeated reports, links to payment alerts or known-hash matches). Scores of different
tiers never overlap, so sorting by score alone gives the queue order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from daybreak.model.cases import Tier
from daybreak.tipline.intake import IncidentType, Indicator, ReportIn

# Lowest score of each tier; a tier's band is [base, base + _BAND).
_TIER_BASE = {
    Tier.LIVE_OR_IMMEDIATE_RISK: 0.85,
    Tier.KNOWN_OFFENDER_ACCESS: 0.70,
    Tier.AGGRESSIVE_SOLICITATION: 0.55,
    Tier.HOME_PRODUCED: 0.40,
    Tier.COMMERCIAL_OR_VOLUME: 0.25,
    Tier.OTHER: 0.10,
}
_BAND = 0.1499


@dataclass(frozen=True, slots=True)
class TriageContext:
    """What the store knows around one report when it is triaged."""

    prior_reports: int = 0  # earlier reports sharing an identifier (the report's cluster)
    linked_alerts: int = 0  # identifiers that also carry payment or other alerts
    hash_matches: int = 0  # media hashes matching a known-hash list


# The detector name the media matcher gives its alerts: a known-hash match, not a link.
HASH_MATCH_SOURCE = "media"


def context_of(prior_reports: int, alert_sources: Iterable[str]) -> TriageContext:
    """The context of a report with ``prior_reports`` earlier reports in its cluster and
    alerts from ``alert_sources`` (one entry per alert on its identifiers)."""
    sources = list(alert_sources)
    hash_matches = sum(1 for src in sources if src == HASH_MATCH_SOURCE)
    return TriageContext(prior_reports, len(sources) - hash_matches, hash_matches)


@dataclass(frozen=True, slots=True)
class Triage:
    tier: Tier
    score: float
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _tier(report: ReportIn, ctx: TriageContext) -> tuple[Tier, str]:
    ind = set(report.indicators)
    it = report.incident_type
    if report.is_live:
        return Tier.LIVE_OR_IMMEDIATE_RISK, "abuse reported as happening live now"
    if Indicator.CHILD_IN_IMMEDIATE_DANGER in ind:
        return Tier.LIVE_OR_IMMEDIATE_RISK, "reporter says a child is in immediate danger"
    if report.escalation:
        return Tier.LIVE_OR_IMMEDIATE_RISK, f"reporter escalated: {report.escalation[:120]}"
    if Indicator.OFFENDER_HAS_ACCESS_TO_CHILD in ind:
        return Tier.KNOWN_OFFENDER_ACCESS, "a known offender has access to a child"
    if it in (IncidentType.LIVE_STREAMING_ABUSE, IncidentType.CHILD_SEX_TRAFFICKING):
        return (
            Tier.KNOWN_OFFENDER_ACCESS,
            f"{it.value.replace('_', ' ')}: a child with a facilitator",
        )
    if Indicator.AGGRESSIVE_SOLICITATION in ind or it in (
        IncidentType.ONLINE_ENTICEMENT,
        IncidentType.SEXTORTION,
        IncidentType.GROOMING,
    ):
        return (
            Tier.AGGRESSIVE_SOLICITATION,
            f"solicitation of a child ({it.value.replace('_', ' ')})",
        )
    if Indicator.HOME_PRODUCED in ind:
        return Tier.HOME_PRODUCED, "apparently home-produced material"
    if (
        Indicator.COMMERCIAL in ind
        or Indicator.HIGH_VOLUME in ind
        or report.payment_identifiers
        or ctx.prior_reports >= 2
        or it is IncidentType.CHILD_SEXUAL_ABUSE_MATERIAL
    ):
        return Tier.COMMERCIAL_OR_VOLUME, "commercial, high-volume or repeat offending"
    return Tier.OTHER, "no danger indicator"


def triage(report: ReportIn, ctx: TriageContext | None = None) -> Triage:
    """Tier and score one report. Pure: same report and context, same result."""
    ctx = ctx or TriageContext()
    tier, why = _tier(report, ctx)
    reasons = [f"tier {int(tier)}: {why}"]
    bonus = 0.0

    def add(points: float, reason: str) -> None:
        nonlocal bonus
        bonus += points
        reasons.append(f"+{points:.3f} {reason}")

    timed_ips = [ev for acc in report.reported_accounts for ev in acc.ip_events]
    if timed_ips:
        add(0.030, f"{len(timed_ips)} IP capture event(s) with time (actionable)")
    victim = report.victim
    if victim and (victim.country or victim.city or victim.region):
        add(0.025, "victim location known")
    if victim and victim.age_estimate is not None and victim.age_estimate < 13:
        add(0.020, f"victim estimated {victim.age_estimate} years old")
    if report.reported_accounts:
        add(0.010, "reported account identified")
    if ctx.prior_reports:
        add(
            min(0.030, 0.010 * ctx.prior_reports),
            f"{ctx.prior_reports} earlier report(s) about the same identifiers",
        )
    if ctx.linked_alerts:
        add(0.020, f"linked to {ctx.linked_alerts} alert(s) (payments or other detectors)")
    if ctx.hash_matches:
        add(0.015, f"{ctx.hash_matches} media hash match(es) with known material")
    score = _TIER_BASE[tier] + min(bonus, _BAND)
    return Triage(tier=tier, score=round(score, 4), reasons=tuple(reasons))
