"""Cases: the unit analysts work, prioritised by the chance a child is in danger now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from daybreak.model.alerts import Alert


class CaseStatus(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    REFERRED = "referred"
    CLOSED = "closed"


# Which status may follow which: the workflow every face enforces through the store.
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset({CaseStatus.TRIAGED, CaseStatus.ASSIGNED, CaseStatus.CLOSED}),
    CaseStatus.TRIAGED: frozenset(
        {CaseStatus.ASSIGNED, CaseStatus.ESCALATED, CaseStatus.REFERRED, CaseStatus.CLOSED}
    ),
    CaseStatus.ASSIGNED: frozenset(
        {CaseStatus.ESCALATED, CaseStatus.REFERRED, CaseStatus.CLOSED, CaseStatus.TRIAGED}
    ),
    CaseStatus.ESCALATED: frozenset({CaseStatus.ASSIGNED, CaseStatus.REFERRED, CaseStatus.CLOSED}),
    CaseStatus.REFERRED: frozenset({CaseStatus.CLOSED, CaseStatus.ESCALATED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.ASSIGNED}),  # reopen
}


class Outcome(StrEnum):
    REFERRED_TO_POLICE = "referred_to_police"
    CHILD_SAFEGUARDED = "child_safeguarded"
    NO_ACTION = "no_action"
    DUPLICATE = "duplicate"
    MERGED = "merged"  # merged into another case by an analyst (set only by the merge)


# Outcomes of cases whose content lives on in another case: not counted, not matched.
SUPERSEDED = frozenset({Outcome.DUPLICATE, Outcome.MERGED})


class Disposition(StrEnum):
    """An analyst's finding about one payments subject of a case: the label the
    payments model learns from (see docs/detectors/payments.md, Learning from analysts).
    A case's outcome alone never labels its subjects: "no action" may mean "not
    involved" or "not enough to act on", so the analyst records each subject."""

    PAYER_CONFIRMED = "payer_confirmed"  # a customer who pays for the abuse
    FACILITATOR_CONFIRMED = "facilitator_confirmed"  # a beneficiary who receives for it
    NOT_INVOLVED = "not_involved"  # reviewed, and not part of it

    @property
    def label(self) -> int:
        return 0 if self is Disposition.NOT_INVOLVED else 1


# Which subject types each confirmation applies to: payers send, facilitators receive.
DISPOSITION_SUBJECTS: dict[Disposition, frozenset[str]] = {
    Disposition.PAYER_CONFIRMED: frozenset({"customer"}),
    Disposition.FACILITATOR_CONFIRMED: frozenset({"beneficiary"}),
    Disposition.NOT_INVOLVED: frozenset({"customer", "beneficiary"}),
}

LabelledSubjectType = Literal["customer", "beneficiary"]


class SubjectLabel(BaseModel):
    """A disposition recorded for one payments subject (customer or beneficiary) of a
    case, by whom and when."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    subject_type: LabelledSubjectType
    subject_id: str
    disposition: Disposition
    actor: str
    at: datetime

    @property
    def label(self) -> int:
        return self.disposition.label


class Tier(IntEnum):
    """ICAC-style priority tiers; 1 is the most urgent."""

    LIVE_OR_IMMEDIATE_RISK = 1  # abuse live now / child at immediate risk
    KNOWN_OFFENDER_ACCESS = 2  # a child with a known offender
    AGGRESSIVE_SOLICITATION = 3
    HOME_PRODUCED = 4
    COMMERCIAL_OR_VOLUME = 5
    OTHER = 6


# How long a new case may wait for triage, by tier (the defaults; each team sets its own
# with ``daybreak serve --triage-sla``): a child at immediate risk within hours.
DEFAULT_TRIAGE_SLA: dict[Tier, timedelta] = {
    Tier.LIVE_OR_IMMEDIATE_RISK: timedelta(hours=4),
    Tier.KNOWN_OFFENDER_ACCESS: timedelta(hours=24),
    Tier.AGGRESSIVE_SOLICITATION: timedelta(days=3),
    Tier.HOME_PRODUCED: timedelta(days=7),
    Tier.COMMERCIAL_OR_VOLUME: timedelta(days=14),
    Tier.OTHER: timedelta(days=30),
}


def triage_time_left(
    case: Case, now: datetime, sla: Mapping[Tier, timedelta] = DEFAULT_TRIAGE_SLA
) -> timedelta | None:
    """Time until a new case's triage is due (negative: overdue by that much); None when
    no clock runs: the case has been triaged, or its creation time is unknown."""
    if case.status is not CaseStatus.NEW or case.created_at is None:
        return None
    return case.created_at + sla[case.tier] - now


_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1)}


def parse_triage_sla(spec: str) -> dict[Tier, timedelta]:
    """``"1=2h,2=12h,5=7d"``: the tiers named change, the others keep their default.
    ValueError naming the bad part and what is expected."""
    sla = dict(DEFAULT_TRIAGE_SLA)
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        tier, _, span = part.partition("=")
        span = span.strip().lower()
        try:
            which = Tier(int(tier))
            amount = float(span[:-1])
            unit = _UNITS[span[-1:]]
        except (ValueError, KeyError):
            raise ValueError(
                f"triage SLA {part!r}: expected TIER=HOURSh or TIER=DAYSd with a tier of "
                f"1-{max(Tier)}, e.g. 1=4h"
            ) from None
        if amount <= 0:
            raise ValueError(f"triage SLA {part!r}: the time must be more than 0")
        sla[which] = amount * unit
    return sla


class TimelineEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    source: str  # transactions | reports | platform_events | media_sightings | alerts
    record_id: str
    summary: str


class GraphNode(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str  # "kind:value", e.g. "customer:C000123", "phone:+639171234567"
    kind: str
    label: str
    alerted: bool = False
    # what a source knows about the entity, in a few words (a platform account: service,
    # declared age band or minor flag, country, created, verified); "" when nothing
    details: str = ""


class GraphEdge(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    relation: str  # paid | reported | seen_with | same_person | used_ip | called ...
    weight: float = 1.0
    count: int = 1
    first_seen: datetime | None = None  # the link's time span, when its records have one
    last_seen: datetime | None = None


class Evidence(BaseModel):
    """A pointer to a record that supports the case (never the media itself)."""

    model_config = ConfigDict(frozen=True)

    source: str  # transactions | reports | platform_events | media_sightings | alerts
    record_id: str
    summary: str = ""


class CaseLink(BaseModel):
    """A hub case's pointer to one of its sub-cases, with what the hub's page lists
    (so that the hub page never loads its sub-cases): figures as built."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    title: str
    tier: Tier
    priority: float = Field(ge=0.0, le=1.0)
    alerts: int = 0
    entities: int = 0


class Case(BaseModel):
    """A case built from alerts that share an entity cluster.

    An entity linked to many alerted entities (a facilitator handle paid by many
    customers) is a *hub case* (``hub_key`` set) that lists its ``sub_cases``; each
    sub-case names its hub cases in ``parent_case_ids`` and is read and worked alone.

    ``case_id`` is stable across re-runs (derived from the cluster's anchor entity) so
    that new data updates the existing case instead of duplicating it."""

    case_id: str
    title: str
    priority: float = Field(ge=0.0, le=1.0)
    tier: Tier = Tier.OTHER
    status: CaseStatus = CaseStatus.NEW
    outcome: Outcome | None = None
    assignee: str | None = None
    team: str | None = Field(default=None, description="the team whose inbox it is in")
    explanation: str = ""
    reasons: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="signal families present")
    entity_keys: list[str] = Field(default_factory=list, description="'kind:value' keys")
    alert_ids: list[str] = Field(default_factory=list)
    alerts: list[Alert] = Field(
        default_factory=list,
        description="the alerts the case was built from (exactly those of alert_ids), so "
        "that every face exports the case from its own evidence",
    )
    report_ids: list[str] = Field(default_factory=list)
    timeline: list[TimelineEvent] = Field(default_factory=list)
    nodes: list[GraphNode] = Field(default_factory=list, description="the case subgraph")
    edges: list[GraphEdge] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    country: str | None = None
    routed_agency: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    subject_key: str | None = Field(
        default=None, description="the entity the case is about: its anchor, or its hub"
    )
    hub_key: str | None = Field(default=None, description="set on a hub case: its hub")
    sub_cases: list[CaseLink] = Field(default_factory=list)
    parent_case_ids: list[str] = Field(default_factory=list, description="its hub cases")
    derived_from: list[str] = Field(
        default_factory=list,
        description="earlier cases this one was split from on a re-run (a worked case "
        "that became a hub case keeps its id and work; its new sub-cases name it here)",
    )


# --- what a case is found by --------------------------------------------------------

_HASH_SHOWN = 16  # graph labels show a hash's first 16 hex digits; a search finds it so


def searchable_fields(case: Case) -> list[tuple[str, str]]:
    """(where, value) pairs an identifier search looks in, named as an analyst reads them."""
    out = [("case id", case.case_id)]
    out += [(k.split(":", 1)[0].replace("_", " "), k) for k in case.entity_keys]
    out += [("report", r) for r in case.report_ids]
    out += [("alert", a) for a in case.alert_ids]
    out += [(n.kind.replace("_", " "), n.key) for n in case.nodes]
    out += [(f"{n.kind.replace('_', ' ')} label", n.label) for n in case.nodes]
    out += [(f"evidence ({e.source.replace('_', ' ')})", e.record_id) for e in case.evidence]
    return out


def search_forms(value: str) -> set[str]:
    """The lower-case forms of a case's value a search finds it by, exactly: the value,
    the value without its kind ("phone:+63917…" is found by "+63917…"), its last part
    (a platform handle "username:streamhost:night_owl_77" by "night_owl_77"), and a
    hash by the prefix the graph shows. Exact forms, so a store can look each one up
    by a keyed index instead of reading every case."""
    low = value.strip().lower()
    out = {low}
    if ":" in low:
        out.add(low.split(":", 1)[1])
        out.add(low.rsplit(":", 1)[1])
    tail = low.rsplit(":", 1)[-1]
    if len(tail) >= 32 and all(c in "0123456789abcdef" for c in tail):
        out.add(tail[:_HASH_SHOWN])
    return {f for f in out if f}


def case_search_forms(case: Case) -> set[str]:
    return {form for _, value in searchable_fields(case) for form in search_forms(value)}


def evidence_counts(case: Case) -> dict[str, int]:
    """Evidence records per source table."""
    counts: dict[str, int] = {}
    for ev in case.evidence:
        counts[ev.source] = counts.get(ev.source, 0) + 1
    return counts


def case_typologies(case: Case) -> tuple[str, ...]:
    """The typologies of the alerts the case was built from."""
    return tuple(sorted({t for a in case.alerts for t in a.typologies}))
