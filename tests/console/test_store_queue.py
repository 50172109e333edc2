"""The store backend pages, filters, searches and counts in SQL: it must show what the
in-memory backend (every case in Python) shows, while decrypting only the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_world import (
    NOW,
    ROUTING_TABLE,
    TOP_CASE,
    TOP_EMAIL,
    TOP_HASH,
    TOP_PHONE,
    TOP_USERNAME,
    build_cases,
)
from sqlalchemy import delete, func, select

from daybreak.console import dashboards, queue
from daybreak.console.backend import ConsoleUser, Role
from daybreak.console.store_backend import StoreBackend
from daybreak.model.cases import Case, CaseStatus, Outcome, Tier
from daybreak.store import SYSTEM, Keyring, TiplineStore
from daybreak.store import cases as case_ops
from daybreak.store.keys import generate_key
from daybreak.store.tables import case_facets, case_search, store_meta
from daybreak.testing.console import MemoryBackend

SAM = ConsoleUser("sam", Role.SUPERVISOR)
ANA = ConsoleUser("ana", Role.ANALYST)


def _cases() -> list[Case]:
    """The console world, grown past one page, with closed and assigned cases."""
    cases, alerts = build_cases(n=130, seed=11)
    by_id = {a.alert_id: a for a in alerts}
    out = []
    for i, c in enumerate(cases):
        # As the case builder makes them: a case carries its alerts (their typologies).
        c = c.model_copy(update={"alerts": [by_id[a] for a in c.alert_ids if a in by_id]})
        if i % 9 == 4:
            c = c.model_copy(update={"status": CaseStatus.CLOSED, "outcome": Outcome.NO_ACTION})
        elif i % 7 == 3:
            c = c.model_copy(update={"status": CaseStatus.ASSIGNED, "assignee": "ana"})
        out.append(c)
    # A second case holding the top case's phone, closed: "in 1 other case (1 closed)".
    twin = out[5].model_copy(
        update={
            "case_id": "CASE-TWIN",
            "entity_keys": [*out[5].entity_keys, f"phone:{TOP_PHONE}"],
            "status": CaseStatus.CLOSED,
            "outcome": Outcome.DUPLICATE,
        }
    )
    return [*out, twin]


@pytest.fixture(scope="module")
def backends(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[StoreBackend, MemoryBackend]]:
    cases = _cases()
    _, alerts = build_cases(n=130, seed=11)
    path: Path = tmp_path_factory.mktemp("store-queue") / "queue.db"
    store = TiplineStore(f"sqlite+pysqlite:///{path}", Keyring.from_text(generate_key()))
    try:
        store.cases.upsert(cases)
        memory = MemoryBackend(cases, alerts, agencies=ROUTING_TABLE)
        yield StoreBackend(store, alerts), memory
    finally:
        store.close()


def _shown(page: queue.QueuePage) -> tuple[object, ...]:
    rows = [
        (r.case.case_id, r.typologies, r.source_mix, r.why, r.matched, r.elsewhere)
        for r in page.rows
    ]
    return (
        rows,
        page.total,
        page.page,
        page.pages,
        page.countries,
        page.typologies,
        page.closed_hits,
    )


@pytest.mark.parametrize(
    "filters",
    [
        queue.QueueFilters(),
        queue.QueueFilters(page=2),
        queue.QueueFilters(page=99),  # past the end: the last page
        queue.QueueFilters(status=""),
        queue.QueueFilters(status="closed"),
        queue.QueueFilters(tier=Tier(3)),
        queue.QueueFilters(country="PH", status=""),
        queue.QueueFilters(typology="night_payments"),
        queue.QueueFilters(assignee="ana"),
        queue.QueueFilters(query=TOP_PHONE, status=""),
        queue.QueueFilters(query="0917 123 4567", status=""),
        queue.QueueFilters(query=TOP_PHONE, status=queue.OPEN),
        queue.QueueFilters(query=TOP_EMAIL.upper(), status=""),
        queue.QueueFilters(query=TOP_USERNAME.split(":")[-1], status=""),
        queue.QueueFilters(query=TOP_HASH[:16], status=""),
        queue.QueueFilters(query="R-000042", status=""),
        queue.QueueFilters(query="case-0007", status=""),
        queue.QueueFilters(query="+44 20 7946 0000", status=""),
        queue.QueueFilters(query="   ", status=""),
    ],
    ids=repr,
)
def test_the_store_queue_shows_what_every_case_in_memory_shows(
    backends: tuple[StoreBackend, MemoryBackend], filters: queue.QueueFilters
) -> None:
    store, memory = backends
    expected = memory.queue_page(SAM, filters, NOW)
    assert _shown(store.queue_page(SAM, filters, NOW)) == _shown(expected)


def test_a_search_finds_closed_twins_and_counts_them(
    backends: tuple[StoreBackend, MemoryBackend],
) -> None:
    store, _ = backends
    page = store.queue_page(SAM, queue.QueueFilters(query=TOP_PHONE, status=""), NOW)
    assert [r.case.case_id for r in page.rows] == [TOP_CASE, "CASE-TWIN"]
    assert page.closed_hits == 1
    top = page.rows[0]
    assert top.elsewhere == (queue.EntityElsewhere(f"phone:{TOP_PHONE}", 1, 1),)


def test_only_the_page_is_read_and_audited(backends: tuple[StoreBackend, MemoryBackend]) -> None:
    store, _ = backends
    page = store.queue_page(ANA, queue.QueueFilters(status=""), NOW)
    assert page.total == 131 and len(page.rows) == queue.PAGE_SIZE
    listed = [e for e in store.store.audit.trail(SYSTEM) if e.action == "case.list"][-1]
    assert listed.actor == "ana"
    assert listed.detail["ids"] == [r.case.case_id for r in page.rows]
    assert listed.detail["total"] == 131


def test_dashboard_figures_from_sql_equal_those_counted_in_memory(
    backends: tuple[StoreBackend, MemoryBackend],
) -> None:
    store, memory = backends
    # Move a few cases so that triage times and "ever referred" have something to count.
    routed = memory.get_case("CASE-0002", SAM)
    assert routed is not None and routed.routed_agency  # referred where it is routed
    for backend in (store, memory):
        backend.triage("CASE-0002", SAM)
        backend.refer("CASE-0002", SAM, routed.routed_agency)
        backend.close("CASE-0002", SAM, Outcome.REFERRED_TO_POLICE, "sent")
        backend.triage("CASE-0011", SAM)
    got, want = store.case_figures(SAM), memory.case_figures(SAM)
    assert got.referred_by_country == want.referred_by_country and got.referred_by_country
    # Stored cases that arrive already moved count from creation, as in memory.
    assert got.waiting == want.waiting and got.triage.measured == want.triage.measured
    new_now = sum(1 for c in _cases() if c.status is CaseStatus.NEW)
    assert got.waiting == new_now - 1  # CASE-0002 left 'new'; CASE-0011 was assigned
    for field in ("total", "created_per_day", "by_tier", "by_country", "routes", "by_typology"):
        assert getattr(got, field) == getattr(want, field), field
    assert got.by_source == want.by_source
    board = dashboards.dashboard_of(got, [], store.agency_for)
    assert board.total_cases == 131 and board.triage.measured == want.triage.measured


def test_a_store_from_before_0008_fills_its_search_rows_when_opened(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'old.db'}"
    key = generate_key()
    cases, alerts = build_cases(n=5)
    with TiplineStore(url, Keyring.from_text(key)) as store:
        store.cases.upsert(cases)
        with store.engine.begin() as conn:  # as a store upgraded by the migration alone
            conn.execute(delete(case_search))
            conn.execute(delete(case_facets))
            conn.execute(delete(store_meta).where(store_meta.c.name == case_ops.SEARCH_VERSION))
    with TiplineStore(url, Keyring.from_text(key)) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(case_facets)).scalar_one() > 0
        page = StoreBackend(store, alerts).queue_page(
            SAM, queue.QueueFilters(query=TOP_PHONE, status=""), NOW
        )
        assert [r.case.case_id for r in page.rows] == [TOP_CASE]
