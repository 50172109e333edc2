"""An analyst's manual merge and split of cases: what the cases hold afterwards.

Pure logic over :class:`daybreak.model.cases.Case`; the store records who did it, why,
and the links between the cases (``daybreak.store.case_links``), and applies the same
functions again when the case builder replaces a case, so that a merge or a split
outlives a rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import TypeVar

from daybreak.graph.fusion import alert_tier
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Tier

T = TypeVar("T")


class CaseEditError(ValueError):
    """A merge or split that cannot be made, and why."""


def _union(first: Iterable[T], second: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The items of both, ``first``'s order then ``second``'s new ones, once per key."""
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in [*first, *second]:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _same(x: T) -> T:
    return x


def merge_cases(into: Case, merged: Case) -> Case:
    """Case ``merged`` merged into case ``into``: see :func:`fold`."""
    if into.case_id == merged.case_id:
        raise CaseEditError("a case cannot be merged into itself")
    return fold(into, merged)


def fold(into: Case, merged: Case) -> Case:
    """``into`` holding everything ``merged`` holds too: alerts, entities, reports,
    graph, evidence and timeline (each once), the more severe tier and the higher
    priority. ``into``'s id, title and workflow are kept. Folding the same content in
    again changes nothing (a rebuild re-applies merges)."""
    alerts = _union(into.alerts, merged.alerts, lambda a: a.alert_id)
    return into.model_copy(
        update={
            "priority": max(into.priority, merged.priority),
            "tier": min(into.tier, merged.tier),
            "reasons": _union(into.reasons, merged.reasons, _same),
            "sources": _union(into.sources, merged.sources, _same),
            "entity_keys": _union(into.entity_keys, merged.entity_keys, _same),
            "alert_ids": [a.alert_id for a in alerts]
            or _union(into.alert_ids, merged.alert_ids, _same),
            "alerts": alerts,
            "report_ids": _union(into.report_ids, merged.report_ids, _same),
            "timeline": sorted(
                _union(into.timeline, merged.timeline, lambda t: (t.source, t.record_id, t.at)),
                key=lambda t: t.at,
            ),
            "nodes": _union(into.nodes, merged.nodes, lambda n: n.key),
            "edges": _union(into.edges, merged.edges, lambda e: (e.source, e.target, e.relation)),
            "evidence": _union(into.evidence, merged.evidence, lambda e: (e.source, e.record_id)),
            "country": into.country or merged.country,
            "routed_agency": into.routed_agency or merged.routed_agency,
        }
    )


def alert_entities(alert: Alert, case: Case) -> set[str]:
    """The case's entity keys an alert is about: its subject (by key or by id) and the
    entities one graph edge away from it."""
    subject = {
        k
        for k in case.entity_keys
        if k == alert.subject_id
        or k.split(":", 1)[-1] == alert.subject_id
        or k == f"{alert.subject_type}:{alert.subject_id}"
    }
    near = {e.target for e in case.edges if e.source in subject}
    near |= {e.source for e in case.edges if e.target in subject}
    return subject | (near & set(case.entity_keys))


def check_split(case: Case, alert_ids: Collection[str]) -> None:
    """:class:`CaseEditError` unless the alerts can be split out of the case: some of
    its own alerts, not all of them."""
    known = {a.alert_id for a in case.alerts}
    wanted = set(alert_ids)
    if not wanted:
        raise CaseEditError("choose at least one alert to split out")
    if unknown := sorted(wanted - known):
        raise CaseEditError(f"{case.case_id} has no alert {', '.join(unknown)}")
    if wanted == known:
        raise CaseEditError("a split leaves at least one alert in the case")


def split_case(case: Case, alert_ids: Collection[str], new_id: str) -> tuple[Case, Case]:
    """``case`` without the alerts ``alert_ids``, and a new case ``new_id`` holding those
    alerts with their entities, records and graph. Entities and records the remaining
    alerts also rest on stay in both. The new case's tier is the most severe its alerts
    carry, else the case's own (a split never lowers a tier by itself: an analyst
    overrides it with a reason); the remaining case keeps its tier."""
    check_split(case, alert_ids)
    wanted = set(alert_ids)
    moved = [a for a in case.alerts if a.alert_id in wanted]
    kept = [a for a in case.alerts if a.alert_id not in wanted]
    moved_keys = set().union(*(alert_entities(a, case) for a in moved))
    kept_keys = set().union(*(alert_entities(a, case) for a in kept))
    moved_records = {r for a in moved for r in (a.alert_id, *a.evidence_ids)}
    kept_records = {r for a in kept for r in (a.alert_id, *a.evidence_ids)}
    new = _part(case, moved, moved_keys, moved_records).model_copy(
        update={
            "case_id": new_id,
            "title": f"Split from {case.case_id}: {case.title}"[:300],
            "tier": _tier_of(moved, case.tier),
            "priority": max((a.score for a in moved), default=case.priority),
            "reasons": [f"split out of {case.case_id}", *case.reasons],
            "explanation": f"Alerts {', '.join(sorted(wanted))} split out of {case.case_id}.",
            "status": CaseStatus.NEW,
            "outcome": None,
            "assignee": None,
            "created_at": None,
            "updated_at": None,
        }
    )
    # Entities and records only the moved alerts rest on leave the case.
    rest = _part(case, kept, set(case.entity_keys) - (moved_keys - kept_keys), None)
    gone = moved_records - kept_records
    rest = rest.model_copy(
        update={
            "evidence": [e for e in rest.evidence if e.record_id not in gone],
            "timeline": [t for t in rest.timeline if t.record_id not in gone],
        }
    )
    return rest, new


def _part(case: Case, alerts: Sequence[Alert], keys: set[str], records: set[str] | None) -> Case:
    """The case cut down to ``alerts``, the entity ``keys`` (and the graph between
    them) and the evidence and timeline ``records`` (None: every record)."""
    entity_keys = [k for k in case.entity_keys if k in keys]
    node_keys = {n.key for n in case.nodes} & keys
    return case.model_copy(
        update={
            "alerts": list(alerts),
            "alert_ids": [a.alert_id for a in alerts],
            "entity_keys": entity_keys,
            "nodes": [n for n in case.nodes if n.key in node_keys],
            "edges": [e for e in case.edges if e.source in node_keys and e.target in node_keys],
            "evidence": [e for e in case.evidence if records is None or e.record_id in records],
            "timeline": [t for t in case.timeline if records is None or t.record_id in records],
        }
    )


def _tier_of(alerts: Sequence[Alert], otherwise: Tier) -> Tier:
    carried = [t for a in alerts if (t := alert_tier(a)) is not None]
    return min(carried) if carried else otherwise
