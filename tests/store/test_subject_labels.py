"""Analysts' dispositions of a case's payments subjects: stored encrypted, audited,
role-checked, limited to the case's payments subjects, replaced when re-recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from store_samples import case

from daybreak.model.alerts import Alert
from daybreak.model.cases import Disposition
from daybreak.store import Actor, NotFound, PermissionDenied, Role, TiplineStore, WorkflowError
from daybreak.store.tables import subject_labels

ANA = Actor("ana", Role.ANALYST)
PLATFORM = Actor("key:acme", Role.PLATFORM)


def _alert(subject_type: str, subject_id: str, detector: str = "payments") -> Alert:
    return Alert(
        alert_id=f"a-{subject_type}-{subject_id}",
        detector=detector,
        subject_type=subject_type,  # type: ignore[arg-type]
        subject_id=subject_id,
        score=0.9,
        explanation="synthetic",
    )


@pytest.fixture
def with_case(store: TiplineStore) -> TiplineStore:
    alerts = [
        _alert("customer", "C-PAYER-77"),
        _alert("beneficiary", "R-9"),
        _alert("account", "u-1", detector="tipline"),
    ]
    store.cases.upsert([case(alerts=alerts, alert_ids=[a.alert_id for a in alerts])])
    return store


def test_dispositions_are_stored_listed_and_audited(with_case: TiplineStore) -> None:
    got = with_case.cases.record_disposition(
        "C-1", ("customer", "C-PAYER-77"), Disposition.PAYER_CONFIRMED, ANA
    )
    assert (got.label, got.actor, got.subject_id) == (1, "ana", "C-PAYER-77")
    with_case.cases.record_disposition("C-1", ("beneficiary", "R-9"), Disposition.NOT_INVOLVED, ANA)
    listed = with_case.cases.labels(ANA)
    assert [(x.subject_type, x.subject_id, x.disposition, x.label) for x in listed] == [
        ("customer", "C-PAYER-77", Disposition.PAYER_CONFIRMED, 1),
        ("beneficiary", "R-9", Disposition.NOT_INVOLVED, 0),
    ]
    assert with_case.cases.labels(ANA, case_id="other") == []
    trail = with_case.audit.trail(ANA, "C-1")
    labelled = [e for e in trail if e.action == "case.label"]
    assert [e.actor for e in labelled] == ["ana", "ana"]
    assert {e.detail["disposition"] for e in labelled} == {"payer_confirmed", "not_involved"}
    assert any(e.action == "case.labels.read" for e in with_case.audit.trail(ANA, "*"))
    # the audit log holds no subject ids, only a prefix of their blind index
    assert all("C-PAYER-77" not in str(e.detail) for e in trail)
    assert with_case.audit.verify().ok


def test_subject_ids_are_encrypted_at_rest(with_case: TiplineStore) -> None:
    with_case.cases.record_disposition(
        "C-1", ("customer", "C-PAYER-77"), Disposition.PAYER_CONFIRMED, ANA
    )
    with with_case.engine.connect() as conn:
        rows = list(conn.execute(select(subject_labels)))
    assert len(rows) == 1
    raw = b"".join(str(v).encode() if not isinstance(v, bytes) else v for v in rows[0])
    assert b"C-PAYER-77" not in raw
    assert rows[0].value_index == with_case.keys.index("customer:C-PAYER-77")


def test_recording_again_replaces_the_disposition(with_case: TiplineStore) -> None:
    with_case.cases.record_disposition(
        "C-1", ("customer", "C-PAYER-77"), Disposition.PAYER_CONFIRMED, ANA
    )
    with_case.cases.record_disposition(
        "C-1", ("customer", "C-PAYER-77"), Disposition.NOT_INVOLVED, ANA
    )
    listed = with_case.cases.labels(ANA)
    assert [(x.subject_id, x.label) for x in listed] == [("C-PAYER-77", 0)]
    assert len([e for e in with_case.audit.trail(ANA, "C-1") if e.action == "case.label"]) == 2


def test_only_payments_subjects_of_the_case_with_a_fitting_disposition(
    with_case: TiplineStore,
) -> None:
    with pytest.raises(WorkflowError, match="not a payments subject of case C-1"):
        with_case.cases.record_disposition(
            "C-1", ("customer", "C-OTHER"), Disposition.NOT_INVOLVED, ANA
        )
    with pytest.raises(WorkflowError, match="not a payments subject"):  # a tipline alert
        with_case.cases.record_disposition(
            "C-1", ("customer", "u-1"), Disposition.NOT_INVOLVED, ANA
        )
    with pytest.raises(WorkflowError, match="payer_confirmed applies to a customer"):
        with_case.cases.record_disposition(
            "C-1", ("beneficiary", "R-9"), Disposition.PAYER_CONFIRMED, ANA
        )
    with pytest.raises(NotFound):
        with_case.cases.record_disposition(
            "nope", ("customer", "C-1"), Disposition.NOT_INVOLVED, ANA
        )
    assert with_case.cases.labels(ANA) == []


def test_platforms_may_neither_label_nor_read_labels(with_case: TiplineStore) -> None:
    with pytest.raises(PermissionDenied):
        with_case.cases.record_disposition(
            "C-1", ("customer", "C-PAYER-77"), Disposition.PAYER_CONFIRMED, PLATFORM
        )
    with pytest.raises(PermissionDenied):
        with_case.cases.labels(PLATFORM)


def test_labels_go_with_their_case(with_case: TiplineStore) -> None:
    """Retention deletes a closed case; its labels (personal data) go with it."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from daybreak.model.cases import CaseStatus, Outcome
    from daybreak.store.tables import cases

    with_case.cases.record_disposition("C-1", ("beneficiary", "R-9"), Disposition.NOT_INVOLVED, ANA)
    with_case.cases.transition("C-1", CaseStatus.CLOSED, ANA, outcome=Outcome.NO_ACTION)
    with with_case.engine.begin() as conn:
        old = datetime.now(UTC) - timedelta(days=400)
        conn.execute(update(cases).values(updated_at=old))
    assert with_case.retention.apply(30).cases_deleted == 1
    assert with_case.cases.labels(ANA) == []
