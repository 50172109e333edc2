"""Hub cases: an entity linked to many alerted entities is a case of its own, and
what links to it are sub-cases that each read alone (issue #15: one case of 1,150
entities around a facilitator handle paid by 150 customers)."""

from __future__ import annotations

from pathlib import Path

from graph_world import FACILITATOR, payment_alerts, ts

from daybreak.graph import build_cases, build_world_graph
from daybreak.graph.clusters import CasePolicy
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus

HUB = f"payment_handle:{FACILITATOR}"
POLICY = CasePolicy(hub_case_seeds=4)


def payer_alerts() -> list[Alert]:
    """Every payer of the facilitator alerted, besides the tiny world's own alerts."""
    extra = [
        Alert(
            alert_id=f"pay-{c}",
            detector="payments",
            subject_type="customer",
            subject_id=c,
            score=0.5,
            explanation="small remittances to PH",
            first_seen=ts(2),
            last_seen=ts(16),
        )
        for c in ("C3", "C4", "C5", "C6")
    ]
    return [*payment_alerts(), *extra]


def _hub(cases: list[Case]) -> Case:
    hubs = [c for c in cases if c.hub_key]
    assert len(hubs) == 1, [c.case_id for c in hubs]
    return hubs[0]


def test_a_hub_is_a_case_of_its_own_with_linked_sub_cases(tiny_world: Path) -> None:
    cases = build_cases(tiny_world, payer_alerts(), policy=POLICY)
    hub = _hub(cases)
    assert hub.hub_key == HUB
    by_id = {c.case_id: c for c in cases}
    subs = [by_id[link.case_id] for link in hub.sub_cases]
    assert len(subs) >= 5  # C1 (with its twin C2), C3, C4, C5, C6 and the report
    # The hub case holds the hub's own alert and identifiers, not its payers.
    assert hub.alert_ids == ["pay-1"]
    assert not [k for k in hub.entity_keys if k.startswith("customer:")]
    for sub, link in zip(subs, hub.sub_cases, strict=True):
        assert sub.parent_case_ids == [hub.case_id]  # sub-cases link back
        assert HUB in sub.entity_keys  # the link to the hub is drawn in each
        assert "pay-1" not in sub.alert_ids  # the hub's alert is the hub case's
        assert (link.tier, link.alerts, link.title) == (sub.tier, len(sub.alert_ids), sub.title)
    # Every alert is in exactly one case.
    placed = [a for c in cases for a in c.alert_ids]
    assert sorted(placed) == sorted(
        {a.alert_id for a in payer_alerts()} | {"tipline:R1", "tipline:R2"}
    )
    # The hub's tier is the most severe among its own and its sub-cases'.
    assert hub.tier == min(s.tier for s in [*subs])
    assert hub.priority == max(c.priority for c in [hub, *subs])
    assert [(link.tier, -link.priority) for link in hub.sub_cases] == sorted(
        (link.tier, -link.priority) for link in hub.sub_cases
    )
    assert "sub-cases" in hub.explanation


def test_without_enough_alerted_links_there_is_no_hub(tiny_world: Path) -> None:
    cases = build_cases(tiny_world, payer_alerts(), policy=CasePolicy(hub_case_seeds=50))
    assert not [c for c in cases if c.hub_key or c.sub_cases or c.parent_case_ids]
    assert len([c for c in cases if HUB in c.entity_keys]) == 1


def test_hub_cases_are_the_same_whatever_the_alert_order(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    a = build_cases(tiny_world, payer_alerts(), world_graph=wg, policy=POLICY)
    b = build_cases(tiny_world, payer_alerts()[::-1], world_graph=wg, policy=POLICY)
    assert [c.model_dump() for c in a] == [c.model_dump() for c in b]


def test_rerun_keeps_hub_and_sub_case_ids_and_links(tiny_world: Path) -> None:
    wg = build_world_graph(tiny_world)
    first = build_cases(tiny_world, payer_alerts(), world_graph=wg, policy=POLICY)
    worked = [c.model_copy(update={"status": CaseStatus.ASSIGNED}) for c in first]
    again = build_cases(tiny_world, payer_alerts(), world_graph=wg, policy=POLICY, existing=worked)
    assert sorted(c.case_id for c in again) == sorted(c.case_id for c in first)
    assert all(c.status is CaseStatus.ASSIGNED for c in again)
    assert _hub(again).sub_cases == _hub(first).sub_cases
    # The sub-cases share the hub entity, yet none was merged into another.
    assert not [c for c in again if c.outcome is not None]


def test_links_follow_the_ids_of_existing_cases(tiny_world: Path) -> None:
    """A sub-case that takes over an older case's id: the hub lists that id."""
    wg = build_world_graph(tiny_world)
    first = build_cases(tiny_world, payer_alerts(), world_graph=wg, policy=POLICY)
    sub = next(c for c in first if "customer:C3" in c.entity_keys)
    older = sub.model_copy(
        update={"case_id": "CASE-OLDER", "created_at": ts(0), "parent_case_ids": []}
    )
    again = build_cases(tiny_world, payer_alerts(), world_graph=wg, policy=POLICY, existing=[older])
    hub = _hub(again)
    assert "CASE-OLDER" in [link.case_id for link in hub.sub_cases]
    assert sub.case_id not in [link.case_id for link in hub.sub_cases]
    taken = next(c for c in again if c.case_id == "CASE-OLDER")
    assert taken.parent_case_ids == [hub.case_id]
