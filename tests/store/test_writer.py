"""The group-commit writer survives cancelled submissions: one cancelled while it is
being written still gets its result, one cancelled while queued is dropped unwritten,
and later submissions are still written and answered."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future

import pytest
from store_samples import report, sub

from daybreak.store import Keyring, Receipt, Submission
from daybreak.store.keys import generate_key
from daybreak.store.reports import Prepared, prepare
from daybreak.store.writer import BatchWriter
from daybreak.tipline.routing import AgencyTable


def test_cancelled_submissions_do_not_stop_the_writer() -> None:
    entered, gate = threading.Event(), threading.Event()
    written: list[list[str]] = []

    def write(items: list[tuple[Submission, Prepared]]) -> list[Receipt | Exception]:
        entered.set()
        assert gate.wait(10)
        written.append([s.idempotency_key or "" for s, _ in items])
        return [Receipt(f"R-{s.idempotency_key}", "CL-x", 3, 0.5, "X") for s, _ in items]

    keys, agencies = Keyring.from_text(generate_key()), AgencyTable.load()

    def submit(
        writer: BatchWriter[tuple[Submission, Prepared], Receipt], key: str
    ) -> Future[Receipt]:
        s = sub(report(key), key=key)
        return writer.submit((s, prepare(s, keys, agencies)))

    writer: BatchWriter[tuple[Submission, Prepared], Receipt] = BatchWriter(write)
    try:
        first = submit(writer, "first")
        assert entered.wait(10)  # the writer is inside the first batch
        queued = submit(writer, "queued")
        assert not first.cancel()  # being written: too late
        assert queued.cancel()
        gate.set()
        assert first.result(10).report_id == "R-first"
        with pytest.raises(CancelledError):
            queued.result(10)
        later = submit(writer, "later")
        assert later.result(10).report_id == "R-later"
        assert writer.alive
    finally:
        gate.set()
        writer.close()
    assert written == [["first"], ["later"]]
