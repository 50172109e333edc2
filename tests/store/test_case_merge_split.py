"""Manual merge and split of cases in the store: content moved, B closed as merged with
links both ways, reasons kept encrypted, who may, audit entries, and edits that
outlive a rebuild by the case builder."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from store_samples import case

from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    Case,
    CaseStatus,
    Evidence,
    GraphEdge,
    GraphNode,
    Outcome,
    Tier,
)
from daybreak.store import Actor, CaseFilter, PermissionDenied, Role, TiplineStore, WorkflowError
from daybreak.store.case_links import LinkKind
from daybreak.store.tables import case_links

ANA = Actor("ana", Role.ANALYST)
BOB = Actor("bob", Role.ANALYST)
SUE = Actor("sue", Role.SUPERVISOR)
REASON = "same payer seen under two accounts"


def _alert(n: str, subject: str, typologies: tuple[str, ...] = ()) -> Alert:
    return Alert(
        alert_id=f"A-{n}",
        detector="payments",
        subject_type="customer",
        subject_id=subject,
        score=0.5,
        typologies=typologies,
        explanation="synthetic",
        evidence_ids=(f"T-{n}",),
    )


def _case(case_id: str, n: str, subject: str, tier: Tier = Tier.COMMERCIAL_OR_VOLUME) -> Case:
    alert = _alert(n, subject)
    other = f"phone:+6391700000{n}"
    return case(
        case_id,
        tier=tier,
        entity_keys=[subject, other],
        alerts=[alert],
        alert_ids=[alert.alert_id],
        nodes=[GraphNode(key=k, kind=k.split(":")[0], label=k) for k in (subject, other)],
        edges=[GraphEdge(source=subject, target=other, relation="same_person")],
        evidence=[Evidence(source="transactions", record_id=f"T-{n}")],
    )


@pytest.fixture
def two(store: TiplineStore) -> TiplineStore:
    for actor in (ANA, BOB, SUE):
        store.accounts.create(actor.name, "a long analyst password", actor.role)
    store.cases.upsert(
        [
            _case("C-A", "1", "customer:C1"),
            _case("C-B", "2", "customer:C2", Tier.KNOWN_OFFENDER_ACCESS),
        ]
    )
    return store


def test_merge_moves_the_content_closes_b_and_links_both_ways(two: TiplineStore) -> None:
    a, b = two.cases.merge("C-A", "C-B", SUE, REASON)
    assert a.alert_ids == ["A-1", "A-2"]
    assert set(a.entity_keys) >= {"customer:C1", "customer:C2", "phone:+63917000002"}
    assert {e.record_id for e in a.evidence} == {"T-1", "T-2"}
    assert a.tier is Tier.KNOWN_OFFENDER_ACCESS  # the more severe of the two
    assert a.status is CaseStatus.NEW  # A's workflow is kept
    assert b.status is CaseStatus.CLOSED and b.outcome is Outcome.MERGED
    history_b = two.cases.history(SUE, "C-B")
    assert history_b[-1].reason == f"merged into C-A: {REASON}"
    links_a, links_b = two.cases.links("C-A", SUE), two.cases.links("C-B", SUE)
    assert [(x.kind, x.other_case_id, x.reason) for x in links_a] == [
        (LinkKind.MERGED_FROM, "C-B", REASON)
    ]
    assert [(x.kind, x.other_case_id, x.actor) for x in links_b] == [
        (LinkKind.MERGED_INTO, "C-A", "sue")
    ]
    # A search for B's phone finds A now (and B, closed).
    found = two.cases.query(SUE, CaseFilter(search=frozenset({"+63917000002"})))
    assert {c.case_id for c in found} == {"C-A", "C-B"}
    trail = [(e.action, e.object_id, e.detail) for e in two.audit.trail(SUE)]
    assert ("case.merge", "C-A", {"merged": "C-B"}) in trail
    assert ("case.merged", "C-B", {"into": "C-A"}) in trail
    # The reason is stored encrypted.
    with two.engine.connect() as conn:
        blobs = [r[0] for r in conn.execute(select(case_links.c.detail_enc))]
    assert blobs and all(REASON.encode() not in blob for blob in blobs)


def test_merge_needs_a_reason_open_cases_and_refuses_closing_as_merged_by_hand(
    two: TiplineStore,
) -> None:
    with pytest.raises(WorkflowError, match="needs a reason"):
        two.cases.merge("C-A", "C-B", SUE, "  ")
    with pytest.raises(WorkflowError, match="into itself"):
        two.cases.merge("C-A", "C-A", SUE, REASON)
    with pytest.raises(WorkflowError, match="by merging it"):
        two.cases.transition("C-B", CaseStatus.CLOSED, SUE, "x", outcome=Outcome.MERGED)
    two.cases.merge("C-A", "C-B", SUE, REASON)
    with pytest.raises(WorkflowError, match="C-B is closed"):
        two.cases.merge("C-A", "C-B", SUE, REASON)


def test_an_analyst_merges_only_cases_that_are_unassigned_or_theirs(two: TiplineStore) -> None:
    two.cases.transition("C-B", CaseStatus.ASSIGNED, SUE, assignee="bob")
    with pytest.raises(PermissionDenied, match="only they or a supervisor may merge"):
        two.cases.merge("C-A", "C-B", ANA, REASON)
    a, _ = two.cases.merge("C-A", "C-B", BOB, REASON)  # bob holds C-B, C-A is unassigned
    assert "A-2" in a.alert_ids


def test_split_moves_chosen_alerts_and_their_entities_into_a_new_case(
    store: TiplineStore,
) -> None:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    merged = _case("C-A", "1", "customer:C1")
    second = _case("C-X", "2", "customer:C2")
    both = merged.model_copy(
        update={
            "alerts": [*merged.alerts, *second.alerts],
            "alert_ids": ["A-1", "A-2"],
            "entity_keys": [*merged.entity_keys, *second.entity_keys],
            "nodes": [*merged.nodes, *second.nodes],
            "edges": [*merged.edges, *second.edges],
            "evidence": [*merged.evidence, *second.evidence],
        }
    )
    store.cases.upsert([both])
    rest, new = store.cases.split("C-A", ["A-2"], ANA, "a different payer")
    assert new.case_id == "C-A-S1" and new.status is CaseStatus.NEW
    assert new.alert_ids == ["A-2"] and set(new.entity_keys) == {
        "customer:C2",
        "phone:+63917000002",
    }
    assert [e.record_id for e in new.evidence] == ["T-2"]
    assert rest.alert_ids == ["A-1"] and "customer:C2" not in rest.entity_keys
    assert [e.record_id for e in rest.evidence] == ["T-1"]
    assert [(x.kind, x.other_case_id, x.alert_ids) for x in store.cases.links("C-A", ANA)] == [
        (LinkKind.SPLIT_TO, "C-A-S1", ("A-2",))
    ]
    assert store.cases.links("C-A-S1", ANA)[0].kind is LinkKind.SPLIT_FROM
    trail = [(e.action, e.object_id) for e in store.audit.trail(SUE)]
    assert ("case.split", "C-A") in trail and ("case.create", "C-A-S1") in trail
    with pytest.raises(WorkflowError, match="at least one alert in the case"):
        store.cases.split("C-A", ["A-1"], ANA, "all of it")
    with pytest.raises(WorkflowError, match="has no alert A-9"):
        store.cases.split("C-A", ["A-9"], ANA, "unknown")

    # The case builder brings the whole cluster back: the split is applied again.
    store.cases.upsert([both])
    again = store.cases.get("C-A", ANA)
    assert again is not None and again.alert_ids == ["A-1"]
    split_out = store.cases.get("C-A-S1", ANA)
    assert split_out is not None and split_out.alert_ids == ["A-2"]


def test_a_merge_outlives_a_rebuild_of_either_case(two: TiplineStore) -> None:
    two.cases.merge("C-A", "C-B", SUE, REASON)
    # The builder replaces both cases with their own content (as it found them).
    two.cases.upsert([_case("C-A", "1", "customer:C1"), _case("C-B", "2", "customer:C2")])
    a = two.cases.get("C-A", SUE)
    b = two.cases.get("C-B", SUE)
    assert a is not None and a.alert_ids == ["A-1", "A-2"]
    assert b is not None and b.status is CaseStatus.CLOSED and b.outcome is Outcome.MERGED
