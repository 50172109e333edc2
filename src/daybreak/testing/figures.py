"""Hold back the counting of the dashboards' figures, to show that a request did not
wait for it (``store.cases.latest_figures`` serves the last figures meanwhile)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection

from daybreak.store import cases as case_ops


@dataclass
class HeldCount:
    counting: threading.Event = field(default_factory=threading.Event)  # a count began
    released: threading.Event = field(default_factory=threading.Event)


@contextmanager
def figures_held_back(timeout: float = 30.0) -> Iterator[HeldCount]:
    """Inside, every count of the figures waits until ``released`` is set (or
    ``timeout`` passes, then fails): a request that waited for one would not return."""
    held = HeldCount()
    count = case_ops.figures

    def held_count(conn: Connection, org_id: str) -> case_ops.CaseFigures:
        held.counting.set()
        if not held.released.wait(timeout):
            raise TimeoutError("the figures' count was never released")
        return count(conn, org_id)

    case_ops.figures = held_count
    try:
        yield held
    finally:
        held.released.set()
        case_ops.figures = count
