"""Referrals with the export actually sent: the bytes kept encrypted and returned
exactly, their digest, the receiver's reference added later, every step audited."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from store_samples import case

from daybreak.model.cases import CaseStatus
from daybreak.store import Actor, NotFound, Role, TiplineStore, WorkflowError
from daybreak.store.case_referrals import SentExport
from daybreak.store.tables import case_referrals

ANA = Actor("ana", Role.ANALYST)
SUE = Actor("sue", Role.SUPERVISOR)
SENT = SentExport("stix", "CASE-1.stix.json", "application/json", b'{"synthetic": "bundle 42"}')


@pytest.fixture
def triaged(store: TiplineStore) -> TiplineStore:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    store.cases.upsert([case("C-1")])
    store.cases.transition("C-1", CaseStatus.TRIAGED, ANA)
    return store


def test_a_referral_keeps_the_exact_export_sent_and_its_digest(triaged: TiplineStore) -> None:
    done = triaged.cases.refer("C-1", "PH-PNP-WCPC", ANA, sent=SENT)
    assert done.digest == hashlib.sha256(SENT.content).hexdigest()
    assert (done.format, done.size, done.reference) == ("stix", len(SENT.content), None)
    got = triaged.cases.get("C-1", ANA)
    assert got is not None and got.status is CaseStatus.REFERRED
    again, content = triaged.cases.referral_export("C-1", done.referral_id, ANA)
    assert content == SENT.content and again.filename == SENT.filename
    with triaged.engine.connect() as conn:
        blob = conn.execute(select(case_referrals.c.export_enc)).scalar_one()
    assert b"bundle 42" not in blob  # stored encrypted
    trail = [(e.action, e.detail) for e in triaged.audit.trail(SUE, "C-1")]
    assert (
        "case.refer",
        {"referral": 1, "format": "stix", "sha256": done.digest, "bytes": 26},
    ) in [(a, d) for a, d in trail]
    assert [a for a, _ in trail].count("case.referral.download") == 1


def test_the_receivers_reference_is_added_once_when_they_answer(triaged: TiplineStore) -> None:
    done = triaged.cases.refer("C-1", "PH-PNP-WCPC", ANA)  # sent another way
    assert done.format is None and done.digest is None
    with pytest.raises(WorkflowError, match="no export sent"):
        triaged.cases.referral_export("C-1", done.referral_id, ANA)
    with pytest.raises(WorkflowError, match="reference number"):
        triaged.cases.add_referral_reference("C-1", done.referral_id, "  ", ANA)
    added = triaged.cases.add_referral_reference("C-1", done.referral_id, "WCPC-2026-0042", ANA)
    assert (added.reference, added.reference_by) == ("WCPC-2026-0042", "ana")
    assert triaged.cases.referrals("C-1", ANA)[0].reference == "WCPC-2026-0042"
    with pytest.raises(WorkflowError, match="already has the reference"):
        triaged.cases.add_referral_reference("C-1", done.referral_id, "other", ANA)
    with pytest.raises(WorkflowError, match="no referral 9"):
        triaged.cases.add_referral_reference("C-1", 9, "x", ANA)
    with pytest.raises(NotFound):
        triaged.cases.referral_export("C-nope", 1, ANA)
    actions = [e.action for e in triaged.audit.trail(SUE, "C-1")]
    assert "case.referral.reference" in actions and "case.referrals.read" in actions


def test_a_referral_follows_the_workflow(store: TiplineStore) -> None:
    store.accounts.create("ana", "a long analyst password", Role.ANALYST)
    store.cases.upsert([case("C-1")])
    with pytest.raises(WorkflowError, match="cannot move a new case to referred"):
        store.cases.refer("C-1", "PH-PNP-WCPC", ANA, sent=SENT)
    assert store.cases.referrals("C-1", ANA) == []
