"""Group commit: one writer thread turns many concurrent writes into few transactions.

Used for report intake (:class:`~daybreak.store.reports.Submission`) and for the audit
entries of reads (:class:`~daybreak.store.repositories.context.AuditCommitter`). Each
request puts its item on a queue and waits on a future. The writer
takes everything queued (up to ``max_batch``), writes it in ONE transaction, commits
(one fsync for the whole batch), and only then resolves the futures — so a 202 still
means "on disk", while throughput is bounded by fsyncs per second times batch size
rather than by fsyncs per item. While a batch commits, the next one gathers.

If the batch transaction fails for an unexpected reason it is rolled back and each
item is retried in a transaction of its own, so one bad item cannot sink the others
and none is half-stored.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
_STOP = object()

T = TypeVar("T")  # what is written
R = TypeVar("R")  # what its writer answers


class BatchWriter(Generic[T, R]):
    """``write_batch`` writes a list of items in one transaction and returns, per item,
    its result or the (expected, per-item) exception it raised."""

    def __init__(
        self,
        write_batch: Callable[[list[T]], list[R | Exception]],
        max_batch: int = 500,
        name: str = "daybreak-writer",
    ) -> None:
        self._write_batch = write_batch
        self._max = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self.batches = 0
        self.items = 0
        self._thread.start()

    def submit(self, item: T) -> Future[R]:
        """Queue ``item``; the future resolves once the batch holding it is committed."""
        fut: Future[R] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("the store is closed"))
            return fut
        self._queue.put((item, fut))
        return fut

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closed

    def close(self, timeout: float = 30.0) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self._max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _commit(self, taken: list[tuple[T, Future[R]]]) -> None:
        # As an executor does: a future cancelled while queued (its request went away)
        # is dropped unwritten; the others are marked running, so they can no longer
        # be cancelled and setting their result below cannot fail (which would kill
        # this thread and leave every later submission waiting forever).
        batch = [pair for pair in taken if pair[1].set_running_or_notify_cancel()]
        if not batch:
            return
        items = [item for item, _ in batch]
        try:
            results = self._write_batch(items)
        except Exception:  # rolled back: retry one by one to isolate the culprit
            log.exception("batch of %d failed; retrying one at a time", len(items))
            results = []
            for item in items:
                try:
                    results.extend(self._write_batch([item]))
                except Exception as exc:
                    results.append(exc)
        self.batches += 1
        self.items += len(items)
        for (_, fut), res in zip(batch, results, strict=True):
            if isinstance(res, Exception):
                fut.set_exception(res)
            else:
                fut.set_result(res)
