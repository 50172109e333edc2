"""Alerts grouped into cases by entity cluster, with stable ids across re-runs.

A case id is derived from its anchor (the seed seen first), and on a re-run a new
cluster takes over the id of any existing case it overlaps, keeping its status and
assignee; two existing cases that new data joins become one, the other is closed as a
duplicate with a note saying where it went.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from daybreak.graph import keys
from daybreak.graph.analytics import Hub
from daybreak.graph.build import Graph, subgraph_records
from daybreak.graph.clusters import CasePolicy, cluster_seeds
from daybreak.graph.fusion import FusionContext, fuse
from daybreak.model.alerts import Alert
from daybreak.model.cases import SUPERSEDED, Case, CaseStatus, Evidence, Outcome, TimelineEvent

MAX_TXN_EVENTS = 100  # timeline entries from evidence transactions per case


@dataclass(frozen=True)
class CaseInputs:
    """Raw rows the case needs besides the graph (all small; pre-selected)."""

    reports: pl.DataFrame
    customers: pl.DataFrame
    media_sightings: pl.DataFrame
    transactions: pl.DataFrame = field(default_factory=pl.DataFrame)  # evidence txns
    hubs: Sequence[Hub] = ()
    as_of: datetime | None = None


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
    rep = inputs.reports.filter(pl.col("report_id").is_in(_ids(members, keys.REPORT)))
    cust = inputs.customers.filter(
        pl.col("customer_id").is_in(_ids(members, keys.CUSTOMER))
        & pl.col("known_offender").fill_null(False)
    )
    return FusionContext(
        live_reports=tuple(sorted(rep.filter(pl.col("is_live"))["report_id"].to_list())),
        incident_types=tuple(sorted(set(rep["incident_type"].to_list()))),
        known_offenders=tuple(f"customer:{c}" for c in sorted(cust["customer_id"].to_list())),
        hubs=tuple((h.key, h.unrelated_payers) for h in inputs.hubs if h.key in members),
        as_of=inputs.as_of,
    )


def _timeline(
    alerts: Sequence[Alert], members: set[str], inputs: CaseInputs
) -> list[TimelineEvent]:
    events: dict[tuple[str, str], TimelineEvent] = {}
    for a in alerts:
        at = a.first_seen or a.last_seen
        if at is not None:
            summary = f"{a.detector} alert ({a.score:.2f}): {a.explanation}"[:300]
            events[("alerts", a.alert_id)] = TimelineEvent(
                at=at, source="alerts", record_id=a.alert_id, summary=summary
            )
    rep = inputs.reports.filter(pl.col("report_id").is_in(_ids(members, keys.REPORT)))
    for r in rep.iter_rows(named=True):
        live = " (live)" if r["is_live"] else ""
        events[("reports", r["report_id"])] = TimelineEvent(
            at=r["received_at"],
            source="reports",
            record_id=r["report_id"],
            summary=f"{r['reporter_type']} report: {r['incident_type']}{live}",
        )
    media = inputs.media_sightings.filter(pl.col("sighting_id").is_in(_ids(members, keys.MEDIA)))
    for m in media.iter_rows(named=True):
        events[("media_sightings", m["sighting_id"])] = TimelineEvent(
            at=m["seen_at"],
            source="media_sightings",
            record_id=m["sighting_id"],
            summary=f"{m['hash_type']} hash seen on {m['service'] or 'unknown service'}",
        )
    evidence_txns = {
        i for a in alerts if a.evidence_source == "transactions" for i in a.evidence_ids
    }
    if evidence_txns and inputs.transactions.height:
        txns = inputs.transactions.filter(pl.col("txn_id").is_in(sorted(evidence_txns)))
        for t in txns.sort("timestamp").head(MAX_TXN_EVENTS).iter_rows(named=True):
            events[("transactions", t["txn_id"])] = TimelineEvent(
                at=t["timestamp"],
                source="transactions",
                record_id=t["txn_id"],
                summary=f"{t['sender_id']} paid {t['amount']:.2f} {t['currency']} to {t['receiver_id']}",
            )
    return sorted(events.values(), key=lambda e: (e.at, e.source, e.record_id))


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
    sub = g.subgraph([m for m in members if m in g])
    for s, t, rel, d in sub.edges(keys=True, data=True):
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


def _title(anchor: str, g: Graph, n_members: int) -> str:
    label = str(g.nodes[anchor].get("label", anchor)) if anchor in g else anchor
    return f"{anchor} ({label}) and {max(0, n_members - 1)} linked entities"


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
    members = members | set(seeds)
    fused = fuse(alerts, _context(members, inputs))
    nodes, edges = subgraph_records(g, members, set(seeds))
    victim = inputs.reports.filter(pl.col("report_id").is_in(_ids(members, keys.REPORT)))
    countries = [c for c in victim["victim_country"].to_list() if c]
    return Case(
        case_id=case_id_for(anchor),
        title=_title(anchor, g, len(members)),
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
        country=max(set(countries), key=countries.count) if countries else None,
        created_at=now,
        updated_at=now,
    )


_VOLATILE = {"created_at", "updated_at", "status", "assignee", "outcome", "routed_agency"}


def reconcile(new: list[Case], existing: Sequence[Case], now: datetime) -> list[Case]:
    """Give new clusters the ids of the existing cases they overlap (see module doc)."""
    existing = list({c.case_id: c for c in existing}.values())  # one entry per case
    index: dict[str, list[Case]] = {}
    for c in existing:
        if c.outcome in SUPERSEDED:
            continue
        for k in {*c.entity_keys, *("alert:" + a for a in c.alert_ids)}:
            index.setdefault(k, []).append(c)
    claimed: set[str] = set()
    out: list[Case] = []
    merged: dict[str, str] = {}
    for case in sorted(new, key=lambda c: (-c.priority, c.case_id)):
        hits = {
            c.case_id: c
            for k in {*case.entity_keys, *("alert:" + a for a in case.alert_ids)}
            for c in index.get(k, [])
            if c.case_id not in claimed
        }
        if not hits:
            if case.case_id in claimed:  # a split: the anchor's id is taken
                case = case.model_copy(update={"case_id": case.case_id + "-2"})
            claimed.add(case.case_id)
            out.append(case)
            continue
        # The oldest case it overlaps; among equally old ones (a batch stored together)
        # the case of its own anchor, so that which case a cluster keeps does not depend
        # on the order clusters are met in (their priorities).
        target = min(
            hits.values(),
            key=lambda c: (c.created_at or now, c.case_id != case.case_id, c.case_id),
        )
        claimed.add(target.case_id)
        same = case.model_dump(exclude=_VOLATILE | {"case_id"}) == target.model_dump(
            exclude=_VOLATILE | {"case_id"}
        )
        out.append(
            case.model_copy(
                update={
                    "case_id": target.case_id,
                    "status": target.status,
                    "assignee": target.assignee,
                    "outcome": target.outcome,
                    "routed_agency": target.routed_agency,
                    "created_at": target.created_at,
                    "updated_at": target.updated_at if same else now,
                }
            )
        )
        for other in hits.values():
            if other.case_id != target.case_id:
                merged[other.case_id] = target.case_id
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
    groups = cluster_seeds(g, by_key, policy or CasePolicy(), hubs=[h.key for h in inputs.hubs])
    new = [assemble(g, seeds, members, by_key, inputs, now) for seeds, members in groups]
    return reconcile(new, existing, now)
