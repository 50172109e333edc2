"""The dashboards' time to triage computed by the database (SQLite and PostgreSQL):
hours from a case's first "new" event to its first move, summarised once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from store_samples import case

from daybreak.model.cases import CaseStatus
from daybreak.store import SYSTEM, Actor, Role, TiplineStore
from daybreak.store.tables import case_events

SUE = Actor("sue", Role.SUPERVISOR)


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
