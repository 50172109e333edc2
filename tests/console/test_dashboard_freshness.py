"""The dashboards never wait for a recount: after a case changes, the page shows the
last figures at once with the time they were counted, and the new ones once the
background count is done (``store.cases.latest_figures``)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from console_world import TOP_CASE
from sqlalchemy import Connection

from conftest import sign_in, store_console
from daybreak.store import SYSTEM
from daybreak.store import cases as case_ops

AS_OF = re.compile(r'id="figures-as-of">Figures as of ([0-9: -]+ UTC)\.')
TOTAL = re.compile(r"<p class=\"summary\">(\d+) cases from")


def figures_on(page: str) -> tuple[int, str, bool]:
    """(cases counted, as of, whether newer figures are being counted) of a dashboards page."""
    total, as_of = TOTAL.search(page), AS_OF.search(page)
    assert total is not None and as_of is not None, page[:2000]
    return int(total.group(1)), as_of.group(1), "newer figures are being counted" in page


def test_a_change_shows_the_last_figures_at_once_then_the_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store_console(tmp_path) as console, httpx.Client(base_url=console.url) as sam:
        assert sign_in(sam, "sam").status_code == 303
        total, as_of, refreshing = figures_on(sam.get("/console/dashboards").text)
        assert not refreshing

        # The background count blocks until released: a page that waited for it
        # would never come back, so the page below was answered without counting.
        release, counting = threading.Event(), threading.Event()
        count = case_ops.figures

        def blocked_count(conn: Connection, org_id: str) -> case_ops.CaseFigures:
            counting.set()
            assert release.wait(30)
            return count(conn, org_id)

        monkeypatch.setattr(case_ops, "figures", blocked_count)
        top = console.store.cases.get(TOP_CASE, SYSTEM)
        assert top is not None
        console.store.cases.upsert([top.model_copy(update={"case_id": "CASE-NEW-1"})])

        stale = figures_on(sam.get("/console/dashboards").text)
        assert stale == (total, as_of, True)
        assert counting.wait(30)
        release.set()
        console.store.cases.settle()

        new_total, new_as_of, refreshing = figures_on(sam.get("/console/dashboards").text)
        assert (new_total, refreshing) == (total + 1, False)
        assert new_as_of >= as_of
