"""Alerts grouped into cases by entity cluster, with stable ids across re-runs.

A case id is derived from its anchor (the seed seen first), and on a re-run a new
cluster takes over the id of any existing case it overlaps, keeping its status and
assignee; two existing cases that new data joins become one, the other is closed as a
duplicate with a note saying where it went.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import polars as pl

from daybreak.graph import keys
from daybreak.graph.analytics import Hub
from daybreak.graph.build import Graph, edges_within, subgraph_records
from daybreak.graph.clusters import CasePolicy, HubCluster, cluster_cases
from daybreak.graph.fusion import FusionContext, fuse
from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    SUPERSEDED,
    Case,
    CaseLink,
    CaseStatus,
    Evidence,
    Outcome,
    Tier,
    TimelineEvent,
)

MAX_TXN_EVENTS = 100  # timeline entries from evidence transactions per case


@dataclass(frozen=True)
class CaseInputs:
    """Raw rows the case needs besides the graph (all small; pre-selected)."""

    reports: pl.DataFrame
    customers: pl.DataFrame
    media_sightings: pl.DataFrame
    # evidence transactions, or their fetch still under way (read at assembly)
    transactions: pl.DataFrame | Future[pl.DataFrame] = field(default_factory=pl.DataFrame)
    # evidence platform events (event_id, service, account_id, counterparty_account_id)
    evidence_events: pl.DataFrame = field(default_factory=pl.DataFrame)
    hubs: Sequence[Hub] = ()
    as_of: datetime | None = None

    # Rows by id, built once: thousands of cases each filtering the frames was most of
    # the case build (21,653 small polars queries at 100,000 customers).
    @cached_property
    def report_rows(self) -> dict[str, dict[str, Any]]:
        return {r["report_id"]: r for r in self.reports.iter_rows(named=True)}

    @cached_property
    def sighting_rows(self) -> dict[str, dict[str, Any]]:
        return {m["sighting_id"]: m for m in self.media_sightings.iter_rows(named=True)}

    @cached_property
    def transaction_rows(self) -> dict[str, dict[str, Any]]:
        txns = self.transactions
        if isinstance(txns, Future):
            txns = txns.result()
        if not txns.height:
            return {}
        return {t["txn_id"]: t for t in txns.iter_rows(named=True)}

    @cached_property
    def known_offenders(self) -> frozenset[str]:
        flagged = self.customers.filter(pl.col("known_offender").fill_null(False))
        return frozenset(flagged["customer_id"].to_list())

    @cached_property
    def _hub_positions(self) -> dict[str, list[int]]:
        at: dict[str, list[int]] = {}
        for i, h in enumerate(self.hubs):
            at.setdefault(h.key, []).append(i)
        return at

    def hubs_in(self, members: set[str]) -> tuple[tuple[str, int], ...]:
        """(key, unrelated payers) of the hubs among ``members``, in ``hubs``' order:
        looked up by key (thousands of cases each scanning every hub was seconds)."""
        at = self._hub_positions
        found = sorted(i for k in members & at.keys() for i in at[k])
        return tuple((self.hubs[i].key, self.hubs[i].unrelated_payers) for i in found)

    def reports_of(self, members: set[str]) -> list[dict[str, Any]]:
        rows = self.report_rows
        return [rows[r] for r in _ids(members, keys.REPORT) if r in rows]


class AlertError(ValueError):
    """Alerts that cannot be placed on the graph; the message lists each one."""


def seed_alerts(alerts: Sequence[Alert]) -> dict[str, list[Alert]]:
    by_key: dict[str, list[Alert]] = {}
    errors: list[str] = []
    for a in alerts:
        try:
            by_key.setdefault(keys.subject_key(a.subject_type, a.subject_id), []).append(a)
        except keys.NodeKeyError as exc:
            errors.append(f"alert {a.alert_id}: {exc}")
    if errors:
        raise AlertError("; ".join(errors))
    return by_key


def case_id_for(anchor: str) -> str:
    return "CASE-" + hashlib.sha256(anchor.encode()).hexdigest()[:10].upper()


def _first_time(alerts: Sequence[Alert]) -> datetime:
    times = [t for a in alerts for t in (a.first_seen, a.last_seen) if t is not None]
    return min(times) if times else datetime.max.replace(tzinfo=UTC)


def _ids(members: set[str], kind: str) -> list[str]:
    prefix = kind + ":"
    return sorted(k[len(prefix) :] for k in members if k.startswith(prefix))


def _context(members: set[str], inputs: CaseInputs) -> FusionContext:
    rep = inputs.reports_of(members)
    offenders = inputs.known_offenders
    return FusionContext(
        live_reports=tuple(sorted(r["report_id"] for r in rep if r["is_live"])),
        incident_types=tuple(sorted({r["incident_type"] for r in rep})),
        known_offenders=tuple(
            f"customer:{c}" for c in _ids(members, keys.CUSTOMER) if c in offenders
        ),
        hubs=inputs.hubs_in(members),
        as_of=inputs.as_of,
    )


def _timeline(
    alerts: Sequence[Alert], members: set[str], inputs: CaseInputs
) -> list[TimelineEvent]:
    # Made without validation: every field is already of its type (aware datetimes
    # from the alerts and the world's typed columns, strings); 50,000 events at 10 M.
    events: dict[tuple[str, str], TimelineEvent] = {}
    for a in alerts:
        at = a.first_seen or a.last_seen
        if at is not None:
            summary = f"{a.detector} alert ({a.score:.2f}): {a.explanation}"[:300]
            events[("alerts", a.alert_id)] = TimelineEvent.model_construct(
                at=at, source="alerts", record_id=a.alert_id, summary=summary
            )
    for r in inputs.reports_of(members):
        live = " (live)" if r["is_live"] else ""
        events[("reports", r["report_id"])] = TimelineEvent.model_construct(
            at=r["received_at"],
            source="reports",
            record_id=r["report_id"],
            summary=f"{r['reporter_type']} report: {r['incident_type']}{live}",
        )
    sightings = inputs.sighting_rows
    for m in (sightings[i] for i in _ids(members, keys.MEDIA) if i in sightings):
        events[("media_sightings", m["sighting_id"])] = TimelineEvent.model_construct(
            at=m["seen_at"],
            source="media_sightings",
            record_id=m["sighting_id"],
            summary=f"{m['hash_type']} hash seen on {m['service'] or 'unknown service'}",
        )
    evidence_txns = {
        i for a in alerts if a.evidence_source == "transactions" for i in a.evidence_ids
    }
    rows = inputs.transaction_rows
    txns = sorted(
        (rows[i] for i in evidence_txns if i in rows), key=lambda t: (t["timestamp"], t["txn_id"])
    )
    for t in txns[:MAX_TXN_EVENTS]:
        events[("transactions", t["txn_id"])] = TimelineEvent.model_construct(
            at=t["timestamp"],
            source="transactions",
            record_id=t["txn_id"],
            summary=f"{t['sender_id']} paid {t['amount']:.2f} {t['currency']} to {t['receiver_id']}",
        )
    return sorted(events.values(), key=lambda e: (e.at, e.source, e.record_id))


def evidence_account_keys(alerts: Sequence[Alert], events: pl.DataFrame) -> set[str]:
    """Both accounts of every platform event an alert names as evidence (a sextortion
    alert's first contact and call: the minor's and the contacting account), so the
    case shows the accounts its explanation names even when they are more hops from the
    subject than clustering reaches."""
    ids = {i for a in alerts if a.evidence_source == "platform_events" for i in a.evidence_ids}
    if not ids or events.is_empty():
        return set()
    out = set()
    for e in events.filter(pl.col("event_id").is_in(sorted(ids))).iter_rows(named=True):
        for account in (e["account_id"], e["counterparty_account_id"]):
            key = keys.account_key(e["service"], account) if account else None
            if key is not None:
                out.add(key)
    return out


def _evidence_accounts(alerts: Sequence[Alert], events: pl.DataFrame, g: Graph) -> set[str]:
    return {k for k in evidence_account_keys(alerts, events) if k in g}


def _evidence(alerts: Sequence[Alert], members: set[str], g: Graph) -> list[Evidence]:
    seen: dict[tuple[str, str], Evidence] = {}
    for a in sorted(alerts, key=lambda a: a.alert_id):
        for rid in a.evidence_ids:
            seen.setdefault(
                (a.evidence_source, rid),
                Evidence(
                    source=a.evidence_source,
                    record_id=rid,
                    summary=f"{a.detector} alert {a.alert_id}",
                ),
            )
    for rid in _ids(members, keys.REPORT):
        seen.setdefault(
            ("reports", rid), Evidence(source="reports", record_id=rid, summary="linked report")
        )
    for rid in _ids(members, keys.MEDIA):
        seen.setdefault(
            ("media_sightings", rid),
            Evidence(source="media_sightings", record_id=rid, summary="linked media sighting"),
        )
    for s, t, rel, d in edges_within(g, members):
        if rel == "same_person":
            seen.setdefault(
                ("splink", f"{s}~{t}"),
                Evidence(
                    source="splink",
                    record_id=f"{s}~{t}",
                    summary=f"probably the same person (match probability {d.get('weight', 0):.3f})",
                ),
            )
    return sorted(seen.values(), key=lambda e: (e.source, e.record_id))


def _label(g: Graph, key: str) -> str:
    return str(g._node[key].get("label", key)) if key in g else key


def _title(anchor: str, g: Graph, n_members: int) -> str:
    return f"{anchor} ({_label(g, anchor)}) and {max(0, n_members - 1)} linked entities"


def assemble(
    g: Graph,
    seeds: list[str],
    members: set[str],
    alerts_by_key: dict[str, list[Alert]],
    inputs: CaseInputs,
    now: datetime,
) -> Case:
    alerts = [a for s in seeds for a in alerts_by_key[s]]
    anchor = min(seeds, key=lambda s: (_first_time(alerts_by_key[s]), s))
    members = members | set(seeds) | _evidence_accounts(alerts, inputs.evidence_events, g)
    fused = fuse(alerts, _context(members, inputs))
    nodes, edges = subgraph_records(g, members, set(seeds))
    countries = [r["victim_country"] for r in inputs.reports_of(members) if r["victim_country"]]
    return Case(
        case_id=case_id_for(anchor),
        title=_title(anchor, g, len(members)),
        subject_key=anchor,
        priority=fused.priority,
        tier=fused.tier,
        explanation=fused.explanation,
        reasons=fused.reasons,
        sources=fused.sources,
        entity_keys=sorted(members),
        alert_ids=sorted(a.alert_id for a in alerts),
        alerts=sorted({a.alert_id: a for a in alerts}.values(), key=lambda a: a.alert_id),
        report_ids=_ids(members, keys.REPORT),
        timeline=_timeline(alerts, members, inputs),
        nodes=nodes,
        edges=edges,
        evidence=_evidence(alerts, members, g),
        # The most frequent; among equally frequent ones the first by name (a set's
        # order differs between runs).
        country=max(sorted(set(countries)), key=countries.count) if countries else None,
        created_at=now,
        updated_at=now,
    )


_VOLATILE = {
    "created_at",
    "updated_at",
    "status",
    "assignee",
    "outcome",
    "routed_agency",
    "derived_from",
}


def _match_keys(case: Case, hub_keys: set[str]) -> set[str]:
    """What a case is recognised by on a re-run: its alerts, and its entities but the
    hubs (the hub is drawn in each sub-case; it must not join them), or for a hub case
    its hub alone."""
    alerts = {"alert:" + a for a in case.alert_ids}
    if case.hub_key:
        return {"hub:" + case.hub_key} | alerts
    return (set(case.entity_keys) - hub_keys) | alerts


def _split_among_subs(
    hub: Case, new_by_id: dict[str, Case], index: dict[str, list[Case]], hub_keys: set[str]
) -> dict[str, Case]:
    """Existing cases built before the hub became a hub case (neither a hub nor a
    sub-case) that overlap two or more of its new sub-cases: the old whole, now split.
    The hub case takes such a case over, with its id and its analysts' work."""
    seen: dict[str, set[str]] = {}
    found: dict[str, Case] = {}
    for link in hub.sub_cases:
        for k in _match_keys(new_by_id[link.case_id], hub_keys):
            for c in index.get(k, []):
                if not c.hub_key and not c.parent_case_ids:
                    seen.setdefault(c.case_id, set()).add(link.case_id)
                    found[c.case_id] = c
    return {i: c for i, c in found.items() if len(seen[i]) > 1}


def _relinked(case: Case, renamed: dict[str, str]) -> Case:
    """Hub and sub-case links follow the ids reconcile gave the cases."""
    if not case.parent_case_ids and not case.sub_cases:
        return case
    return case.model_copy(
        update={
            "parent_case_ids": sorted({renamed.get(i, i) for i in case.parent_case_ids}),
            "sub_cases": [
                link.model_copy(update={"case_id": renamed.get(link.case_id, link.case_id)})
                for link in case.sub_cases
            ],
        }
    )


def reconcile(new: list[Case], existing: Sequence[Case], now: datetime) -> list[Case]:
    """Give new clusters the ids of the existing cases they overlap (see module doc)."""
    existing = list({c.case_id: c for c in existing}.values())  # one entry per case
    hub_keys = {c.hub_key for c in [*new, *existing] if c.hub_key}
    index: dict[str, list[Case]] = {}
    for c in existing:
        if c.outcome in SUPERSEDED:
            continue
        for k in _match_keys(c, hub_keys):
            index.setdefault(k, []).append(c)
    claimed: set[str] = set()
    placed: list[tuple[Case, Case | None]] = []  # (new case, the existing case it takes)
    renamed: dict[str, str] = {}
    merged: dict[str, str] = {}
    new_by_id = {c.case_id: c for c in new}
    # Hub cases first: a worked case that held the hub goes to the hub's case, not to
    # whichever of its new sub-cases ranks highest.
    for case in sorted(new, key=lambda c: (c.hub_key is None, -c.priority, c.case_id)):
        overlaps = {c.case_id: c for k in _match_keys(case, hub_keys) for c in index.get(k, [])}
        if case.hub_key:
            overlaps |= _split_among_subs(case, new_by_id, index, hub_keys)
        hits = {i: c for i, c in overlaps.items() if i not in claimed}
        if case.hub_key:  # its own earlier hub case, if there is one
            hits = {i: c for i, c in hits.items() if c.hub_key == case.hub_key} or hits
        if not hits:
            # a split: the anchor's id is taken; the case names what it was split from
            final = case.case_id + "-2" if case.case_id in claimed else case.case_id
            claimed.add(final)
            renamed[case.case_id] = final
            placed.append((case.model_copy(update={"derived_from": sorted(overlaps)}), None))
            continue
        # The oldest case it overlaps; among equally old ones (a batch stored together)
        # the case of its own anchor, so that which case a cluster keeps does not depend
        # on the order clusters are met in (their priorities).
        target = min(
            hits.values(),
            key=lambda c: (c.created_at or now, c.case_id != case.case_id, c.case_id),
        )
        claimed.add(target.case_id)
        renamed[case.case_id] = target.case_id
        placed.append((case, target))
        for other in hits.values():
            if other.case_id != target.case_id:
                merged[other.case_id] = target.case_id
    out = [_carried_over(_relinked(c, renamed), renamed[c.case_id], t, now) for c, t in placed]
    for c in existing:
        if c.case_id in merged and c.case_id not in claimed:
            out.append(
                c.model_copy(
                    update={
                        "status": CaseStatus.CLOSED,
                        "outcome": Outcome.DUPLICATE,
                        "reasons": [*c.reasons, f"Merged into {merged[c.case_id]} by new data."],
                        "updated_at": now,
                    }
                )
            )
    return sorted(out, key=lambda c: (-c.priority, c.case_id))


def _carried_over(case: Case, case_id: str, target: Case | None, now: datetime) -> Case:
    """The new case under its final id, with the workflow state of the existing case it
    takes over (updated only when its content changed)."""
    if target is None:
        return case.model_copy(update={"case_id": case_id})
    same = case.model_dump(exclude=_VOLATILE | {"case_id"}) == target.model_dump(
        exclude=_VOLATILE | {"case_id"}
    )
    return case.model_copy(
        update={
            "case_id": target.case_id,
            "status": target.status,
            "assignee": target.assignee,
            "outcome": target.outcome,
            "routed_agency": target.routed_agency,
            "created_at": target.created_at,
            "updated_at": target.updated_at if same else now,
            "derived_from": target.derived_from,
        }
    )


def cases_from_graph(
    g: Graph,
    alerts: Sequence[Alert],
    inputs: CaseInputs,
    *,
    policy: CasePolicy | None = None,
    existing: Sequence[Case] = (),
    now: datetime | None = None,
) -> list[Case]:
    """Pure: graph + alerts (+ previous cases) -> cases, highest priority first."""
    now = now or inputs.as_of or datetime.now(UTC)
    by_key = seed_alerts(alerts)
    for k in by_key:
        if k not in g:
            kind, _, value = k.partition(":")
            g.add_node(k, kind=kind, label=value)  # an alert on an entity with no links
    groups, hubs = cluster_cases(
        g, by_key, policy or CasePolicy(), hubs=[h.key for h in inputs.hubs]
    )
    new = [assemble(g, seeds, members, by_key, inputs, now) for seeds, members in groups]
    for hc in hubs:
        hub_case = assemble_hub(g, hc, [new[i] for i in hc.sub_groups], by_key, inputs, now)
        for i in hc.sub_groups:
            parents = sorted({*new[i].parent_case_ids, hub_case.case_id})
            new[i] = new[i].model_copy(update={"parent_case_ids": parents})
        new.append(hub_case)
    return reconcile(new, existing, now)


def case_link(case: Case) -> CaseLink:
    return CaseLink(
        case_id=case.case_id,
        title=case.title,
        tier=case.tier,
        priority=case.priority,
        alerts=len(case.alert_ids),
        entities=len(case.entity_keys),
    )


def assemble_hub(
    g: Graph,
    hc: HubCluster,
    subs: Sequence[Case],
    alerts_by_key: dict[str, list[Alert]],
    inputs: CaseInputs,
    now: datetime,
) -> Case:
    """The hub's own case: its own alerts and identifiers, and a link per sub-case.
    Its tier is the most severe of its own and its sub-cases' (a hub that a tier-1
    sub-case pays is tier 1), its priority the highest of them."""
    members = set(hc.members)
    own = alerts_by_key.get(hc.hub, [])
    if own:
        base = assemble(g, [hc.hub], members, alerts_by_key, inputs, now)
    else:
        nodes, edges = subgraph_records(g, members, set())
        base = Case(
            case_id=case_id_for(hc.hub),
            title="",
            priority=0.0,
            tier=Tier.OTHER,
            entity_keys=sorted(members),
            report_ids=_ids(members, keys.REPORT),
            timeline=_timeline([], members, inputs),
            nodes=nodes,
            edges=edges,
            evidence=_evidence([], members, g),
            created_at=now,
            updated_at=now,
        )
    links = sorted((case_link(c) for c in subs), key=lambda c: (c.tier, -c.priority, c.case_id))
    tier = min([base.tier, *(c.tier for c in links)]) if own else min(c.tier for c in links)
    n_alerts = sum(c.alerts for c in links)
    summary = (
        f"Hub: {len(links)} sub-cases with {n_alerts} alerts link to {hc.hub}; the most "
        f"severe is tier {int(min(c.tier for c in links))}. Each sub-case is worked alone."
    )
    return base.model_copy(
        update={
            "title": f"Hub {hc.hub} ({_label(g, hc.hub)}) with {len(links)} sub-cases",
            "priority": max([base.priority, *(c.priority for c in links)]),
            "tier": tier,
            "explanation": f"{base.explanation} {summary}".strip(),
            "reasons": [*base.reasons, summary],
            "sources": sorted({*base.sources, *(s for c in subs for s in c.sources)}),
            "subject_key": hc.hub,
            "hub_key": hc.hub,
            "sub_cases": links,
        }
    )
