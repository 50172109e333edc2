"""The dashboards' estimate panel over the store: the empty state that says what to run,
then the latest stored `daybreak estimate` run (hidden counts with intervals per stratum,
model, assumptions, when not to trust it), read under an audit entry and only by the
organisation that stored it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import StoreConsole, sign_in, store_console
from daybreak.graph.estimate import (
    ASSUMPTIONS,
    DO_NOT_TRUST,
    EstimateReport,
    StratumEstimate,
    estimate,
    simulate,
)
from daybreak.store.auth import SYSTEM, Actor, Role


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    with store_console(tmp_path_factory.mktemp("estimate-console")) as running:
        yield running


def _report() -> EstimateReport:
    """Two strata: one with an estimate, one whose lists never overlap."""
    table, _ = simulate(np.random.default_rng(3), 1200, [0.3, 0.25, 0.35])
    found = estimate(table, replicates=30, seed=1)
    return EstimateReport(
        table.lists,
        ("country",),
        0.95,
        (
            StratumEstimate("country=PH", found),
            StratumEstimate("country=TH", None, "no model has a finite estimate"),
        ),
    )


def _page(console: StoreConsole) -> str:
    with httpx.Client(base_url=console.url, follow_redirects=False, timeout=20) as sam:
        sign_in(sam, "sam")
        response = sam.get("/console/dashboards")
    assert response.status_code == 200, response.text
    return html.unescape(response.text)


def _reads(console: StoreConsole) -> list[tuple[str, str]]:
    return [
        (e.actor, e.object_id)
        for e in console.store.audit.trail(SYSTEM)
        if e.action == "estimate.read"
    ]


def test_without_an_estimate_the_panel_says_what_to_run(tmp_path: Path) -> None:
    with store_console(tmp_path) as console:  # its own store: no run kept yet
        page = _page(console)
        assert _reads(console) == []  # nothing was read, so nothing is audited
    assert "No estimate yet: run daybreak estimate SIGHTINGS.csv" in re.sub(r"<[^>]+>", "", page)
    assert "--db URL --org ORGANISATION" in page
    for warning in DO_NOT_TRUST:
        assert warning in page


def test_the_latest_estimate_is_shown_with_intervals_model_and_warnings(
    console: StoreConsole,
) -> None:
    older = console.store.estimates.save(SYSTEM, _report())
    report = _report()
    latest = console.store.estimates.save(SYSTEM, report)
    page = _page(console)
    found = report.strata[0].estimate
    assert found is not None
    row = re.search(r'<th scope="row">country=PH</th>(.*?)</tr>', page, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert cells[:4] == [
        f"{found.observed:,}",
        f"{found.hidden:,.0f}",
        f"{found.low:,.0f}–{found.high:,.0f}",
        f"{found.total:,.0f}",
    ]
    assert cells[4] == found.method_line() and found.model in cells[4]
    # a sparse table (two people in three on one list only): the warning is in its row
    assert any(w.startswith("likely too low") for w in found.warnings)
    for warning in found.warnings:
        assert f'<p class="warning">{warning}</p>' in cells[5]
    assert re.search(r'<th scope="row">country=TH</th><td></td><td>no estimate</td>', page)
    assert "no model has a finite estimate" in page
    assert latest.estimate_id in page and older.estimate_id not in page
    assert f"lists: {', '.join(report.lists)}" in page
    for text in (*ASSUMPTIONS, *DO_NOT_TRUST):
        assert text in page
    assert ("sam", latest.estimate_id) in _reads(console)


def test_another_organisation_does_not_see_the_estimate(console: StoreConsole) -> None:
    console.store.estimates.save(SYSTEM, _report())
    console.store.organisations.create("other-org", "Other")
    analyst = Actor("olga", Role.ANALYST, org_id="other-org")
    assert console.store.estimates.latest(analyst) is None
    with pytest.raises(PermissionError):
        console.store.estimates.save(analyst, _report())
