"""Hold back the counting of the dashboards' figures or of the queue's matches, to
show that a request did not wait for it (``store.cases.latest_figures`` and
``store.cases.page`` serve the last ones meanwhile)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from daybreak.store import cases as case_ops


@dataclass
class HeldCount:
    counting: threading.Event = field(default_factory=threading.Event)  # a count began
    released: threading.Event = field(default_factory=threading.Event)


@contextmanager
def figures_held_back(timeout: float = 30.0) -> Iterator[HeldCount]:
    """Inside, every count of the figures waits until ``released`` is set (or
    ``timeout`` passes, then fails): a request that waited for one would not return."""
    with _held_back("figures", timeout) as held:
        yield held


@contextmanager
def counts_held_back(timeout: float = 30.0) -> Iterator[HeldCount]:
    """As :func:`figures_held_back`, for the counts of the queue's filters."""
    with _held_back("count", timeout) as held:
        yield held


@contextmanager
def _held_back(name: str, timeout: float) -> Iterator[HeldCount]:
    """Replace ``case_ops.<name>`` by one that waits for ``released`` first."""
    held = HeldCount()
    count = getattr(case_ops, name)

    def held_count(*args: Any) -> Any:
        held.counting.set()
        if not held.released.wait(timeout):
            raise TimeoutError(f"the {name} count was never released")
        return count(*args)

    setattr(case_ops, name, held_count)
    try:
        yield held
    finally:
        held.released.set()
        setattr(case_ops, name, count)
