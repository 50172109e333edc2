"""Signal fusion: independent sources pointing at the same people raise the priority.

Priority estimates the chance that a child is in danger now. Each signal family
(payments, reports, media, ...) gives its strongest score; families are treated as
independent witnesses and combined with a noisy-OR, ``1 - prod(1 - s_f)``, so two
families at 0.7 give 0.91 and a third at 0.7 gives 0.973. Context then moves it:
a live stream, a known offender, a facilitator hub, and how long ago the last signal
was. Every step that moves the number adds a sentence to the explanation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from daybreak.model.alerts import Alert
from daybreak.model.cases import Tier

FAMILY_OF_DETECTOR: dict[str, str] = {
    "payments": "payments",
    "tipline": "reports",
    "reports": "reports",
    "media": "media",
    "stream_payment": "platform",
    "grooming": "platform",
    "sextortion": "platform",
    "recruitment_ads": "platform",
}
FAMILY_LABEL = {
    "payments": "payment alert",
    "reports": "tipline report",
    "media": "media match",
    "platform": "platform detection",
}
# Families whose detectors see different things, so a case names the ones that fired.
NAMED_DETECTORS = ("platform",)
LIVE_FLOOR = 0.9  # a stream reported live: act now whatever else is known
KNOWN_OFFENDER_FACTOR = 0.7  # remaining doubt kept when a known offender is linked
HUB_FACTOR = 0.8  # remaining doubt kept when a facilitator hub is linked
HALF_LIFE_DAYS = 30.0  # "danger now": older signals count for less, never below half
SOLICITATION = ("online_enticement", "sextortion", "grooming")


@dataclass(frozen=True)
class FusionContext:
    """Facts about the case cluster, from the graph and the raw tables."""

    live_reports: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()
    known_offenders: tuple[str, ...] = ()
    hubs: tuple[tuple[str, int], ...] = ()  # (beneficiary key, unrelated payers)
    as_of: datetime | None = None


@dataclass(frozen=True)
class Fused:
    priority: float
    tier: Tier
    sources: list[str]
    reasons: list[str] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        return " ".join(self.reasons)


def family(alert: Alert) -> str:
    return FAMILY_OF_DETECTOR.get(alert.detector, alert.detector)


def _family_label(name: str, alerts: Sequence[Alert]) -> str:
    """The family's label; for a family of several detectors, also the ones in the case
    ("platform detection [grooming, sextortion]"): which sources agree."""
    label = FAMILY_LABEL.get(name, name)
    if name not in NAMED_DETECTORS:
        return label
    detectors = sorted({a.detector for a in alerts if family(a) == name})
    return f"{label} [{', '.join(detectors)}]"


def _latest(alerts: Sequence[Alert]) -> datetime | None:
    times = [t for a in alerts for t in (a.last_seen, a.first_seen) if t is not None]
    return max(times) if times else None


# Report types the tipline's triage puts in tier 2: a child with a facilitator.
FACILITATED = ("live_streaming_abuse", "child_sex_trafficking")
_ALERT_TIER = re.compile(r"^icac_tier_([1-6])$")


def alert_tier(alert: Alert) -> Tier | None:
    """The tier an alert's own evidence carries, when it carries one: a triaged
    report's ``icac_tier_N`` typology, a live stream, or a report type with a tier of
    its own (the same rules as :mod:`daybreak.tipline.triage`)."""
    typologies = set(alert.typologies)
    carried = [Tier(int(m.group(1))) for t in typologies if (m := _ALERT_TIER.match(t))]
    if "live" in typologies:
        carried.append(Tier.LIVE_OR_IMMEDIATE_RISK)
    if typologies & set(FACILITATED):
        carried.append(Tier.KNOWN_OFFENDER_ACCESS)
    if typologies & set(SOLICITATION):
        carried.append(Tier.AGGRESSIVE_SOLICITATION)
    return min(carried) if carried else None


def _context_tier(ctx: FusionContext, families: set[str]) -> Tier:
    if ctx.live_reports:
        return Tier.LIVE_OR_IMMEDIATE_RISK
    if ctx.known_offenders or any(t in FACILITATED for t in ctx.incident_types):
        return Tier.KNOWN_OFFENDER_ACCESS
    if any(t in SOLICITATION for t in ctx.incident_types):
        return Tier.AGGRESSIVE_SOLICITATION
    if "media" in families or "child_sexual_abuse_material" in ctx.incident_types:
        return Tier.HOME_PRODUCED
    if "payments" in families:
        return Tier.COMMERCIAL_OR_VOLUME
    return Tier.OTHER


def _tier(
    alerts: Sequence[Alert], ctx: FusionContext, families: set[str]
) -> tuple[Tier, Alert | None]:
    """The most severe tier among the case's evidence: the cluster's context and every
    alert's own tier (a case never ranks below the worst report in it). Returns the
    alert that sets it, if one does."""
    tier, source = _context_tier(ctx, families), None
    for a in sorted(alerts, key=lambda a: a.alert_id):
        own = alert_tier(a)
        if own is not None and own < tier:
            tier, source = own, a
    return tier, source


def fuse(alerts: Sequence[Alert], ctx: FusionContext) -> Fused:
    if not alerts:
        raise ValueError("a case needs at least one alert")
    best: dict[str, Alert] = {}
    for a in sorted(alerts, key=lambda a: (-a.score, a.alert_id)):
        best.setdefault(family(a), a)
    families = sorted(best)
    doubt = math.prod(1.0 - a.score for a in best.values())
    p = 1.0 - doubt
    listed = "; ".join(
        f"{_family_label(f, alerts)} {best[f].score:.2f} ({best[f].explanation})" for f in families
    )
    if len(families) > 1:
        reasons = [
            f"{len(families)} independent sources point at the same people, which raises "
            f"the priority to {p:.2f}: {listed}."
        ]
    else:
        reasons = [f"One source: {listed}."]
    if ctx.live_reports and p < LIVE_FLOOR:
        p = LIVE_FLOOR
    if ctx.live_reports:
        reasons.append(f"A live stream was reported ({', '.join(ctx.live_reports[:3])}).")
    if ctx.known_offenders:
        p = 1.0 - (1.0 - p) * KNOWN_OFFENDER_FACTOR
        reasons.append(f"A known offender is linked ({', '.join(ctx.known_offenders[:3])}).")
    if ctx.hubs:
        p = 1.0 - (1.0 - p) * HUB_FACTOR
        key, n = ctx.hubs[0]
        reasons.append(f"Facilitator pattern: {key} is paid by {n} unrelated customers.")
    latest = _latest(alerts)
    if ctx.as_of is not None and latest is not None:
        age_days = max(0.0, (ctx.as_of - latest).total_seconds() / 86400.0)
        factor = 0.5 + 0.5 * 0.5 ** (age_days / HALF_LIFE_DAYS)
        if factor < 0.95:
            reasons.append(
                f"The latest signal is {age_days:.0f} days old, so the priority is "
                f"scaled by {factor:.2f}."
            )
        p *= factor
    p = min(1.0, max(0.0, p))
    tier, setter = _tier(alerts, ctx, set(families))
    if setter is not None:
        why = setter.explanation.rstrip(". ")[:200]
        reasons.append(f"Tier {tier.value} is set by {setter.alert_id} ({why}).")
    reasons.insert(0, f"Priority {p:.2f}, tier {tier.value} ({tier.name.lower()}).")
    return Fused(priority=round(p, 4), tier=tier, sources=families, reasons=reasons)
