"""Retention and the shipped Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from store_samples import case, report

from daybreak.model.cases import CaseStatus, Outcome
from daybreak.store import SYSTEM, Actor, Role, Submission, TiplineStore
from daybreak.store.db import current_revision
from daybreak.store.tables import metadata

ANA = Actor("ana", Role.ANALYST)


def test_migrations_create_exactly_the_declared_schema(store: TiplineStore) -> None:
    assert current_revision(store.engine) == "0001"
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_retention_keeps_what_open_cases_use(store: TiplineStore) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    kept, dropped, fresh = store.add_reports(
        [
            Submission(report("k"), "key:a", received_at=old),
            Submission(report("d"), "key:a", received_at=old),
            Submission(report("f"), "key:a"),
        ]
    )
    store.upsert_cases(
        [
            case("C-open", report_ids=[kept.report_id]),
            case("C-closed", report_ids=[dropped.report_id]),
        ]
    )
    store.transition("C-closed", CaseStatus.CLOSED, ANA, outcome=Outcome.NO_ACTION)
    dry = store.apply_retention(365, dry_run=True)
    assert (dry.reports_deleted, dry.cases_deleted) == (1, 0)  # C-closed was touched today
    assert store.count_reports() == 3
    done = store.apply_retention(365)
    assert done.reports_deleted == 1
    assert set(store.report_ids()) == {kept.report_id, fresh.report_id}
    assert any(e.action == "retention.apply" for e in store.audit_trail(SYSTEM))
    assert store.verify_audit().ok
