"""The audit chain: every read and write of case data, and tamper detection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from store_samples import case, report, sub

from daybreak.store import Actor, Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key
from daybreak.store.tables import audit_head, audit_log

ANA = Actor("ana", Role.ANALYST)


def _actions(store: TiplineStore) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.object_id) for e in store.audit.trail(Actor("root", Role.ADMIN))]


def test_every_read_and_write_of_case_data_is_audited(store: TiplineStore) -> None:
    rec = store.reports.add_many([sub(report(), who="key:acme")])[0]
    store.cases.upsert([case()])
    store.reports.get(rec.report_id, ANA)
    store.cases.get("C-1", ANA)
    store.cases.query(ANA)
    store.cases.add_note("C-1", ANA, "note")
    store.cases.notes("C-1", ANA)
    store.reports.queue(ANA)
    store.reports.search("phone", "+639171234567", ANA)
    acts = _actions(store)
    assert ("key:acme", "report.create", rec.report_id) in acts
    assert ("system", "case.create", "C-1") in acts
    assert ("ana", "report.read", rec.report_id) in acts
    assert ("ana", "case.read", "C-1") in acts
    assert ("ana", "case.list", "*") in acts
    assert ("ana", "case.note", "C-1") in acts
    assert ("ana", "case.notes.read", "C-1") in acts
    assert ("ana", "queue.read", "*") in acts
    assert any(a[:2] == ("ana", "search") for a in acts)
    assert store.audit.verify().ok
    # Entries name ids, never the content.
    with store.engine.connect() as conn:
        details = " ".join(r[0] for r in conn.execute(select(audit_log.c.detail)))
    assert "639171234567" not in details and "7731" not in details


def _seeded(store: TiplineStore) -> None:
    store.reports.add_many([sub(report(f"a{i}")) for i in range(3)])
    store.cases.upsert([case()])
    store.cases.get("C-1", ANA)
    assert store.audit.verify().ok


def test_an_edited_entry_is_detected(store: TiplineStore) -> None:
    _seeded(store)
    with store.engine.begin() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
    result = store.audit.verify()
    assert not result.ok
    assert any("entry 2" in p and "edited" in p for p in result.problems)


def test_deleted_entries_are_detected_in_the_middle_and_at_the_end(store: TiplineStore) -> None:
    _seeded(store)
    with store.engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 2))
    assert any("entry 2: missing" in p for p in store.audit.verify().problems)


def test_truncating_the_tail_is_detected(store: TiplineStore) -> None:
    _seeded(store)
    with store.engine.begin() as conn:
        last = conn.execute(select(audit_head.c.seq)).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.seq == last))
    assert any("head records" in p for p in store.audit.verify().problems)


def test_a_rebuilt_chain_without_the_key_is_detected(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path}/a.db"
    real = Keyring.from_text(generate_key())
    s = TiplineStore(url, real)
    _seeded(s)
    s.close()
    forged = TiplineStore(url, Keyring.from_text(generate_key()))
    try:
        result = forged.audit.verify()
        assert not result.ok and "entry 1" in result.problems[0]
    finally:
        forged.close()


def test_only_managers_read_the_whole_trail(store: TiplineStore) -> None:
    with pytest.raises(PermissionError):
        store.audit.trail(ANA)
    store.cases.upsert([case()])
    assert store.audit.trail(ANA, "C-1")


def test_two_whole_entries_swapped_are_detected(store: TiplineStore) -> None:
    """Every column of entries 2 and 3 exchanged (hashes included) except their seq: the
    chain links no longer meet."""
    _seeded(store)
    cols = [c for c in audit_log.c if c.name != "seq"]
    with store.engine.begin() as conn:
        two, three = (
            conn.execute(select(*cols).where(audit_log.c.seq == n)).one()._asdict() for n in (2, 3)
        )
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(three))
        conn.execute(update(audit_log).where(audit_log.c.seq == 3).values(two))
    result = store.audit.verify()
    assert not result.ok
    assert any("entry 2" in p or "entry 3" in p for p in result.problems)
