"""The case graph's neighbours route (the graph's "expand") over a real SQLite store:
signed-in users of the case's organisation only, every read audited, clear errors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from console_world import PASSWORD, TOP_CASE
from test_store_console import signed_in

from conftest import StoreConsole, store_console
from daybreak.store import SYSTEM, Role

URL = f"/console/cases/{TOP_CASE}/graph/neighbours"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    with store_console(tmp_path_factory.mktemp("graph-route")) as running:
        yield running


def test_neighbours_of_an_entity_come_as_json_and_the_read_is_audited(
    console: StoreConsole,
) -> None:
    case = console.store.cases.get(TOP_CASE, SYSTEM)
    assert case is not None
    reads_before = [
        e for e in console.store.audit.trail(SYSTEM, TOP_CASE) if e.action == "case.read"
    ]
    with signed_in(console, "ana") as client:
        response = client.get(URL, params={"key": "report:R-000042"})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    expected = {
        e.target if e.source == "report:R-000042" else e.source
        for e in case.edges
        if "report:R-000042" in (e.source, e.target)
    }
    assert {n["key"] for n in body["nodes"]} == expected
    assert all("report:R-000042" in (e["source"], e["target"]) for e in body["edges"])
    assert all(n["colour"].startswith("#") for n in body["nodes"])
    reads = [e for e in console.store.audit.trail(SYSTEM, TOP_CASE) if e.action == "case.read"]
    assert len(reads) == len(reads_before) + 1 and reads[-1].actor == "ana"


def test_unknown_entities_and_cases_are_named_404s(console: StoreConsole) -> None:
    with signed_in(console, "ana") as client:
        missing = client.get(URL, params={"key": "phone:+10000000000"})
        assert missing.status_code == 404
        assert "has no entity 'phone:+10000000000'" in missing.json()["error"]
        nocase = client.get("/console/cases/CASE-NONE/graph/neighbours", params={"key": "x"})
        assert nocase.status_code == 404 and "no case 'CASE-NONE'" in nocase.json()["error"]


def test_only_the_cases_organisation_and_signed_in_users_see_it(console: StoreConsole) -> None:
    store = console.store
    if "acme" not in {o.org_id for o in store.organisations.listing()}:
        store.organisations.create("acme", "Acme hotline")
        store.accounts.create("sara", PASSWORD, Role.SUPERVISOR, org_id="acme")
    with signed_in(console, "sara") as client:
        response = client.get(URL, params={"key": "report:R-000042"})
        assert response.status_code == 404  # another organisation's case does not exist
    with httpx.Client(base_url=console.url, timeout=30) as anonymous:
        response = anonymous.get(URL, params={"key": "report:R-000042"})
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in"
