"""Reads are audited by group commit: concurrent readers share one commit, every read
still has its own entry, the chain stays intact, and a read whose entry cannot be
committed hands out nothing. (kill -9 after the answers: tests/api/test_crash_recovery.py.)"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

import pytest
from store_samples import case

from daybreak.model.cases import Case
from daybreak.store import Actor, CaseFilter, Role, TiplineStore
from daybreak.store.audit import PendingEntry
from daybreak.store.repositories import context

ANA = Actor("ana", Role.ANALYST)
ROOT = Actor("root", Role.ADMIN)
READERS = 8


def _reads_of(store: TiplineStore, case_id: str) -> int:
    trail = store.audit.trail(ROOT, case_id)
    return sum(1 for e in trail if e.action == "case.read")


def _counting_submissions(store: TiplineStore) -> list[object]:
    """The entries handed to the audit writer so far (a list that grows)."""
    writer = store._reads._writer
    submitted: list[object] = []
    submit = writer.submit

    def counted(item: PendingEntry) -> Future[None]:
        submitted.append(item)
        return submit(item)

    writer.submit = counted  # type: ignore[method-assign]
    return submitted


def _wait_for(submitted: list[object], n: int) -> None:
    """Until ``n`` entries were handed over (a wait, not a bound on time)."""
    deadline = time.monotonic() + 60
    while len(submitted) < n:
        assert time.monotonic() < deadline, f"only {len(submitted)} of {n} entries handed over"
        time.sleep(0.01)


def test_concurrent_reads_share_a_commit_and_each_is_audited(store: TiplineStore) -> None:
    store.cases.upsert([case(f"C-{i}") for i in range(READERS)])
    batches_before, entries_before = store._reads.batches
    got: dict[int, Case | None] = {}

    def read(i: int) -> None:
        got[i] = store.cases.get(f"C-{i}", ANA)

    # The writer lock held here stops the first batch from committing, so the other
    # readers' entries gather behind it and go in the next one.
    submitted = _counting_submissions(store)
    with store._writer_lock:
        threads = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
        for t in threads:
            t.start()
        _wait_for(submitted, READERS)
        assert got == {}  # nobody has been answered before their entry is committed
    for t in threads:
        t.join(60)
    assert {i: c.case_id if c else None for i, c in got.items()} == {
        i: f"C-{i}" for i in range(READERS)
    }
    batches, entries = store._reads.batches
    # The first batch took what had arrived when the writer woke (1 entry or more),
    # the second everything else.
    assert batches - batches_before <= 2
    assert entries - entries_before == READERS
    assert all(_reads_of(store, f"C-{i}") == 1 for i in range(READERS))
    result = store.audit.verify()
    assert result.ok, result.problems
    seqs = [e.seq for e in store.audit.trail(ROOT)]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_read_whose_entry_cannot_be_committed_returns_nothing(
    store: TiplineStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.cases.upsert([case("C-1")])

    def disk_full(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(context, "append_entries", disk_full)
    with pytest.raises(OSError, match="disk full"):
        store.cases.get("C-1", ANA)
    with pytest.raises(OSError, match="disk full"):
        store.cases.page(ANA, CaseFilter(limit=10))
    monkeypatch.undo()
    assert _reads_of(store, "C-1") == 0
    assert store.cases.get("C-1", ANA) is not None  # the committer carries on afterwards
    assert _reads_of(store, "C-1") == 1
    assert store.audit.verify().ok
