"""Hub cases: an entity linked to many alerted entities is a case of its own, and
what links to it are sub-cases that each read alone (issue #15: one case of 1,150
entities around a facilitator handle paid by 150 customers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from graph_world import FACILITATOR, payment_alerts, ts

from daybreak.graph import build_cases, build_world_graph
from daybreak.graph.clusters import CasePolicy
from daybreak.model.alerts import Alert
from daybreak.model.cases import Case, CaseStatus, Tier
from daybreak.store import Keyring, TiplineStore
from daybreak.store.auth import Actor, Role
from daybreak.store.keys import generate_key

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


def hub_without_own_alerts() -> list[Alert]:
    """The payers alerted, the facilitator's handle itself not (it has no alert)."""
    return [a for a in payer_alerts() if a.alert_id != "pay-1"]


@pytest.mark.parametrize("alerts", [payer_alerts, hub_without_own_alerts])
def test_a_worked_giant_case_that_becomes_a_hub_keeps_its_work_in_the_store(
    tiny_world: Path, tmp_path: Path, alerts: Callable[[], list[Alert]]
) -> None:
    """Re-running the build over a stored, worked giant case (built before hub cases):
    the hub case takes over its id and so its assignee, status, notes, tier override
    and history; the sub-cases start fresh and name the case they came from."""
    store = TiplineStore(
        f"sqlite+pysqlite:///{tmp_path / 'store.db'}", Keyring.from_text(generate_key())
    )
    try:
        store.accounts.create("ana", "a long analyst password", Role.ANALYST)
        sup, ana = Actor("sue", Role.SUPERVISOR), Actor("ana", Role.ANALYST)
        wg = build_world_graph(tiny_world)
        before = build_cases(
            tiny_world, alerts(), world_graph=wg, policy=CasePolicy(hub_case_seeds=50)
        )
        store.cases.upsert(before)
        giant = next(c for c in before if HUB in c.entity_keys)
        store.cases.transition(giant.case_id, CaseStatus.ASSIGNED, sup, "take it", assignee="ana")
        store.cases.add_note(giant.case_id, ana, "the facilitator's payers, called the bank")
        lower = Tier(min(int(giant.tier) + 1, int(Tier.OTHER)))
        store.cases.override_tier(giant.case_id, lower, ana, "bank says these are rent")

        existing = store.cases.query(sup)
        again = build_cases(tiny_world, alerts(), world_graph=wg, policy=POLICY, existing=existing)
        store.cases.upsert(again)

        hub = _hub(again)
        assert hub.case_id == giant.case_id  # the worked case is the hub's now
        stored = store.cases.get(hub.case_id, sup)
        assert stored is not None and stored.hub_key == HUB
        assert (stored.status, stored.assignee) == (CaseStatus.ASSIGNED, "ana")
        assert stored.tier is lower
        assert [n.text for n in store.cases.notes(hub.case_id, sup)] == [
            "the facilitator's payers, called the bank"
        ]
        assert [o.reason for o in store.cases.tier_overrides(hub.case_id, sup)] == [
            "bank says these are rent"
        ]
        assert [h.to_status for h in store.cases.history(sup, hub.case_id)][-1:] == [
            CaseStatus.ASSIGNED
        ]
        subs = [store.cases.get(link.case_id, sup) for link in hub.sub_cases]
        assert len(subs) >= 5
        for sub in subs:
            assert sub is not None and sub.case_id != giant.case_id
            assert (sub.status, sub.assignee) == (CaseStatus.NEW, None)
            assert sub.derived_from == [giant.case_id]
            assert store.cases.notes(sub.case_id, sup) == []
            assert store.cases.tier_overrides(sub.case_id, sup) == []
        # A third run keeps all of it where it is.
        third = build_cases(
            tiny_world,
            alerts(),
            world_graph=wg,
            policy=POLICY,
            existing=store.cases.query(sup),
        )
        assert _hub(third).case_id == giant.case_id
        assert sorted(c.case_id for c in third) == sorted(c.case_id for c in again)
        assert {c.case_id: c.derived_from for c in third} == {
            c.case_id: c.derived_from for c in again
        }
    finally:
        store.close()


def test_a_hub_case_without_alerts_of_its_own_files_nothing_and_says_why(
    tiny_world: Path, shared_dir: Path
) -> None:
    """Its filings would rest on its sub-cases' records (a report naming the hub): they
    are not offered, with the reason; the case JSON still lists the hub and its sub-cases."""
    from daybreak import exporters

    alerts = hub_without_own_alerts()
    hub = _hub(build_cases(tiny_world, alerts, policy=POLICY))
    assert hub.alert_ids == []
    bundle = exporters.bundle_from_world(
        hub, tiny_world, alerts=alerts, org=exporters.OrgSettings.demo_identity()
    )
    assert bundle.reports  # the world's report naming the hub is in reach
    standards = shared_dir / "standards"
    for fmt in ("goaml", "cybertip"):
        xsd = standards / exporters.exporter_info(fmt).schema.standards_path  # type: ignore[union-attr]
        reason = exporters.unavailable_reason(fmt, bundle, xsd)
        assert reason is not None and "no alerts of its own" in reason
        assert f"{len(hub.sub_cases)} sub-case(s)" in reason
    assert exporters.unavailable_reason("case_json", bundle) is None
    made = exporters.export_case("case_json", bundle).decode()
    assert all(link.case_id in made for link in hub.sub_cases)
    # A hub case with an alert of its own files as before.
    owned = _hub(build_cases(tiny_world, payer_alerts(), policy=POLICY))
    owned_bundle = exporters.bundle_from_world(
        owned, tiny_world, alerts=payer_alerts(), org=exporters.OrgSettings.demo_identity()
    )
    xsd = standards / exporters.exporter_info("goaml").schema.standards_path  # type: ignore[union-attr]
    assert exporters.unavailable_reason("goaml", owned_bundle, xsd) is None
