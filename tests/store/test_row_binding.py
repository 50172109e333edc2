"""Item 5 of #18: ciphertexts are bound to their row, and the plain workflow and triage
columns carry a row MAC that `audit verify` checks; old stores are upgraded at open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from legacy_store import write_legacy_rows
from sqlalchemy import Table, select, update
from store_samples import case, report, sub

from daybreak.model.alerts import Alert
from daybreak.model.cases import CaseStatus, Disposition, Outcome
from daybreak.store import Actor, Keyring, Role, Submission, TiplineStore
from daybreak.store.db import make_engines, migrate
from daybreak.store.keys import KeyError_
from daybreak.store.tables import (
    audit_log,
    case_events,
    case_notes,
    cases,
    clusters,
    report_identifiers,
    reports,
    subject_labels,
)

ANA = Actor("ana", Role.ANALYST)
SUP = Actor("sue", Role.SUPERVISOR)


def _swap(store: TiplineStore, table: Table, key: str, column: str, a: object, b: object) -> None:
    """Exchange two rows' ciphertexts by SQL, as an attacker with the database would."""
    pk, col = table.c[key], table.c[column]
    with store.engine.begin() as conn:
        blob_a = conn.execute(select(col).where(pk == a)).scalar_one()
        blob_b = conn.execute(select(col).where(pk == b)).scalar_one()
        conn.execute(update(table).where(pk == a).values({column: blob_b}))
        conn.execute(update(table).where(pk == b).values({column: blob_a}))


def test_swapped_report_payloads_do_not_decrypt_as_each_other(store: TiplineStore) -> None:
    one, two = store.reports.add_many([sub(report("u-one")), sub(report("u-two"))])
    _swap(store, reports, "report_id", "payload_enc", one.report_id, two.report_id)
    for rid in (one.report_id, two.report_id):
        with pytest.raises(KeyError_, match=f"reports.payload_enc:{rid}"):
            store.reports.get(rid, ANA)


def test_swapped_case_bodies_and_notes_do_not_decrypt(store: TiplineStore) -> None:
    store.cases.upsert([case("C-1", title="first"), case("C-2", title="second")])
    store.cases.add_note("C-1", ANA, "note one")
    store.cases.add_note("C-1", ANA, "note two")
    _swap(store, cases, "case_id", "body_enc", "C-1", "C-2")
    with pytest.raises(KeyError_, match=r"cases\.body_enc:C-1"):
        store.cases.get("C-1", ANA)
    with store.engine.connect() as conn:
        first, second = conn.execute(select(case_notes.c.id).order_by(case_notes.c.id)).scalars()
    _swap(store, case_notes, "id", "text_enc", first, second)
    with pytest.raises(KeyError_, match=r"case_notes\.text_enc"):
        store.cases.notes("C-1", ANA)


@pytest.mark.parametrize(
    ("table", "column", "value", "names"),
    [
        (cases, "status", "closed", "cases C-1"),
        (cases, "assignee", "mallory", "cases C-1"),
        (cases, "outcome", "no_action", "cases C-1"),
        (cases, "tier", 4, "cases C-1"),
        (cases, "priority", 0.01, "cases C-1"),
        (reports, "tier", 4, "reports R-"),
        (reports, "score", 0.0, "reports R-"),
        (reports, "agency", "elsewhere", "reports R-"),
        (clusters, "tier", 4, "clusters "),
    ],
)
def test_workflow_columns_edited_by_sql_are_reported_per_row(
    store: TiplineStore, table: Table, column: str, value: object, names: str
) -> None:
    store.reports.add_many([sub(report())])
    store.cases.upsert([case()])
    assert store.audit.verify().ok
    with store.engine.begin() as conn:
        conn.execute(update(table).values({column: value}))
    result = store.audit.verify()
    assert not result.ok and result.bad_rows == 1
    assert any(p.startswith(names) and "row MAC" in p for p in result.problems)


def test_every_write_path_keeps_the_row_macs(store: TiplineStore) -> None:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    store.accounts.create("sue", "a long supervisor password", Role.SUPERVISOR)
    old = datetime.now(UTC) - timedelta(days=400)
    # Two clusters, then a report joining them (a merge); an old report for retention.
    store.reports.add_many([sub(report("a")), sub(report("b"))])
    store.reports.add_many([sub(report("a", phone="+639171234567"))])
    store.reports.add_many([Submission(report("b", phone="+639171234567"), "key:t")])
    store.reports.add_many([Submission(report("c"), "key:t", received_at=old)])
    store.reports.add_many([Submission(report("c"), "key:t")])
    alert = Alert(
        alert_id="a-1",
        detector="payments",
        subject_type="customer",
        subject_id="C-P",
        score=0.9,
        explanation="synthetic",
    )
    store.cases.upsert([case("C-1", alerts=[alert], alert_ids=["a-1"]), case("C-2")])
    store.cases.transition("C-1", CaseStatus.ASSIGNED, SUP, "take it", assignee="ana")
    store.cases.add_note("C-1", ANA, "called the platform")
    store.cases.record_disposition("C-1", ("customer", "C-P"), Disposition.PAYER_CONFIRMED, ANA)
    store.cases.upsert([case("C-1", priority=0.95)])  # re-run keeps the workflow
    store.cases.transition("C-2", CaseStatus.CLOSED, ANA, "done", outcome=Outcome.NO_ACTION)
    assert store.retention.apply(365).reports_deleted == 1  # a cluster recounted
    result = store.audit.verify()
    assert result.ok, result.problems
    with store.engine.connect() as conn:
        n = sum(len(list(conn.execute(select(t.c.row_mac)))) for t in (reports, cases, clusters))
    assert result.rows == n > 0 and result.bad_rows == 0
    assert [h.reason for h in store.cases.history(ANA, "C-1")][-1] == "take it"
    assert store.cases.notes("C-1", ANA)[0].text == "called the platform"
    assert store.cases.labels(ANA)[0].subject_id == "C-P"


def test_a_store_from_before_0003_is_rebound_at_open(db_url: str, keys: Keyring) -> None:
    engine, _ = make_engines(db_url)
    migrate(engine, "0002")
    write_legacy_rows(engine, keys)
    engine.dispose()
    with TiplineStore(db_url, keys) as store:
        got = store.reports.get("R-1", ANA)
        assert got is not None and got.report.reported_accounts[0].account_id == "legacy-1"
        c1 = store.cases.get("C-1", ANA)
        assert c1 is not None and c1.case_id == "C-1"
        assert [n.text for n in store.cases.notes("C-1", ANA)] == ["a legacy note"]
        assert store.cases.history(ANA, "C-1")[0].reason == "a legacy reason"
        assert store.cases.labels(ANA)[0].subject_id == "C-PAYER-1"
        # Every ciphertext is now bound to its row; the old format no longer decrypts.
        with store.engine.connect() as conn:
            blobs = {
                "reports.payload_enc": conn.execute(select(reports.c.payload_enc)).scalar_one(),
                "report_identifiers.value_enc": conn.execute(
                    select(report_identifiers.c.value_enc)
                ).scalar_one(),
                "cases.body_enc": conn.execute(select(cases.c.body_enc)).scalar_one(),
                "case_notes.text_enc": conn.execute(select(case_notes.c.text_enc)).scalar_one(),
                "case_events.reason_enc": conn.execute(
                    select(case_events.c.reason_enc)
                ).scalar_one(),
                "subject_labels.subject_enc": conn.execute(
                    select(subject_labels.c.subject_enc)
                ).scalar_one(),
            }
        for context, blob in blobs.items():
            with pytest.raises(KeyError_):
                keys.decrypt(blob, context)
        # The legacy chain still verifies (with the key it was made with), the upgrade
        # is itself an audit entry, and the upgraded rows carry MACs.
        result = store.audit.verify()
        assert result.ok, result.problems
        assert result.rows == 3  # the report, the case, the cluster
        actions = [e.action for e in store.audit.trail(Actor("root", Role.ADMIN))]
        assert actions[:4] == ["case.create"] * 3 + ["store.upgrade"]
        # Editing a legacy entry is still detected.
        with store.engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="x"))
        assert any("entry 2" in p for p in store.audit.verify().problems)
    # Opening again does not re-encrypt (it would fail: the values are already bound).
    with TiplineStore(db_url, keys) as again:
        assert again.reports.get("R-1", ANA) is not None


def test_workflow_rows_swapped_with_their_macs_are_detected(store: TiplineStore) -> None:
    """An attacker who moves a closed case's workflow columns and row MAC onto an open
    case (so each MAC is genuine) is caught: the MAC covers the row's primary key."""
    store.cases.upsert([case("C-1"), case("C-2")])
    store.cases.transition("C-2", CaseStatus.CLOSED, SUP, "done", outcome=Outcome.NO_ACTION)
    moved = [cases.c[n] for n in ("status", "assignee", "outcome", "tier", "row_mac")]
    with store.engine.begin() as conn:
        one, two = (
            conn.execute(select(*moved).where(cases.c.case_id == c)).one()._asdict()
            for c in ("C-1", "C-2")
        )
        conn.execute(update(cases).where(cases.c.case_id == "C-1").values(two))
        conn.execute(update(cases).where(cases.c.case_id == "C-2").values(one))
    result = store.audit.verify()
    assert not result.ok and result.bad_rows == 2
    assert {p.split(":")[0] for p in result.problems if "row MAC" in p} >= {
        "cases C-1",
        "cases C-2",
    }
