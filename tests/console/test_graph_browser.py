"""The explorable case graph in real Chromium (issue #15): start from the subject,
expand and collapse, collapse hubs, the shortest path, relation and time filters, a
legend whose colours match, labels that do not overlap, all from the keyboard and
announced in the graph's status region."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Locator, Page, expect
from test_browser import browser, console, page, problems, sign_in  # noqa: F401  (fixtures)

from conftest import StoreConsole
from daybreak.model.cases import Case, GraphEdge, GraphNode, Tier

pytestmark = pytest.mark.browser

CASE_ID = "CASE-GRAPH00001"
S, P1, A1, H = "customer:S", "phone:P1", "account:A1", "payment_handle:gcash:H"
R1, P2, X, X2, FAR = "report:R1", "phone:P2", "customer:X", "customer:X2", "url:zzz"
LEAVES = [f"customer:L{i}" for i in range(1, 9)]
DEVICES = [f"device:D{i:03d}" for i in range(140)]


def _node(key: str, alerted: bool = False) -> GraphNode:
    kind, _, label = key.partition(":")
    return GraphNode(key=key, kind=kind, label=label, alerted=alerted)


def _at(month: int) -> datetime:
    return datetime(2026, month, 1, tzinfo=UTC)


def graph_case() -> Case:
    """157 entities (7 not drawn): the subject S pays the hub H that eight others pay
    (each in its own month), S's account was reported in R1, whose phone leads to X;
    X2 holds 140 devices; FAR hangs off P2 and is not drawn."""
    keys = [S, P1, A1, H, R1, P2, X, X2, FAR, *LEAVES, *DEVICES]
    edges = [
        GraphEdge(source=S, target=P1, relation="customer"),
        GraphEdge(source=A1, target=P1, relation="customer"),
        GraphEdge(source=S, target=A1, relation="customer"),
        GraphEdge(source=S, target=H, relation="paid", count=5, first_seen=_at(1),
                  last_seen=_at(2)),
        GraphEdge(source=R1, target=A1, relation="reported_account"),
        GraphEdge(source=R1, target=P2, relation="reported_phone"),
        GraphEdge(source=X, target=P2, relation="customer"),
        GraphEdge(source=X2, target=P2, relation="customer"),
        GraphEdge(source=FAR, target=P2, relation="seen_with"),
        *(GraphEdge(source=leaf, target=H, relation="paid", first_seen=_at(i + 1),
                    last_seen=_at(i + 1)) for i, leaf in enumerate(LEAVES)),
        *(GraphEdge(source=X2, target=d, relation="used_device") for d in DEVICES),
    ]  # fmt: skip
    return Case(
        case_id=CASE_ID,
        title="Graph exploration case",
        priority=0.5,
        tier=Tier.COMMERCIAL_OR_VOLUME,
        subject_key=S,
        entity_keys=sorted(keys),
        nodes=[_node(k, alerted=k in (S, R1)) for k in sorted(keys)],
        edges=edges,
        created_at=_at(10),
        updated_at=_at(10),
    )


@pytest.fixture
def graph_page(page: Page, console: StoreConsole) -> Iterator[Page]:  # noqa: F811
    console.store.cases.upsert([graph_case()])
    sign_in(page, console, "ana")
    page.goto(f"{console.url}/console/cases/{CASE_ID}")
    expect(page.locator(".graph-toolbar")).to_be_visible()  # the script ran under the CSP
    yield page


def node(tab: Page, key: str) -> Locator:
    return tab.locator(f'g.node[data-key="{key}"]')


def shown_keys(tab: Page) -> set[str]:
    keys: list[str] = tab.eval_on_selector_all(
        "g.node:not([display=none])", "els => els.map(e => e.getAttribute('data-key'))"
    )
    return set(keys)


def test_start_from_the_subject_expand_and_collapse_by_keyboard(graph_page: Page) -> None:
    tab = graph_page
    status = tab.locator("#graph-status")
    assert len(shown_keys(tab)) == 150  # the server's drawing: capped
    assert node(tab, FAR).count() == 0  # not drawn
    expect(node(tab, S)).to_have_class("node alerted subject")
    tab.get_by_role("button", name="Start from the subject").click()
    assert shown_keys(tab) == {S, P1, A1, H}
    expect(node(tab, S)).to_be_focused()
    expect(status).to_contain_text("Showing the subject, customer S, and its neighbours")
    node(tab, A1).focus()
    tab.keyboard.press("e")
    expect(status).to_contain_text("Expanded account A1: 0 new, 1 shown again")
    assert R1 in shown_keys(tab)
    node(tab, R1).focus()
    tab.keyboard.press("e")
    expect(status).to_contain_text("Expanded report R1")
    node(tab, P2).focus()
    tab.keyboard.press("e")  # brings in FAR, which the tab had not drawn
    expect(status).to_contain_text("Expanded phone P2: 1 new, 2 shown again")
    expect(node(tab, FAR)).to_be_visible()
    assert {X, X2, FAR} <= shown_keys(tab)
    node(tab, P2).focus()
    tab.keyboard.press("c")  # X, X2 (its devices are not shown) and FAR hang off P2 only
    expect(status).to_contain_text("Collapsed phone P2: 3 neighbours hidden")
    assert not {X, X2, FAR} & shown_keys(tab) and R1 in shown_keys(tab)
    tab.get_by_role("button", name="Show everything drawn").click()
    assert {X, FAR, *LEAVES} <= shown_keys(tab)


def test_hubs_collapse_into_one_node_and_open_again(graph_page: Page) -> None:
    tab = graph_page
    hubs = tab.get_by_role("button", name="Collapse hubs")
    hubs.click()
    expect(hubs).to_have_attribute("aria-pressed", "true")
    group = node(tab, f"group:{H}")
    expect(group).to_have_attribute("aria-label", "8 linked: 8 customer, press Enter to show them")
    assert not set(LEAVES) & shown_keys(tab)
    expect(node(tab, f"group:{X2}")).to_be_visible()  # X2's devices: another hub
    group.focus()
    tab.keyboard.press("Enter")
    expect(tab.locator("#graph-status")).to_contain_text(
        "Showing the 8 entities collapsed into payment handle gcash:H"
    )
    assert set(LEAVES) <= shown_keys(tab)
    expect(group).to_have_count(0)
    expect(node(tab, H)).to_be_focused()


def test_shortest_path_between_two_entities(graph_page: Page) -> None:
    tab = graph_page
    node(tab, S).focus()
    tab.keyboard.press("p")
    expect(tab.locator("#graph-status")).to_contain_text("Path from customer S")
    node(tab, X).focus()
    tab.keyboard.press("p")
    expect(tab.locator("#graph-status")).to_have_text(
        "Shortest path, 4 links: customer S \u2192 customer account A1 \u2192 "
        "reported_account report R1 \u2192 reported_phone phone P2 \u2192 customer customer X."
    )
    on_path = tab.eval_on_selector_all(
        "g.node.on-path", "els => els.map(e => e.getAttribute('data-key'))"
    )
    assert set(on_path) == {S, A1, R1, P2, X}
    expect(tab.locator("line.edge.on-path")).to_have_count(4)
    # Without the reports' links there is no path left.
    tab.get_by_label("reported account").uncheck()
    node(tab, S).focus()
    tab.keyboard.press("p")
    node(tab, X).focus()
    tab.keyboard.press("p")
    expect(tab.locator("#graph-status")).to_contain_text(
        "No path between customer S and customer X in the links shown."
    )


def test_filter_links_by_relation_and_time(graph_page: Page) -> None:
    tab = graph_page
    paid = tab.locator('line.edge[data-relation="paid"]')
    assert paid.count() == 9
    tab.get_by_label("paid", exact=True).uncheck()
    expect(tab.locator("#graph-status")).to_contain_text("hidden relations: paid")
    assert tab.locator('line.edge[data-relation="paid"]:not([display=none])').count() == 0
    tab.get_by_label("paid", exact=True).check()
    tab.get_by_label("From", exact=True).fill("2026-05-01")
    tab.get_by_label("To", exact=True).fill("2026-06-30")
    expect(tab.locator("#graph-status")).to_contain_text("seen 2026-05-01 to 2026-06-30")
    shown_paid = tab.eval_on_selector_all(
        'line.edge[data-relation="paid"]:not([display=none])',
        "els => els.map(e => e.getAttribute('data-source'))",
    )
    assert sorted(shown_paid) == ["customer:L5", "customer:L6"]
    # Links without a time (identifiers, reports) stay.
    assert tab.locator('line.edge[data-relation="reported_phone"]:not([display=none])').count()


def test_legend_colours_match_and_labels_do_not_overlap(graph_page: Page) -> None:
    tab = graph_page
    legend = tab.eval_on_selector_all(
        ".legend li[data-kind]",
        "els => els.map(e => [e.dataset.kind, e.dataset.colour, "
        "e.querySelector('circle').getAttribute('fill')])",
    )
    colours = [c for _, c, _ in legend]
    assert len(set(colours)) == len(colours)  # one colour per kind
    drawn = tab.eval_on_selector_all(
        "g.node",
        "els => els.map(e => [e.dataset.kind, e.querySelector('circle.dot').getAttribute('fill')])",
    )
    by_kind = {kind: colour for kind, colour, _ in legend}
    assert all(fill == colour for _, colour, fill in legend)
    assert {kind for kind, _ in drawn} == set(by_kind)
    assert all(by_kind[kind] == fill for kind, fill in drawn)
    expect(tab.locator('.legend li[data-mark="subject"]')).to_contain_text("subject")
    for action in (None, "Start from the subject", "Show everything drawn"):
        if action:
            tab.get_by_role("button", name=action).click()
        boxes = tab.eval_on_selector_all(
            "g.node:not([display=none]) text.label:not(.label-hidden)",
            "els => els.map(e => { const r = e.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })",
        )
        assert boxes
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                overlap = (
                    a[0] < b[2] - 0.5
                    and b[0] < a[2] - 0.5
                    and a[1] < b[3] - 0.5
                    and b[1] < a[3] - 0.5
                )
                assert not overlap, (a, b)
