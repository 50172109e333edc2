"""The dashboards never wait for a recount: after a case changes, the page shows the
last figures at once with the time they were counted, and the new ones once the
background count is done (``store.cases.latest_figures``)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from console_world import TOP_CASE

from conftest import sign_in, store_console
from daybreak.store import SYSTEM
from daybreak.testing.figures import figures_held_back

AS_OF = re.compile(r'id="figures-as-of">Figures as of ([0-9: -]+ UTC)\.')
TOTAL = re.compile(r"<p class=\"summary\">(\d+) cases from")


def figures_on(page: str) -> tuple[int, str, bool]:
    """(cases counted, as of, whether newer figures are being counted) of a dashboards page."""
    total, as_of = TOTAL.search(page), AS_OF.search(page)
    assert total is not None and as_of is not None, page[:2000]
    return int(total.group(1)), as_of.group(1), "newer figures are being counted" in page


def test_a_change_shows_the_last_figures_at_once_then_the_new_ones(tmp_path: Path) -> None:
    with store_console(tmp_path) as console, httpx.Client(base_url=console.url) as sam:
        assert sign_in(sam, "sam").status_code == 303
        total, as_of, refreshing = figures_on(sam.get("/console/dashboards").text)
        assert not refreshing
        top = console.store.cases.get(TOP_CASE, SYSTEM)
        assert top is not None

        # The background count is held back: a page that waited for it would never
        # come back, so the page below was answered without counting.
        with figures_held_back() as held:
            console.store.cases.upsert([top.model_copy(update={"case_id": "CASE-NEW-1"})])
            stale = figures_on(sam.get("/console/dashboards").text)
            assert stale == (total, as_of, True)
            assert held.counting.wait(30)
            held.released.set()
            console.store.cases.settle()

        new_total, new_as_of, refreshing = figures_on(sam.get("/console/dashboards").text)
        assert (new_total, refreshing) == (total + 1, False)
        assert new_as_of >= as_of
