"""Retention and the shipped Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from legacy_store import write_legacy_case
from sqlalchemy import delete
from store_samples import case, report

from daybreak.model.cases import CaseStatus, Outcome
from daybreak.store import SYSTEM, Actor, Keyring, Role, Submission, TiplineStore
from daybreak.store.db import current_revision, head_revision
from daybreak.store.tables import clusters, metadata, reports

ANA = Actor("ana", Role.ANALYST)


def test_migrations_create_exactly_the_declared_schema(store: TiplineStore) -> None:
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_store_at_0001_upgrades_to_subject_labels_keeping_its_cases(
    db_url: str, keys: Keyring
) -> None:
    from sqlalchemy import inspect

    from daybreak.store.db import make_engines, migrate

    engine, _ = make_engines(db_url)
    migrate(engine, "0001")
    assert not inspect(engine).has_table("subject_labels")
    write_legacy_case(engine, keys, "C-kept")
    engine.dispose()
    with TiplineStore(db_url, keys) as upgraded:
        assert current_revision(upgraded.engine) == head_revision()
        assert [c.case_id for c in upgraded.cases.query(ANA)] == ["C-kept"]
        assert upgraded.cases.labels(ANA) == []


def test_retention_keeps_what_open_cases_use(store: TiplineStore) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    kept, dropped, fresh = store.reports.add_many(
        [
            Submission(report("k"), "key:a", received_at=old),
            Submission(report("d"), "key:a", received_at=old),
            Submission(report("f"), "key:a"),
        ]
    )
    store.cases.upsert(
        [
            case("C-open", report_ids=[kept.report_id]),
            case("C-closed", report_ids=[dropped.report_id]),
        ]
    )
    store.cases.transition("C-closed", CaseStatus.CLOSED, ANA, outcome=Outcome.NO_ACTION)
    dry = store.retention.apply(365, dry_run=True)
    assert (dry.reports_deleted, dry.cases_deleted) == (1, 0)  # C-closed was touched today
    assert store.reports.count() == 3
    done = store.retention.apply(365)
    assert done.reports_deleted == 1
    assert set(store.reports.ids()) == {kept.report_id, fresh.report_id}
    assert any(e.action == "retention.apply" for e in store.audit.trail(SYSTEM))
    assert store.audit.verify().ok


def test_identifiers_of_a_deleted_cluster_start_a_new_one(store: TiplineStore) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    gone = store.reports.add_many([Submission(report("again"), "key:a", received_at=old)])[0]
    assert store.retention.apply(365).reports_deleted == 1
    again = store.reports.add_many([Submission(report("again"), "key:a")])[0]
    assert again.cluster_id != gone.cluster_id
    later = store.reports.add_many([Submission(report("again"), "key:a")])[0]
    assert later.cluster_id == again.cluster_id


def test_a_store_left_with_orphaned_identifiers_heals_on_the_next_report(
    store: TiplineStore,
) -> None:
    # What retention left behind before it removed a deleted cluster's identifiers.
    first = store.reports.add_many([Submission(report("orphan"), "key:a")])[0]
    with store.engine.begin() as conn:
        conn.execute(delete(reports))
        conn.execute(delete(clusters))
    again = store.reports.add_many([Submission(report("orphan"), "key:a")])[0]
    assert again.cluster_id != first.cluster_id
    later = store.reports.add_many([Submission(report("orphan"), "key:a")])[0]
    assert later.cluster_id == again.cluster_id
