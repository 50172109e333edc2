"""The queue never waits for a recount of its matches: after a case changes, the page
shows the last total at once with its time (the rows are current), and the new total
once the background count is done (``store.cases.page``)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from console_world import TOP_CASE

from conftest import sign_in, store_console
from daybreak.store import SYSTEM
from daybreak.testing.figures import counts_held_back

TOTAL = re.compile(r'id="queue-count">(\d+) case')
AS_OF = re.compile(r'id="count-as-of">Count as of ([0-9: -]+ UTC):')


def count_on(page: str) -> tuple[int, str | None]:
    """(total, the time of a stale total or None) of a queue page."""
    total = TOTAL.search(page)
    assert total is not None, page[:2000]
    as_of = AS_OF.search(page)
    return int(total.group(1)), as_of.group(1) if as_of else None


def test_a_change_shows_the_last_count_at_once_then_the_new_one(tmp_path: Path) -> None:
    with store_console(tmp_path) as console, httpx.Client(base_url=console.url) as sam:
        assert sign_in(sam, "sam").status_code == 303
        total, as_of = count_on(sam.get("/console/queue").text)
        assert as_of is None
        top = console.store.cases.get(TOP_CASE, SYSTEM)
        assert top is not None

        # The recount is held back: a page that waited for it would never come back.
        with counts_held_back() as held:
            console.store.cases.upsert([top.model_copy(update={"case_id": "CASE-NEW-1"})])
            page = sam.get("/console/queue").text
            stale_total, stale_as_of = count_on(page)
            assert stale_total == total and stale_as_of is not None
            assert "CASE-NEW-1" in page  # the rows are read for the request
            assert held.counting.wait(30)
            held.released.set()
            console.store.cases.settle()

        assert count_on(sam.get("/console/queue").text) == (total + 1, None)
