"""The dashboards' time to triage computed by the database (SQLite and PostgreSQL):
hours from a case's first "new" event to its first move, summarised once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from store_samples import case

from daybreak.model.cases import CaseStatus, Outcome
from daybreak.store import SYSTEM, Actor, Role, TiplineStore
from daybreak.store.tables import case_events, cases
from daybreak.testing.figures import figures_held_back

SUE = Actor("sue", Role.SUPERVISOR)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def test_time_to_triage_is_counted_in_sql_and_summarised(store: TiplineStore) -> None:
    store.accounts.create("sue", "a long supervisor password", Role.SUPERVISOR)
    store.cases.upsert([case(f"C-{i}") for i in range(3)])
    store.cases.transition("C-0", CaseStatus.TRIAGED, SUE)
    store.cases.transition("C-1", CaseStatus.TRIAGED, SUE)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    with store.engine.begin() as conn:  # entered the queue at base; moved 30 min / 50 h later
        conn.execute(update(case_events).where(case_events.c.to_status == "new").values(at=base))
        for case_id, after in (("C-0", timedelta(minutes=30)), ("C-1", timedelta(hours=50))):
            conn.execute(
                update(case_events)
                .where(case_events.c.case_id == case_id, case_events.c.to_status == "triaged")
                .values(at=base + after)
            )
    store.cases.add_note("C-2", SUE, "a change, so the cached figures are computed again")
    figures = store.cases.figures(SYSTEM)
    assert figures.waiting == 1 and figures.triage.measured == 2
    assert figures.triage.bins == {"< 1 h": 1, "1-4 h": 0, "4-24 h": 0, "1-3 d": 1, "> 3 d": 0}
    assert figures.triage.median_hours is not None
    assert abs(figures.triage.median_hours - 25.25) < 0.01


def test_latest_figures_are_served_at_once_while_newer_ones_are_counted(
    store: TiplineStore,
) -> None:
    store.cases.upsert([case(f"C-{i}") for i in range(2)])
    first = store.cases.latest_figures(SYSTEM)  # the first request counts them itself
    assert first.total == 2 and first.as_of is not None and not first.refreshing
    assert store.cases.latest_figures(SYSTEM) == first  # unchanged: the same figures

    with figures_held_back() as held:  # a request that waited for the count would hang
        store.cases.upsert([case("C-2")])
        stale = store.cases.latest_figures(SYSTEM)
        assert stale.total == 2 and stale.refreshing and stale.as_of == first.as_of
        assert held.counting.wait(30)  # in the background
        assert store.cases.latest_figures(SYSTEM).total == 2  # one count at a time
        held.released.set()
        store.cases.settle()
    fresh = store.cases.latest_figures(SYSTEM)
    assert fresh.total == 3 and not fresh.refreshing
    assert fresh.as_of is not None and fresh.as_of >= first.as_of


def test_figures_are_counted_again_after_retention_deletes_cases(store: TiplineStore) -> None:
    store.accounts.create("sue", "a long supervisor password", Role.SUPERVISOR)
    store.cases.upsert([case(f"C-{i}") for i in range(3)])
    store.cases.transition("C-0", CaseStatus.CLOSED, SUE, "no action", outcome=Outcome.NO_ACTION)
    # Later changes, so the deletion lowers neither the latest change nor the latest event:
    # only the count of deleted cases tells the cached figures apart.
    store.cases.transition("C-1", CaseStatus.TRIAGED, SUE)
    with store.engine.begin() as conn:  # C-0 was closed long ago
        conn.execute(update(cases).where(cases.c.case_id == "C-0").values(updated_at=LONG_AGO))
    assert store.cases.figures(SYSTEM).total == 3
    assert store.retention.apply(30).cases_deleted == 1
    assert store.cases.figures(SYSTEM).total == 2
