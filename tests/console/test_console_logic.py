"""The console's pure parts: search normalisation, queue order, graph layout, charts, map."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pycountry
import pytest
from console_world import NOW, PASSWORD, TOP_CASE, build_backend, build_cases

from daybreak.console import dashboards, geo, graphview, queue
from daybreak.console.backend import ConsoleUser, Role, StatusEvent
from daybreak.console.security import ABSOLUTE_SECONDS, IDLE_SECONDS, SessionStore
from daybreak.model.cases import Case, CaseStatus, GraphEdge, GraphNode, Tier
from daybreak.store import LoginRefused
from daybreak.store.auth import LOCKOUT_SECONDS, MAX_FAILURES
from daybreak.store.cases import TRIAGE_BINS


def test_search_candidates_normalise_each_identifier_kind() -> None:
    assert "+639171234567" in queue.search_candidates("0917-123-4567", ["PH"])
    assert "+639171234567" in queue.search_candidates("+63 (917) 123 4567")
    assert "someone@example.org" in queue.search_candidates("  SomeOne@Example.ORG ")
    assert "gb33bukb20201555555555" in queue.search_candidates("GB33 BUKB 2020 1555 5555 55")
    assert "https://example.org/live" in queue.search_candidates("WWW.Example.org/live/")
    assert queue.search_candidates("   ") == set()


def test_short_fragments_only_match_whole_values() -> None:
    case = build_cases()[0][0]
    assert queue.matches(case, queue.search_candidates("C000123"))
    assert not queue.matches(case, queue.search_candidates("123"))  # too short to be partial


def test_queue_orders_by_tier_then_priority_then_age() -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)

    def case(cid: str, priority: float, tier: int, hours: int) -> Case:
        return Case(
            case_id=cid,
            title=cid,
            priority=priority,
            tier=Tier(tier),
            created_at=base + timedelta(hours=hours),
        )

    cases = [case("a", 0.5, 3, 0), case("b", 0.9, 5, 0), case("c", 0.5, 1, 5), case("d", 0.5, 1, 1)]
    page = queue.build_queue(cases, [], queue.QueueFilters(), base)
    # A tier-5 case of high priority no longer sits above tier-1 cases: the order
    # agrees with the tier badges.
    assert [r.case.case_id for r in page.rows] == ["d", "c", "a", "b"]
    tier_1 = queue.build_queue(cases, [], queue.QueueFilters(tier=Tier(1)), base)
    assert [r.case.case_id for r in tier_1.rows] == ["d", "c"]
    assert {r.case.tier for r in tier_1.rows} == {Tier.LIVE_OR_IMMEDIATE_RISK}


def test_queue_pages_and_clamps_the_page_number() -> None:
    cases, alerts = build_cases(n=30)
    page = queue.build_queue(
        cases, alerts, queue.QueueFilters(status="", page=99), NOW, page_size=8
    )
    assert page.pages == 4 and page.page == 4 and len(page.rows) == 30 - 3 * 8
    assert page.total == 30


def test_age_is_human_readable() -> None:
    assert queue.humanize_age(NOW - timedelta(minutes=7), NOW) == "7 min"
    assert queue.humanize_age(NOW - timedelta(hours=5, minutes=59), NOW) == "5 h"
    assert queue.humanize_age(NOW - timedelta(days=3), NOW) == "3 d"
    assert queue.humanize_age(None, NOW) == "unknown"


def random_graph(n: int, m: int, seed: int) -> tuple[list[GraphNode], list[GraphEdge]]:
    rng = random.Random(seed)
    nodes = [GraphNode(key=f"phone:+1555{i:07d}", kind="phone", label=str(i)) for i in range(n)]
    edges = [
        GraphEdge(
            source=nodes[rng.randrange(n)].key,
            target=nodes[rng.randrange(n)].key,
            relation="called",
        )
        for _ in range(m)
    ]
    return nodes, edges


@pytest.mark.parametrize(("n", "m"), [(1, 0), (2, 1), (12, 20), (60, 90)])
def test_graph_layout_is_deterministic_and_inside_the_picture(n: int, m: int) -> None:
    nodes, edges = random_graph(n, m, seed=n)
    first = graphview.layout(nodes, edges)
    again = graphview.layout(list(reversed(nodes)), edges)
    assert {p.node.key: (p.x, p.y) for p in first.nodes} == {
        p.node.key: (p.x, p.y) for p in again.nodes
    }
    for p in first.nodes:
        assert 0 <= p.x <= first.width and 0 <= p.y <= first.height
    by_key = {p.node.key: p for p in first.nodes}
    for e in first.edges:  # edges are drawn between their nodes' positions
        assert (e.x1, e.y1) == (by_key[e.edge.source].x, by_key[e.edge.source].y)
        assert (e.x2, e.y2) == (by_key[e.edge.target].x, by_key[e.edge.target].y)
    assert len(first.edges) == len([e for e in edges if e.source != e.target])


def test_graph_layout_spreads_nodes_apart() -> None:
    nodes, edges = random_graph(30, 40, seed=3)
    placed = graphview.layout(nodes, edges).nodes
    closest = min(
        ((a.x - b.x) ** 2 + (a.y - b.y) ** 2) ** 0.5
        for i, a in enumerate(placed)
        for b in placed[i + 1 :]
    )
    assert closest > 5


def test_big_graphs_keep_alerted_and_connected_nodes() -> None:
    nodes, edges = random_graph(graphview.MAX_NODES + 40, 400, seed=9)
    alerted = nodes[-1].model_copy(update={"alerted": True})
    nodes[-1] = alerted
    result = graphview.layout(nodes, edges)
    assert len(result.nodes) == graphview.MAX_NODES and result.truncated == 40
    assert alerted.key in {p.node.key for p in result.nodes}


def test_time_to_triage_from_status_events() -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    cases = [Case(case_id=f"c{i}", title="", priority=0.5, created_at=base) for i in range(4)]
    events = [
        StatusEvent("c0", base, CaseStatus.NEW),
        StatusEvent("c0", base + timedelta(minutes=30), CaseStatus.TRIAGED),
        StatusEvent("c0", base + timedelta(hours=9), CaseStatus.ASSIGNED),  # not the first
        StatusEvent("c1", base + timedelta(hours=2), CaseStatus.ASSIGNED),
        StatusEvent("c2", base + timedelta(days=4), CaseStatus.CLOSED),
    ]
    stats = dashboards.triage_stats(cases, events)
    assert stats.measured == 3 and stats.waiting == 1
    assert stats.median_hours == pytest.approx(2.0)
    bins = {b.label: b.value for b in stats.histogram.bars}
    assert bins == {"< 1 h": 1, "1-4 h": 1, "4-24 h": 0, "1-3 d": 0, "> 3 d": 1}
    assert [b.label for b in stats.histogram.bars] == [label for label, _ in TRIAGE_BINS]


def test_bar_chart_scales_to_the_largest_value() -> None:
    chart = dashboards.bar_chart("t", {"a": 4, "b": 8, "c": 2})
    widths = {b.label: b.w for b in chart.bars}
    assert [b.label for b in chart.bars] == ["b", "a", "c"]
    assert widths["a"] == pytest.approx(widths["b"] / 2)
    assert widths["c"] == pytest.approx(widths["b"] / 4)


def test_line_chart_counts_per_period() -> None:
    day = datetime(2026, 5, 1, 12, tzinfo=UTC).date()
    per_day = {day: 2, day + timedelta(days=2): 1}
    chart = dashboards.line_chart("t", [("Cases", "series-cases", per_day)])
    assert chart.series[0].values == [("2026-05-01", 2), ("2026-05-02", 0), ("2026-05-03", 1)]
    assert chart.ymax == 2


def test_world_map_places_each_country_once_and_lists_the_rest() -> None:
    cases, _ = build_cases()
    cases.append(Case(case_id="x", title="", priority=0.1, country="AQ"))  # no centroid
    world = dashboards.world_map(cases)
    counted = {d.code: d.cases for d in world.dots}
    for code, n in counted.items():
        assert n == sum(1 for c in cases if c.country == code)
    assert world.unplaced == [("AQ", 1)]
    ph = next(d for d in world.dots if d.code == "PH")
    assert "PICACC" in ph.agencies
    for d in world.dots:
        assert 0 <= d.x <= world.width and 0 <= d.y <= world.height


def test_centroids_are_real_countries_in_range() -> None:
    for code, (lat, lon) in geo.CENTROIDS.items():
        assert code == "XK" or pycountry.countries.get(alpha_2=code) is not None, code
        assert -60 <= lat <= 75 and -180 <= lon <= 180, code
    # West is left of east, north above south.
    assert geo.project(0, -100, 360, 180)[0] < geo.project(0, 100, 360, 180)[0]
    assert geo.project(50, 0, 360, 180)[1] < geo.project(-30, 0, 360, 180)[1]


def test_dashboard_over_the_test_world() -> None:
    cases, alerts = build_cases()
    typos = queue.typologies_by_case(cases, alerts)
    board = dashboards.build_dashboard(cases, alerts, [], typos)
    assert board.total_cases == len(cases) and board.total_alerts == len(alerts)
    tiers = {b.label: b.value for b in board.by_tier.bars}
    assert sum(tiers.values()) == len(cases)
    assert tiers["Tier 1"] == sum(1 for c in cases if c.tier is Tier.LIVE_OR_IMMEDIATE_RISK)
    assert typos[TOP_CASE] == ("low_value_corridor", "night_payments")


def test_why_skips_the_priority_restatement_and_stays_short() -> None:
    case = Case(
        case_id="c",
        title="",
        priority=0.9,
        reasons=["Priority 0.90, tier 2 (known_offender_access).", "Paid 6 women.", "live now"],
        explanation="long text",
    )
    assert queue.why(case) == "live now; Paid 6 women."  # the distinctive reason first
    long = case.model_copy(update={"reasons": ["x" * 500]})
    assert len(queue.why(long)) == 180 and queue.why(long).endswith("…")
    bare = case.model_copy(update={"reasons": []})
    assert queue.why(bare) == "long text"


def test_sessions_end_when_idle_or_too_old_and_are_purged() -> None:
    now = [0.0]
    store = SessionStore(clock=lambda: now[0])
    user = ConsoleUser("ana", Role.ANALYST)
    token = store.create(user)
    now[0] += IDLE_SECONDS - 1
    assert store.get(token) is not None  # a request renews the idle timer
    now[0] += IDLE_SECONDS - 1
    assert store.get(token) is not None
    now[0] += IDLE_SECONDS + 1
    assert store.get(token) is None
    busy = store.create(user)
    for _ in range(ABSOLUTE_SECONDS // (IDLE_SECONDS // 2) + 1):  # active, but too long
        now[0] += IDLE_SECONDS // 2
        store.get(busy)
    assert store.get(busy) is None
    stale = store.create(user)
    now[0] += IDLE_SECONDS + 1
    store.create(user)  # creating a session purges expired ones
    assert len(store) == 1 and store.get(stale) is None  # only the new one is held


def test_memory_backend_locks_like_the_store_and_the_lock_expires() -> None:
    now = [NOW]
    backend = build_backend(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        assert backend.sign_in("ana", "wrong", "127.0.0.1") is None
    with pytest.raises(LoginRefused) as refused:
        backend.sign_in("ana", PASSWORD, "127.0.0.1")
    assert refused.value.reason == "locked"
    now[0] += timedelta(seconds=LOCKOUT_SECONDS)
    assert backend.sign_in("ana", PASSWORD, "127.0.0.1") is not None


def test_time_to_triage_counts_from_queue_entry_not_the_worlds_time() -> None:
    # A case built from an old world carries the world's time as created_at; the store
    # records when the case entered the queue. Triage 2 h after entry is 2 h, not the
    # ~12,500 h since the world's data was made.
    world_time = datetime(2025, 6, 1, tzinfo=UTC)
    stored = datetime(2026, 11, 1, 9, tzinfo=UTC)
    cases = [Case(case_id="c0", title="", priority=0.5, created_at=world_time)]
    events = [
        StatusEvent("c0", stored, CaseStatus.NEW),
        StatusEvent("c0", stored + timedelta(hours=2), CaseStatus.TRIAGED),
    ]
    stats = dashboards.triage_stats(cases, events)
    assert stats.median_hours == pytest.approx(2.0)
    assert stats.median_text == "2.0 h"


@pytest.mark.parametrize(
    ("hours", "text"),
    [(None, "—"), (0.25, "15 min"), (5.04, "5.0 h"), (47.9, "47.9 h"), (12523.8, "521.8 d")],
)
def test_durations_are_shown_in_sensible_units(hours: float | None, text: str) -> None:
    assert dashboards.format_duration(hours) == text


def test_world_map_counts_cases_ever_referred() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    cases = [
        Case(case_id="a", title="", priority=0.5, country="PH", status=CaseStatus.CLOSED),
        Case(case_id="b", title="", priority=0.5, country="PH", status=CaseStatus.REFERRED),
        Case(case_id="c", title="", priority=0.5, country="PH", status=CaseStatus.CLOSED),
    ]
    events = [
        StatusEvent("a", t, CaseStatus.REFERRED),
        StatusEvent("a", t + timedelta(days=1), CaseStatus.CLOSED),
        StatusEvent("b", t, CaseStatus.REFERRED),
    ]
    dot = dashboards.world_map(cases, events=events).dots[0]
    assert dot.cases == 3 and dot.referred == 2  # "a" was referred, then closed


def test_country_chart_says_how_many_cases_it_covers() -> None:
    cases = [
        Case(case_id=f"c{i}", title="", priority=0.5, country="PH" if i < 3 else None)
        for i in range(77)
    ]
    board = dashboards.build_dashboard(cases, [], [], {})
    assert board.by_country.note.startswith("3 of 77 cases have a country")


def test_a_search_says_where_each_hit_matched_and_where_else_its_entity_is() -> None:
    phone = "phone:+639171234567"

    def case(cid: str, keys: list[str], status: CaseStatus) -> Case:
        return Case(case_id=cid, title=cid, priority=0.5, entity_keys=keys, status=status)

    cases = [
        case("A", [phone, "customer:C1"], CaseStatus.NEW),
        case("B", [phone], CaseStatus.CLOSED),
        case("C", [phone, "customer:C2"], CaseStatus.CLOSED),
        case("D", ["customer:C3"], CaseStatus.NEW),
    ]
    filters = queue.QueueFilters(status="", query="+63 917 123 4567")
    page = queue.build_queue(cases, [], filters, NOW)
    rows = {r.case.case_id: r for r in page.rows}
    assert sorted(rows) == ["A", "B", "C"] and page.closed_hits == 2
    assert rows["A"].matched == ("phone phone:+639171234567",)
    assert rows["A"].elsewhere == (queue.EntityElsewhere(phone, 2, 2),)
    assert rows["B"].elsewhere == (queue.EntityElsewhere(phone, 2, 1),)
    # Without a search there is nothing to explain.
    assert queue.build_queue(cases, [], queue.QueueFilters(status=""), NOW).rows[0].matched == ()


def test_queue_reasons_put_what_sets_a_case_apart_first() -> None:
    reasons = [
        "Priority 0.97, tier 2 (known_offender_access).",
        "3 independent sources point at the same people, which raises the priority to 0.97: "
        "tipline 0.90 (report R1); payments 0.60 (corridor); media 0.80 (hash match).",
        "The latest signal is 20 days old, so the priority is scaled by 0.81.",
        "A known offender is linked (account:examplestream:u9).",
        "Tier 2 is set by tipline:R00000061 (live streaming abuse, victim estimated 10 years old).",
    ]
    case = Case(case_id="c", title="", priority=0.9, reasons=reasons)
    shown = queue.why(case, limit=1000)
    assert shown.startswith("A known offender is linked")
    assert "Tier 2 is set by tipline:R00000061" in shown
    assert "independent sources" not in shown  # boilerplate comes after the first three
    assert queue.highlights(case) == ("Live stream", "Known offender", "Victim ~10 y")
    plain = Case(case_id="d", title="", priority=0.5, reasons=["One source: payments 0.5 (x)."])
    assert queue.why(plain) == "One source: payments 0.5 (x)." and queue.highlights(plain) == ()
