"""Cases in the store: upsert without duplicates, workflow, notes, permissions, search."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_samples import case, report

from daybreak.model.alerts import Alert
from daybreak.model.cases import (
    Case,
    CaseStatus,
    Evidence,
    GraphEdge,
    GraphNode,
    Outcome,
    Tier,
    TimelineEvent,
)
from daybreak.store import (
    Actor,
    CaseFilter,
    NotFound,
    PermissionDenied,
    Role,
    Submission,
    TiplineStore,
    WorkflowError,
)
from daybreak.testing.figures import counts_held_back

ANA = Actor("ana", Role.ANALYST)
SUP = Actor("sue", Role.SUPERVISOR)
PLATFORM = Actor("key:acme", Role.PLATFORM)


@pytest.fixture
def staffed(store: TiplineStore) -> TiplineStore:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    store.accounts.create("bob", "a long analyst password", Role.ANALYST)
    store.accounts.create("sue", "a long supervisor password", Role.SUPERVISOR)
    return store


def test_upsert_updates_instead_of_duplicating_and_keeps_workflow(staffed: TiplineStore) -> None:
    from datetime import UTC, datetime

    rich = case(
        nodes=[GraphNode(key="phone:+639171234567", kind="phone", label="+63…", alerted=True)],
        edges=[
            GraphEdge(source="phone:+639171234567", target="customer:C1", relation="paid", count=3)
        ],
        evidence=[Evidence(source="transactions", record_id="T1", summary="3 payments")],
        timeline=[
            TimelineEvent(
                at=datetime(2026, 1, 1, tzinfo=UTC),
                source="transactions",
                record_id="T1",
                summary="paid",
            )
        ],
    )
    assert staffed.cases.upsert([rich, case("C-2")]) == (2, 0)
    staffed.cases.transition("C-1", CaseStatus.ASSIGNED, SUP, "take it", assignee="ana")
    staffed.cases.add_note("C-1", ANA, "called the platform")
    # A re-run of the case builder with new analytics: same ids, workflow kept.
    assert staffed.cases.upsert(
        [rich.model_copy(update={"priority": 0.95, "title": "new"}), case("C-2")]
    ) == (0, 2)
    got = staffed.cases.get("C-1", ANA)
    assert got is not None
    assert (got.priority, got.title, got.status, got.assignee) == (
        0.95,
        "new",
        CaseStatus.ASSIGNED,
        "ana",
    )
    assert got.nodes == rich.nodes and got.edges == rich.edges and got.evidence == rich.evidence
    assert got.timeline == rich.timeline
    assert [n.text for n in staffed.cases.notes("C-1", ANA)] == ["called the platform"]
    assert len(staffed.cases.query(ANA)) == 2


def test_workflow_follows_the_transition_table(staffed: TiplineStore) -> None:
    staffed.cases.upsert([case()])
    with pytest.raises(WorkflowError, match="cannot move a new case to referred"):
        staffed.cases.transition("C-1", CaseStatus.REFERRED, ANA)
    with pytest.raises(WorkflowError, match="needs an assignee"):
        staffed.cases.transition("C-1", CaseStatus.ASSIGNED, ANA)
    staffed.cases.transition("C-1", CaseStatus.TRIAGED, ANA, "looked")
    staffed.cases.transition("C-1", CaseStatus.ASSIGNED, ANA, assignee="ana")  # self-assign
    with pytest.raises(PermissionDenied):
        staffed.cases.transition("C-1", CaseStatus.ASSIGNED, ANA, assignee="bob")
    with pytest.raises(WorkflowError, match="no such user"):
        staffed.cases.transition("C-1", CaseStatus.ASSIGNED, SUP, assignee="nobody")
    staffed.cases.transition("C-1", CaseStatus.ESCALATED, ANA, "child at risk")
    staffed.cases.transition("C-1", CaseStatus.REFERRED, ANA, "to PNP-WCPC")
    with pytest.raises(WorkflowError, match="needs an outcome"):
        staffed.cases.transition("C-1", CaseStatus.CLOSED, ANA)
    closed = staffed.cases.transition(
        "C-1", CaseStatus.CLOSED, ANA, "done", outcome=Outcome.CHILD_SAFEGUARDED
    )
    assert closed.outcome is Outcome.CHILD_SAFEGUARDED
    history = [(c.from_status, c.to_status) for c in staffed.cases.history(ANA, "C-1")]
    assert history[0] == (None, CaseStatus.NEW)
    assert history[-1] == (CaseStatus.REFERRED, CaseStatus.CLOSED)
    assert staffed.cases.history(ANA, "C-1")[-1].reason == "done"
    with pytest.raises(NotFound):
        staffed.cases.transition("C-404", CaseStatus.TRIAGED, ANA)


def test_filters_and_search(staffed: TiplineStore) -> None:
    staffed.cases.upsert(
        [case("C-1"), case("C-2", priority=0.3, entity_keys=["email:x@example.org"])]
    )
    staffed.cases.transition("C-2", CaseStatus.TRIAGED, ANA)
    assert [c.case_id for c in staffed.cases.query(ANA, CaseFilter(status=CaseStatus.TRIAGED))] == [
        "C-2"
    ]
    assert [c.case_id for c in staffed.cases.query(ANA)] == ["C-1", "C-2"]  # by priority
    assert staffed.reports.search("email", "X@Example.org", ANA).case_ids == ("C-2",)


def test_platforms_cannot_read_cases(staffed: TiplineStore) -> None:
    staffed.cases.upsert([case()])
    for call in (
        lambda: staffed.cases.query(PLATFORM),
        lambda: staffed.cases.get("C-1", PLATFORM),
        lambda: staffed.cases.notes("C-1", PLATFORM),
        lambda: staffed.cases.add_note("C-1", PLATFORM, "x"),
        lambda: staffed.reports.search("phone", "+639171234567", PLATFORM),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_users_sessions_and_api_keys(staffed: TiplineStore) -> None:
    assert staffed.accounts.authenticate("ana", "a long analyst password") == Actor(
        "ana", Role.ANALYST
    )
    assert staffed.accounts.authenticate("ana", "wrong password!!") is None
    assert staffed.accounts.authenticate("nobody", "a long analyst password") is None
    token = staffed.sessions.start(ANA)
    assert staffed.sessions.check(token) == ANA
    staffed.sessions.end(token)
    assert staffed.sessions.check(token) is None
    secret = staffed.api_keys.create("acme", Role.PLATFORM, rate_per_minute=60)
    actor = staffed.api_keys.check(secret)
    assert actor is not None and actor.role is Role.PLATFORM and actor.rate_per_minute == 60
    assert staffed.api_keys.check(secret[:-2] + "xx") is None
    key_id = secret.split("_")[1]
    with staffed.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT secret_hash FROM api_keys").scalar()
    assert stored and secret.split("_", 2)[2] not in str(stored)
    assert staffed.api_keys.revoke(key_id)
    assert staffed.api_keys.check(secret) is None
    with staffed.engine.connect() as conn:
        pw = conn.exec_driver_sql("SELECT password_hash FROM users WHERE username='ana'").scalar()
    assert str(pw).startswith("$argon2id$")


def test_a_beneficiary_is_searched_as_its_payment_handle(staffed: TiplineStore) -> None:
    # Cases key a beneficiary by its graph node, payment_handle:<provider>:<account>.
    staffed.cases.upsert([case("C-9", entity_keys=["payment_handle:gcash:+639170000001"])])
    payment = {"kind": "payment_handle", "value": "GCash:+639170000001"}
    extra = {"kind": "beneficiary", "value": "gcash:+639170000002"}
    one, two = staffed.reports.add_many(
        [
            Submission(report("u-7", payment_identifiers=[payment]), "key:test"),
            Submission(report("u-8", identifiers=[extra]), "key:test"),
        ]
    )
    found = staffed.reports.search("beneficiary", "GCash:+639170000001", ANA)
    assert found.case_ids == ("C-9",) and found.report_ids == (one.report_id,)
    assert staffed.reports.search("payment_handle", "gcash:+639170000002", ANA).report_ids == (
        two.report_id,
    )
    assert staffed.reports.search("beneficiary", "gcash:+639170000002", ANA).report_ids == (
        two.report_id,
    )


def test_queue_counts_are_kept_until_a_case_changes(store: TiplineStore) -> None:
    """Counts of a filter are kept (as the dashboards' figures) and made again once a
    case changes: a new case, and a transition, are counted after the recount."""
    ana = Actor("ana", Role.ANALYST)
    store.cases.upsert([case("C-1", country="PH"), case("C-2", country="PH")])
    ph = CaseFilter(open_only=True, country="PH", limit=1)
    first = store.cases.page(ana, ph)
    assert first.total == 2 and not first.counting
    assert store.cases.page(ana, replace(ph, offset=1)).total == 2  # same count, kept
    store.cases.upsert([case("C-3", country="PH")])
    store.cases.page(ana, ph)  # the last count, a recount started
    store.cases.settle()
    assert store.cases.page(ana, ph).total == 3
    store.cases.transition("C-1", CaseStatus.CLOSED, ana, "dup", outcome=Outcome.DUPLICATE)
    store.cases.page(ana, ph)
    store.cases.settle()
    found = store.cases.page(ana, ph)
    assert (found.total, found.closed, found.counting) == (2, 0, False)
    every = store.cases.page(ana, CaseFilter(country="PH", limit=1))  # a new filter: counted
    assert (every.total, every.closed, every.counting) == (3, 1, False)


def test_a_changed_queue_count_is_served_at_once_then_recounted(store: TiplineStore) -> None:
    """After a change, the filter's last count is returned without waiting for the
    recount (held back: a request that waited would hang), marked as being counted
    with its time; the page's rows are read for the request, so the new case shows."""
    ana = Actor("ana", Role.ANALYST)
    store.cases.upsert([case("C-1", country="PH", priority=0.5)])
    ph = CaseFilter(open_only=True, country="PH")
    first = store.cases.page(ana, ph)
    assert (first.total, first.counting, first.counted_at) == (1, False, None)

    with counts_held_back() as held:
        store.cases.upsert([case("C-2", country="PH", priority=0.9)])
        stale = store.cases.page(ana, ph)
        assert (stale.total, stale.counting) == (1, True) and stale.counted_at is not None
        assert [e.case.case_id for e in stale.entries] == ["C-2", "C-1"]  # rows: current
        assert held.counting.wait(30)  # in the background
        assert store.cases.page(ana, ph).total == 1  # one recount at a time
        held.released.set()
        store.cases.settle()
    fresh = store.cases.page(ana, ph)
    assert (fresh.total, fresh.counting) == (2, False)


def test_one_organisations_queue_count_is_never_served_to_another(store: TiplineStore) -> None:
    """The same filter in two organisations: each is counted (and recounted) over its
    own cases, even while the other's count is stale."""
    ana_a = Actor("ana", Role.ANALYST, org_id="bank-a")
    bea_b = Actor("bea", Role.ANALYST, org_id="bank-b")
    for actor in (ana_a, bea_b):
        store.organisations.create(actor.org_id, actor.org_id.upper())
    store.cases.upsert([case(f"C-A{i}", country="PH") for i in range(3)], ana_a)
    store.cases.upsert([case("C-B0", country="PH")], bea_b)
    ph = CaseFilter(open_only=True, country="PH")
    assert store.cases.page(ana_a, ph).total == 3
    assert store.cases.page(bea_b, ph).total == 1  # not bank A's kept count

    with counts_held_back() as held:
        store.cases.upsert([case("C-A3", country="PH")], ana_a)
        assert (store.cases.page(ana_a, ph).total, store.cases.page(bea_b, ph).total) == (3, 1)
        assert held.counting.wait(30)
        held.released.set()
        store.cases.settle()
    assert store.cases.page(ana_a, ph).total == 4
    b = store.cases.page(bea_b, ph)
    assert (b.total, b.counting) == (1, False)
    assert [e.case.case_id for e in b.entries] == ["C-B0"]


def test_states_give_the_current_tier_and_status_without_bodies(staffed: TiplineStore) -> None:
    """A hub page's sub-cases as they are now: an override and a transition show."""
    from daybreak.model.cases import Tier

    staffed.cases.upsert([case("C-1"), case("C-2")])
    staffed.cases.override_tier("C-1", Tier.OTHER, ANA, "a test payment")
    staffed.cases.transition("C-2", CaseStatus.TRIAGED, ANA, "looked")
    assert staffed.cases.states(ANA, ["C-1", "C-2", "C-404"]) == {
        "C-1": (Tier.OTHER, CaseStatus.NEW),
        "C-2": (Tier.KNOWN_OFFENDER_ACCESS, CaseStatus.TRIAGED),
    }
    listed = [e for e in staffed.audit.trail(SUP) if e.action == "case.list"]
    assert listed[-1].actor == "ana" and listed[-1].detail["ids"] == ["C-1", "C-2"]
    with pytest.raises(PermissionDenied):
        staffed.cases.states(PLATFORM, ["C-1"])


def _alerted(case_id: str, tier: int, priority: float, typology: str) -> Case:
    alert = Alert(
        alert_id=f"A-{case_id}",
        detector="payments",
        subject_type="customer",
        subject_id=f"customer:{case_id}",
        score=0.9,
        typologies=(typology,),
        explanation="synthetic",
    )
    return case(
        case_id, tier=Tier(tier), priority=priority, alerts=[alert], alert_ids=[alert.alert_id]
    )


def test_pages_follow_the_queue_order_page_after_page(store: TiplineStore) -> None:
    """Each page is found by its ids first (a deferred join) and a typology is probed
    case by case in the queue's order: the pages together are the whole ordered list,
    for every filter."""
    ana = Actor("ana", Role.ANALYST)
    built = [
        _alerted(f"C-{i:02d}", 2 + i % 4, round(0.1 + (i * 37 % 17) / 20, 2), typology)
        for i in range(24)
        for typology in [("night_payments", "cover_words")[i % 2]]
    ]
    store.cases.upsert(built)
    store.cases.transition("C-05", CaseStatus.CLOSED, ana, "dup", outcome=Outcome.DUPLICATE)
    for wanted in (
        CaseFilter(open_only=True),
        CaseFilter(open_only=True, typology="night_payments"),
        CaseFilter(typology="cover_words", tier=3),
        CaseFilter(status=CaseStatus.CLOSED),
    ):
        everything = [c.case_id for c in store.cases.query(ana, replace(wanted, limit=1000))]
        paged = [
            e.case.case_id
            for offset in range(0, 30, 4)
            for e in store.cases.page(ana, replace(wanted, limit=4, offset=offset)).entries
        ]
        assert paged == everything and everything, wanted
    night = store.cases.page(ana, CaseFilter(open_only=True, typology="night_payments"))
    assert night.total == 12 and all("night_payments" in e.typologies for e in night.entries)
