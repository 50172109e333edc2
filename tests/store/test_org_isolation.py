"""Organisations kept apart in the store's repositories: every read, change and delete
is scoped to the acting actor's organisation; an id of another organisation behaves
exactly like a missing one; rows are written in the actor's organisation and sealed
with its keys; the audit trail says whose each entry is, and verification covers it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from store_samples import case, report
from test_subject_labels import _alert

from daybreak.model.cases import CaseStatus, Disposition, Tier
from daybreak.store import (
    SYSTEM,
    Actor,
    AuthError,
    NotFound,
    Role,
    Submission,
    TiplineStore,
    WorkflowError,
)
from daybreak.store import cybertip as cybertip_ops
from daybreak.store.auth import is_operator, operator_in
from daybreak.store.tables import audit_log, case_notes, cases, report_identifiers, reports

PASSWORD = "correct horse battery staple"
PHONE = "+639171234567"
ANA_A = Actor("ana", Role.ANALYST, org_id="bank-a")
SUE_A = Actor("sue", Role.SUPERVISOR, org_id="bank-a")
BEA_B = Actor("bea", Role.ANALYST, org_id="bank-b")
BOB_B = Actor("bob", Role.ADMIN, org_id="bank-b")


@pytest.fixture
def orgs(store: TiplineStore) -> TiplineStore:
    """Two banks, each with users, a report about the same phone and a case."""
    for org in ("bank-a", "bank-b"):
        store.organisations.create(org, org.upper())
    for actor in (ANA_A, SUE_A, BEA_B, BOB_B):
        store.accounts.create(actor.name, PASSWORD, actor.role, org_id=actor.org_id)
    for actor in (ANA_A, BEA_B):
        store.reports.add(report(f"acct-{actor.org_id}", phone=PHONE), actor)
    alerts = [_alert("customer", "C-PAYER-1")]
    store.cases.upsert([case("C-A", title="bank A's case")], ANA_A)
    store.cases.upsert(
        [case("C-B", title="bank B's case", alerts=alerts, alert_ids=[a.alert_id for a in alerts])],
        BOB_B,
    )
    store.cases.add_note("C-B", BEA_B, "bank B's note")
    return store


def test_rows_are_written_in_the_actors_organisation_with_its_keys(orgs: TiplineStore) -> None:
    with orgs.engine.connect() as conn:
        rows = {r.org_id: r for r in conn.execute(select(reports))}
        note = conn.execute(select(case_notes)).one()
        idents = {r.org_id for r in conn.execute(select(report_identifiers))}
        case_orgs = dict(conn.execute(select(cases.c.case_id, cases.c.org_id)).all())
    assert set(rows) == {"bank-a", "bank-b"} and idents == {"bank-a", "bank-b"}
    assert case_orgs == {"C-A": "bank-a", "C-B": "bank-b"} and note.org_id == "bank-b"
    # the same phone, two organisations: different blind indexes, different clusters
    assert rows["bank-a"].cluster_id != rows["bank-b"].cluster_id
    # bank B's payload is sealed with bank B's key: bank A's keyring does not open it
    stored = orgs.reports.get(rows["bank-b"].report_id, BEA_B)
    assert stored is not None and stored.report.reported_accounts[0].account_id == "acct-bank-b"
    with pytest.raises(ValueError, match="wrong key or tampered"):
        orgs.keys.for_org("bank-a").decrypt(
            rows["bank-b"].payload_enc, f"reports.payload_enc:{rows['bank-b'].report_id}"
        )


def test_reports_are_read_queued_and_searched_within_the_organisation(
    orgs: TiplineStore,
) -> None:
    b_report = orgs.reports.ids("bank-b")[0]
    assert orgs.reports.get(b_report, ANA_A) is None
    assert orgs.reports.get("R-missing", ANA_A) is None
    assert orgs.reports.get(b_report, BEA_B) is not None
    assert orgs.reports.by_ids([b_report, *orgs.reports.ids("bank-a")], ANA_A) == [
        r for r in orgs.reports.by_ids(orgs.reports.ids("bank-a"), ANA_A)
    ]
    queue_a = orgs.reports.queue(ANA_A)
    assert [q.report_ids for q in queue_a] == [tuple(orgs.reports.ids("bank-a"))]
    hit_a = orgs.reports.search("phone", PHONE, ANA_A)
    hit_b = orgs.reports.search("phone", PHONE, BEA_B)
    assert hit_a.report_ids == tuple(orgs.reports.ids("bank-a")) and hit_a.case_ids == ("C-A",)
    assert hit_b.report_ids == (b_report,) and hit_b.case_ids == ("C-B",)
    assert orgs.reports.count("bank-a") == 1 and orgs.reports.count() == 2


def _case_calls(store: TiplineStore, actor: Actor) -> dict[str, Callable[[str], Any]]:
    """Every case repository call that names a case, as bank A's analyst."""
    return {
        "transition": lambda cid: store.cases.transition(cid, CaseStatus.TRIAGED, actor),
        "add_note": lambda cid: store.cases.add_note(cid, actor, "cross-organisation"),
        "override_tier": lambda cid: store.cases.override_tier(
            cid, Tier.LIVE_OR_IMMEDIATE_RISK, actor, "cross-organisation"
        ),
        "record_disposition": lambda cid: store.cases.record_disposition(
            cid, ("customer", "C-PAYER-1"), Disposition.PAYER_CONFIRMED, actor
        ),
        "cybertip": lambda cid: store.cybertip.record_step(
            cid, "examplestream", cybertip_ops.SubmissionStep.SUBMITTING, actor
        ),
    }


@pytest.mark.parametrize(
    "call", ["transition", "add_note", "override_tier", "record_disposition", "cybertip"]
)
def test_a_case_of_another_organisation_is_not_found_like_a_missing_one(
    orgs: TiplineStore, call: str
) -> None:
    act = _case_calls(orgs, ANA_A)[call]
    with pytest.raises(NotFound) as missing:
        act("C-NOPE")
    with pytest.raises(NotFound) as other:
        act("C-B")
    assert str(other.value).replace("C-B", "<id>") == str(missing.value).replace("C-NOPE", "<id>")
    with orgs.engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.case_id == "C-B")).one()
    assert (row.status, row.tier) == ("new", int(Tier.KNOWN_OFFENDER_ACCESS))


def test_case_reads_are_scoped(orgs: TiplineStore) -> None:
    assert orgs.cases.get("C-B", ANA_A) is None
    assert orgs.cases.get("C-B", BEA_B) is not None
    assert [c.case_id for c in orgs.cases.query(ANA_A)] == ["C-A"]
    assert orgs.cases.notes("C-B", ANA_A) == []
    assert [n.text for n in orgs.cases.notes("C-B", BEA_B)] == ["bank B's note"]
    assert {h.case_id for h in orgs.cases.history(ANA_A)} == {"C-A"}
    assert orgs.cases.history(ANA_A, "C-B") == []
    orgs.cases.record_disposition(
        "C-B", ("customer", "C-PAYER-1"), Disposition.PAYER_CONFIRMED, BEA_B
    )
    assert orgs.cases.labels(ANA_A) == [] and len(orgs.cases.labels(BEA_B)) == 1
    orgs.cases.override_tier("C-B", Tier.LIVE_OR_IMMEDIATE_RISK, BEA_B, "seen live")
    assert orgs.cases.tier_overrides("C-B", ANA_A) == []
    assert len(orgs.cases.tier_overrides("C-B", BEA_B)) == 1


def test_cases_are_assigned_only_within_the_organisation(orgs: TiplineStore) -> None:
    with pytest.raises(WorkflowError, match="no such user to assign: 'bea'"):
        orgs.cases.transition("C-A", CaseStatus.ASSIGNED, SUE_A, assignee="bea")
    done = orgs.cases.transition("C-A", CaseStatus.ASSIGNED, SUE_A, assignee="ana")
    assert done.assignee == "ana"
    assert {a.name for a in orgs.accounts.active(SUE_A)} == {"ana", "sue"}


def test_a_case_id_held_by_another_organisation_is_not_taken_over(orgs: TiplineStore) -> None:
    with pytest.raises(WorkflowError, match="held by another organisation"):
        orgs.cases.upsert([case("C-B", title="bank A's attempt")], ANA_A)
    fetched = orgs.cases.get("C-B", BEA_B)
    assert fetched is not None and fetched.title == "bank B's case"


def test_a_batch_mixing_organisations_stores_each_in_its_own(orgs: TiplineStore) -> None:
    subs = [
        Submission(report("mixed-a", phone=PHONE), "key:a", "api", org_id="bank-a"),
        Submission(report("mixed-b", phone=PHONE), "key:b", "api", org_id="bank-b"),
    ]
    first, second = orgs.reports.add_many(subs)
    assert orgs.reports.get(first.report_id, ANA_A) is not None
    assert orgs.reports.get(second.report_id, ANA_A) is None
    assert orgs.reports.get(second.report_id, BEA_B) is not None
    # each joined its own organisation's cluster about the phone
    assert len(orgs.reports.queue(ANA_A)) == 1 and len(orgs.reports.queue(BEA_B)) == 1


def test_the_audit_trail_names_each_entrys_organisation(orgs: TiplineStore) -> None:
    orgs.cases.get("C-B", BEA_B)
    orgs.cases.get("C-A", ANA_A)
    trail_a = orgs.audit.trail(SUE_A)
    assert trail_a and {e.org_id for e in trail_a} == {"bank-a"}
    assert not [e for e in trail_a if e.object_id == "C-B"]
    assert {e.org_id for e in orgs.audit.trail(SYSTEM)} >= {"bank-a", "bank-b", "default"}
    assert orgs.audit.trail(ANA_A, "C-B") == []
    assert orgs.audit.verify().ok


def test_moving_an_audit_entry_or_a_row_to_another_organisation_is_detected(
    orgs: TiplineStore,
) -> None:
    with orgs.engine.begin() as conn:
        seq = conn.execute(
            select(audit_log.c.seq).where(audit_log.c.org_id == "bank-b").limit(1)
        ).scalar_one()
        conn.execute(update(audit_log).where(audit_log.c.seq == seq).values(org_id="bank-a"))
        conn.execute(update(cases).where(cases.c.case_id == "C-B").values(org_id="bank-a"))
    result = orgs.audit.verify()
    assert not result.ok
    assert any(f"entry {seq}: content does not match" in p for p in result.problems)
    assert any(p.startswith("cases C-B: does not match its row MAC") for p in result.problems)


def test_an_org_admin_applies_retention_to_its_own_organisation(orgs: TiplineStore) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    orgs.reports.add_many(
        [
            Submission(report("old-a"), "key:a", received_at=old, org_id="bank-a"),
            Submission(report("old-b"), "key:b", received_at=old, org_id="bank-b"),
        ]
    )
    admin_a = Actor("adam", Role.ADMIN, org_id="bank-a")
    assert orgs.retention.apply(365, admin_a).reports_deleted == 1
    assert (orgs.reports.count("bank-a"), orgs.reports.count("bank-b")) == (1, 2)
    assert orgs.retention.apply(365).reports_deleted == 1  # the operator: every one
    assert orgs.reports.count("bank-b") == 1
    assert orgs.audit.verify().ok


def test_the_operator_builds_cases_into_a_named_organisation(orgs: TiplineStore) -> None:
    """``daybreak cases build --org bank-b``: the operator working in bank B's data."""
    orgs.cases.upsert([case("C-B2", title="built for bank B")], operator_in("bank-b"))
    assert orgs.cases.get("C-B2", BEA_B) is not None
    assert orgs.cases.get("C-B2", ANA_A) is None
    assert not is_operator(operator_in("bank-b")) and operator_in("default") is SYSTEM
    with pytest.raises(AuthError, match="no organisation 'nowhere'"):
        orgs.cases.upsert([case("C-X")], operator_in("nowhere"))
