"""Cases from alerts: fusion across sources, stable ids, merges on re-run."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from graph_world import FACILITATOR, payment_alerts, ts

from daybreak.graph import build_cases, build_world_graph
from daybreak.graph.cases import AlertError
from daybreak.graph.resolution import EDGE_SCHEMA
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Outcome

MEDIA = [{"sighting_id": "S1", "account_id": "maria88", "bank": "ncmec", "distance": 10}]


def _case_with(cases: list[Case], key: str) -> Case:
    found = [c for c in cases if key in c.entity_keys]
    assert len(found) == 1, f"{key} is in {len(found)} cases"
    return found[0]


def test_payment_report_and_media_fuse_into_one_case(tiny_world: Path) -> None:
    cases = build_cases(tiny_world, payment_alerts(), media_matches=MEDIA)
    top = cases[0]
    assert top is _case_with(cases, "report:R1")
    assert set(top.sources) == {"payments", "reports", "media"}
    assert {"pay-1", "pay-2", "tipline:R1", "media:S1:ncmec"} <= set(top.alert_ids)
    assert f"payment_handle:{FACILITATOR}" in top.entity_keys
    assert "3 independent sources" in top.explanation
    assert "live stream" in top.explanation
    assert top.tier == 1
    # The unrelated customer's alert is its own, lower case.
    c9 = _case_with(cases, "customer:C9")
    assert c9.case_id != top.case_id and c9.priority < top.priority
    assert c9.sources == ["payments"]


def test_more_corroborating_sources_raise_priority(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    pay_only = build_cases(tiny_world, payment_alerts(), include_reports=False, world_graph=wg)
    with_media = build_cases(
        tiny_world, payment_alerts(), include_reports=False, media_matches=MEDIA, world_graph=wg
    )
    everything = build_cases(tiny_world, payment_alerts(), media_matches=MEDIA, world_graph=wg)
    key = f"payment_handle:{FACILITATOR}"
    p = [_case_with(cs, key).priority for cs in (pay_only, with_media, everything)]
    assert p[0] < p[1] < p[2]
    assert "2 independent sources" in _case_with(with_media, key).explanation


def test_case_has_timeline_subgraph_and_evidence(tiny_world: Path) -> None:
    top = build_cases(tiny_world, payment_alerts(), media_matches=MEDIA)[0]
    times = [e.at for e in top.timeline]
    assert times == sorted(times)
    sources = {e.source for e in top.timeline}
    assert {"alerts", "reports", "media_sightings", "transactions"} <= sources
    node_keys = {n.key for n in top.nodes}
    assert node_keys == set(top.entity_keys)
    assert {n.key for n in top.nodes if n.alerted} >= {"customer:C1", "report:R1", "media:S1"}
    for e in top.edges:
        assert e.source in node_keys and e.target in node_keys
    ev = {(e.source, e.record_id) for e in top.evidence}
    assert {("transactions", "T0001"), ("reports", "R1"), ("media_sightings", "S1")} <= ev
    assert any(e.source == "splink" for e in top.evidence)  # C1 ~ C2


def test_rerun_keeps_ids_status_and_does_not_duplicate(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    first = build_cases(tiny_world, payment_alerts(), world_graph=wg)
    worked = [
        c.model_copy(update={"status": CaseStatus.ASSIGNED, "assignee": "ana"}) for c in first
    ]
    again = build_cases(tiny_world, payment_alerts(), world_graph=wg, existing=worked)
    assert sorted(c.case_id for c in again) == sorted(c.case_id for c in first)
    assert all(c.status is CaseStatus.ASSIGNED and c.assignee == "ana" for c in again)
    assert [c.updated_at for c in again] == [c.updated_at for c in worked]
    # New data (a media match) updates the existing case in place.
    newer = build_cases(
        tiny_world, payment_alerts(), media_matches=MEDIA, world_graph=wg, existing=worked
    )
    assert sorted(c.case_id for c in newer) == sorted(c.case_id for c in first)
    top = _case_with(newer, "media:S1")
    assert top.assignee == "ana" and "media" in top.sources


def test_new_data_joining_two_cases_closes_one_as_duplicate(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    c9_alert = payment_alerts()[2]
    report_only = build_cases(tiny_world, [], world_graph=wg)  # R1 case, R2 case
    separate = build_cases(tiny_world, [c9_alert], world_graph=wg, existing=report_only)
    old_ids = {c.case_id for c in separate}
    assert len(old_ids) == 3
    # C9 turns out to share the reported phone: its case and R1's become one.
    link = {"source": ["customer:C9"], "target": ["phone:+639171234567"]}
    row = {**link, "relation": ["has_identifier"], "n": [1], "weight": [1.0], "origin": ["new"]}
    more = pl.DataFrame(row).with_columns(
        [pl.lit(None, t).alias(c) for c, t in EDGE_SCHEMA.items() if c not in row]
    )
    wg = replace(wg, tables=wg.tables.with_edges(more.select(list(EDGE_SCHEMA)).cast(EDGE_SCHEMA)))
    joined = build_cases(tiny_world, [c9_alert], world_graph=wg, existing=[*report_only, *separate])
    live = [c for c in joined if c.outcome is not Outcome.DUPLICATE]
    dupes = [c for c in joined if c.outcome is Outcome.DUPLICATE]
    assert len(live) == 2 and len(dupes) == 1
    assert dupes[0].status is CaseStatus.CLOSED
    merged_into = next(c for c in live if "customer:C9" in c.entity_keys)
    assert "report:R1" in merged_into.entity_keys
    assert f"Merged into {merged_into.case_id}" in dupes[0].reasons[-1]
    assert {c.case_id for c in joined} <= old_ids


def test_case_ids_do_not_depend_on_alert_order(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    a = build_cases(tiny_world, payment_alerts(), world_graph=wg)
    b = build_cases(tiny_world, payment_alerts()[::-1], world_graph=wg)
    assert [c.case_id for c in a] == [c.case_id for c in b]


def test_older_signals_lower_priority(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    alerts = payment_alerts()[:1]
    now = build_cases(tiny_world, alerts, include_reports=False, world_graph=wg, as_of=ts(21))
    later = build_cases(
        tiny_world, alerts, include_reports=False, world_graph=wg, as_of=ts(21) + timedelta(90)
    )
    assert later[0].priority < now[0].priority
    assert "days old" in later[0].explanation


def test_unplaceable_alerts_are_reported(tiny_world: Path) -> None:
    bad = Alert(
        alert_id="x",
        detector="payments",
        subject_type="entity",
        subject_id="nonsense",
        score=0.5,
        explanation="?",
    )
    with pytest.raises(AlertError, match="alert x"):
        build_cases(tiny_world, [bad], probabilistic=False)


def test_equally_old_cases_keep_their_own_anchor() -> None:
    """Cases stored in one batch are equally old. A re-run's cluster that overlaps two
    of them keeps the case of its own anchor, whatever order the clusters come in: the
    first one met used to take the other's case, and `daybreak demo` re-runs then split
    and closed cases whenever tipline triage scored the clusters in another order."""
    from datetime import UTC, datetime

    from daybreak.graph.cases import reconcile
    from daybreak.model.cases import Case, CaseStatus

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    stored = [
        Case(case_id="CASE-A", title="a", priority=0.5, entity_keys=["phone:a", "phone:shared"],
             created_at=t0),
        Case(case_id="CASE-B", title="b", priority=0.9, entity_keys=["phone:b", "phone:shared"],
             created_at=t0),
    ]  # fmt: skip
    rerun = [
        stored[1].model_copy(update={"created_at": None}),  # met first: higher priority
        stored[0].model_copy(update={"created_at": None, "entity_keys": ["phone:a"]}),
    ]
    out = reconcile(rerun, stored, now=t0)
    assert sorted(c.case_id for c in out) == ["CASE-A", "CASE-B"]
    assert all(c.status is not CaseStatus.CLOSED for c in out)
