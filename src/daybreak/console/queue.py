"""The queue: which cases an analyst sees, in which order, and identifier search.

Pure functions over :class:`Case` records. A backend with a database filters, orders
and pages in SQL and builds the page's rows with :func:`queue_row`; the in-memory
backend runs :func:`build_queue` over its cases. Both match a search the same way:
exactly, on :func:`daybreak.model.cases.search_forms`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    DEFAULT_TRIAGE_SLA,
    Case,
    CaseStatus,
    Tier,
    case_search_forms,
    evidence_counts,
    search_forms,
    searchable_fields,
    triage_time_left,
)
from daybreak.model.identifiers import TYPES, IdentifierError

PAGE_SIZE = 50
OPEN = "open"  # pseudo-status: everything not closed (the default view without a search)


@dataclass(frozen=True, slots=True)
class QueueFilters:
    tier: Tier | None = None
    country: str | None = None
    typology: str | None = None
    status: str = OPEN  # a CaseStatus value, OPEN, or "" for all (a search's default)
    query: str = ""
    page: int = 1
    assignee: str | None = None  # "my cases": the signed-in analyst's
    teams: tuple[str, ...] | None = None  # "team inbox": unassigned cases of these teams


@dataclass(frozen=True, slots=True)
class EntityElsewhere:
    """An entity a search hit matched on, and the other cases (any status) holding it."""

    key: str
    other_cases: int
    other_closed: int


@dataclass(frozen=True, slots=True)
class QueueRow:
    case: Case
    typologies: tuple[str, ...]
    age: str
    source_mix: tuple[tuple[str, int], ...]  # (source, evidence count)
    why: str
    highlights: tuple[str, ...] = ()  # what sets the case apart: live, offender, victim age
    matched: tuple[str, ...] = ()  # for a search: where the case matched ("phone ...")
    elsewhere: tuple[EntityElsewhere, ...] = ()


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    countries: list[str]
    typologies: list[str]
    closed_hits: int = 0  # closed cases among the hits
    # The total's time when cases changed since ("2026-12-07 04:10:05 UTC"; None: the
    # total is current): it is then the last one, a newer one being counted. The rows
    # are always current.
    stale_count_as_of: str | None = None


def typologies_by_case(
    cases: Iterable[Case], alerts: Iterable[Alert]
) -> dict[str, tuple[str, ...]]:
    by_alert = {a.alert_id: a.typologies for a in alerts}
    out: dict[str, tuple[str, ...]] = {}
    for case in cases:
        found: set[str] = set()
        for alert_id in case.alert_ids:
            found.update(by_alert.get(alert_id, ()))
        out[case.case_id] = tuple(sorted(found))
    return out


def priority_key(case: Case) -> tuple[int, float, float]:
    """Most severe tier first, so that the order agrees with the tier badges and the
    tier filter; inside a tier the highest priority, then the oldest case first."""
    created = case.created_at.timestamp() if case.created_at else 0.0
    return (int(case.tier), -case.priority, created)


@dataclass(frozen=True, slots=True)
class TriageDue:
    """A new case's triage clock as the queue shows it."""

    label: str  # "in 3 h" or "overdue 5 h"
    overdue: bool


def triage_due(
    case: Case, now: datetime, sla: Mapping[Tier, timedelta] = DEFAULT_TRIAGE_SLA
) -> TriageDue | None:
    left = triage_time_left(case, now, sla)
    if left is None:
        return None
    if left < timedelta(0):
        return TriageDue(f"overdue {humanize_age(now + left, now)}", True)
    return TriageDue(f"in {humanize_age(now - left, now)}", False)


def humanize_age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "unknown"
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


# Signal families (Case.sources) named by the table their evidence comes from.
FAMILY_TABLE = {
    "payments": "transactions",
    "tipline": "reports",
    "media": "media_sightings",
    "platform": "platform_events",
    "events": "platform_events",
}


def source_mix(case: Case) -> tuple[tuple[str, int], ...]:
    """Evidence records per source table, plus signal families without evidence rows."""
    return mix_of(evidence_counts(case), case.sources)


def mix_of(
    evidence_counts: Mapping[str, int], sources: Iterable[str]
) -> tuple[tuple[str, int], ...]:
    """:func:`source_mix` from evidence counts per source table (a case's summary)."""
    counts = dict(evidence_counts)
    for family in sources:
        counts.setdefault(FAMILY_TABLE.get(family, family), 0)
    return tuple(sorted(counts.items()))


_RESTATES_PRIORITY = re.compile(r"^\s*priority\b", re.IGNORECASE)


# What sets a case apart, read from its reasons (the case builder's and the triage's
# wording): a live stream, a known offender, the victim's age. Shown first, as labels.
_LIVE = re.compile(r"\blive\b", re.IGNORECASE)
_OFFENDER = re.compile(r"known offender", re.IGNORECASE)
_VICTIM_AGE = re.compile(r"victim[^.;]*?\b(\d{1,2})\s*(?:years?|y)(?:\s*old)?\b", re.IGNORECASE)
# Reasons every case of a kind carries (how sources combine, how old the signal is):
# true, and the same on every row, so they come last.
_BOILERPLATE = re.compile(
    r"^\s*(\d+ independent sources|one source:|the latest signal is)", re.IGNORECASE
)


def highlights(case: Case) -> tuple[str, ...]:
    """Short labels of what sets the case apart, most urgent first: "Live stream",
    "Known offender", "Victim ~10 y" (the youngest age named)."""
    text = " ".join([*case.reasons, case.explanation])
    out = []
    if _LIVE.search(text):
        out.append("Live stream")
    if _OFFENDER.search(text):
        out.append("Known offender")
    ages = [int(m.group(1)) for m in _VICTIM_AGE.finditer(text)]
    if ages:
        out.append(f"Victim ~{min(ages)} y")
    return tuple(out)


def _distinctive_first(reason: str) -> int:
    if _LIVE.search(reason) or _OFFENDER.search(reason) or _VICTIM_AGE.search(reason):
        return 0
    return 2 if _BOILERPLATE.match(reason) else 1


def why(case: Case, limit: int = 180) -> str:
    """The queue's short reason: the case's reasons with what sets it apart first (a
    live stream, a known offender, the victim's age, the alert that sets the tier); the
    ones every case carries (how sources combine, the signal's age) only when there is
    nothing else; never one that only restates the priority and tier, which have their
    own columns. The explanation when there are none."""
    reasons = [r for r in case.reasons if r.strip() and not _RESTATES_PRIORITY.match(r)]
    reasons.sort(key=_distinctive_first)  # stable: the builder's order within a rank
    if any(_distinctive_first(r) < 2 for r in reasons):  # boilerplate only when alone
        reasons = [r for r in reasons if _distinctive_first(r) < 2]
    parts = [r.strip() for r in reasons[:3]]
    # Reasons written as sentences are joined as sentences, fragments with semicolons.
    text = " ".join(
        p if p.endswith((".", "!", "?")) or i == len(parts) - 1 else p + ";"
        for i, p in enumerate(parts)
    )
    text = text or case.explanation
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def search_candidates(query: str, regions: Iterable[str] = ()) -> set[str]:
    """Forms the query may take in an entity key: as typed, and normalised as each
    identifier kind whose type says a free-text query may be one of its values (E.164
    phones, read in each region given too, lower-case e-mails, IBANs, URLs)."""
    raw = query.strip()
    if not raw:
        return set()
    out = {raw.lower(), re.sub(r"\s+", "", raw).lower()}
    in_regions = [None, *sorted(set(regions))]
    for kind in TYPES.values():
        if kind.free_text is None or not kind.free_text(raw):
            continue
        for region in in_regions:  # only phones read a region; others give one form
            try:
                out.add(kind.normalize(raw, region).lower())
            except IdentifierError:
                continue
    return {c for c in out if c}


def _hit(value: str, candidates: set[str]) -> bool:
    return bool(search_forms(value) & candidates)


def matched_fields(case: Case, candidates: set[str]) -> tuple[tuple[str, str], ...]:
    """Where a case matched a search: (field, value), each value once, in field order."""
    if not candidates:
        return ()
    seen: dict[str, str] = {}
    for where, value in searchable_fields(case):
        if value not in seen and _hit(value, candidates):
            seen[value] = where
    return tuple((where, value) for value, where in seen.items())


def matches(case: Case, candidates: set[str]) -> bool:
    """Whether a case holds one of the search's forms (no search: every case does)."""
    return not candidates or bool(case_search_forms(case) & candidates)


def pages_of(total: int, page: int, page_size: int = PAGE_SIZE) -> tuple[int, int]:
    """(pages, the page shown): a page past the end shows the last one."""
    pages = max(1, -(-total // page_size))
    return pages, min(max(1, page), pages)


def build_queue(
    cases: Sequence[Case],
    alerts: Sequence[Alert],
    filters: QueueFilters,
    now: datetime,
    typologies: Mapping[str, tuple[str, ...]] | None = None,
    page_size: int = PAGE_SIZE,
) -> QueuePage:
    typos = dict(typologies) if typologies is not None else typologies_by_case(cases, alerts)
    regions = {c.country for c in cases if c.country}
    candidates = search_candidates(filters.query, regions)
    selected = []
    for case in cases:
        if filters.status == OPEN and case.status is CaseStatus.CLOSED:
            continue
        if filters.status not in (OPEN, "") and case.status.value != filters.status:
            continue
        if filters.tier is not None and case.tier is not filters.tier:
            continue
        if filters.country and case.country != filters.country:
            continue
        if filters.assignee is not None and case.assignee != filters.assignee:
            continue
        if filters.teams is not None and (case.assignee or case.team not in filters.teams):
            continue
        if filters.typology and filters.typology not in typos.get(case.case_id, ()):
            continue
        if not matches(case, candidates):
            continue
        selected.append(case)
    selected.sort(key=priority_key)
    pages, page = pages_of(len(selected), filters.page, page_size)
    chunk = selected[(page - 1) * page_size : page * page_size]

    def count_elsewhere(key: str, case_id: str) -> EntityElsewhere:
        return elsewhere(key, case_id, cases)

    rows = [queue_row(c, typos.get(c.case_id, ()), now, candidates, count_elsewhere) for c in chunk]
    return QueuePage(
        rows=rows,
        total=len(selected),
        page=page,
        pages=pages,
        countries=sorted({c.country for c in cases if c.country}),
        typologies=sorted({t for ts in typos.values() for t in ts}),
        closed_hits=sum(1 for c in selected if c.status is CaseStatus.CLOSED),
    )


def queue_row(
    case: Case,
    typologies: tuple[str, ...],
    now: datetime,
    candidates: set[str],
    count_elsewhere: Callable[[str, str], EntityElsewhere],
    mix: tuple[tuple[str, int], ...] | None = None,
) -> QueueRow:
    """One row; for a search, where it matched and, per matched entity, how many other
    cases hold it (``count_elsewhere(entity_key, case_id)``). ``mix``: the source mix
    when ``case`` carries no evidence rows (a summary), else it is counted here."""
    found = matched_fields(case, candidates)
    keys = sorted({v for _, v in found if v in set(case.entity_keys)})
    return QueueRow(
        case,
        typologies,
        humanize_age(case.created_at, now),
        source_mix(case) if mix is None else mix,
        why(case),
        highlights(case),
        matched=tuple(f"{where} {value}" for where, value in found),
        elsewhere=tuple(count_elsewhere(key, case.case_id) for key in keys),
    )


def elsewhere(key: str, case_id: str, cases: Sequence[Case]) -> EntityElsewhere:
    """How many other cases, closed ones included, hold the entity ``key``."""
    others = [c for c in cases if c.case_id != case_id and key in c.entity_keys]
    closed = sum(1 for c in others if c.status is CaseStatus.CLOSED)
    return EntityElsewhere(key, len(others), closed)
