"""End to end in real Chromium: sign in, work the queue, open the top case, use the
graph with the keyboard, act on the case, download an export, and read the audit trail.

The app is the tipline's ``create_app`` over a real SQLite store, served by uvicorn on
loopback; the browser is Debian's chromium driven by Playwright (never downloaded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_world import PASSWORD, TOP_CASE
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from conftest import StoreConsole, store_console
from daybreak.console.mount import console_url
from daybreak.model.cases import Case, CaseStatus, Tier
from daybreak.store import SYSTEM

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    standards = Path(__file__).resolve().parents[3] / "shared" / "standards"
    with store_console(
        tmp_path_factory.mktemp("browser-console"), standards if standards.is_dir() else None
    ) as running:
        # store_console turns Secure off for httpx; Chromium accepts Secure cookies from
        # http://127.0.0.1, so the browser tests run with the default, the flag on.
        running.app.state.daybreak_console.secure_cookies = True
        yield running


@pytest.fixture(scope="module")
def browser(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(20_000)
        yield context
        context.close()


@pytest.fixture
def problems() -> list[str]:
    """Console errors, CSP violations and off-machine requests seen by the page."""
    return []


@pytest.fixture
def page(browser: BrowserContext, problems: list[str]) -> Iterator[Page]:
    page = browser.new_page()
    page.on("console", lambda m: _console_problem(m, problems))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    # Nothing may leave the machine: every request goes to the console's own origin.
    page.on(
        "request",
        lambda r: (
            problems.append(f"request off loopback: {r.url}")
            if not r.url.startswith(("http://127.0.0.1:", "data:", "blob:"))
            else None
        ),
    )
    yield page
    page.close()
    assert problems == [], problems


def _console_problem(message: ConsoleMessage, problems: list[str]) -> None:
    # CSP violations and script errors show up as console errors.
    if message.type in ("error", "warning"):
        problems.append(f"console {message.type}: {message.text}")


def sign_in(page: Page, console: StoreConsole, user: str) -> None:
    page.context.clear_cookies()  # one browser for the module: start signed out
    page.goto(console_url("127.0.0.1", int(console.url.rsplit(":", 1)[1])))
    expect(page).to_have_url(f"{console.url}/console/sign-in")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/console/queue")


def test_sign_in_form_is_labelled_and_says_what_went_wrong(
    page: Page, console: StoreConsole, problems: list[str]
) -> None:
    page.goto(f"{console.url}/console/sign-in")
    expect(page.get_by_label("User name")).to_be_focused()  # autofocus: type right away
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("User name or password is not correct.")
    # The refused sign-in is a 400, which Chromium logs; that one is expected.
    problems.remove(
        "console error: Failed to load resource: the server responded with a status of 400 "
        "(Bad Request)"
    )


def test_from_the_top_of_the_queue_to_an_exported_report(page: Page, console: StoreConsole) -> None:
    sign_in(page, console, "ana")
    expect(page.get_by_test_id("username")).to_have_text("ana")
    cookie = next(c for c in page.context.cookies() if c["name"] == "daybreak_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts
    page.keyboard.press("Tab")  # the first stop on every page is the skip link
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()

    # The queue: the live-stream case is on top, with its tier and why.
    first = page.locator("table.queue tbody tr").first
    expect(first).to_have_attribute("data-case-id", TOP_CASE)
    expect(first).to_contain_text("T1")
    expect(first).to_contain_text("live now")

    # Search by a phone typed the way a hotline operator would.
    page.get_by_label("Search by identifier").fill("0917 123 4567")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    expect(page.locator("#queue-count")).to_contain_text("1 case matching")

    # Open the case.
    page.locator("table.queue tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Live-stream report linked to corridor payments"
    )
    expect(page.locator("#case-status")).to_contain_text("new")

    # The entity graph works from the keyboard: focus an entity, show its links,
    # jump to a neighbour, move a node with the arrow keys.
    expect(page.locator(".graph-toolbar")).to_be_visible()  # the script ran under the CSP
    node = page.locator('g.node[data-key="customer:C000123"]')
    node.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#graph-detail")
    expect(detail.get_by_role("heading")).to_have_text("customer: C000123")
    expect(detail.locator("li")).to_have_count(3)
    before = node.get_attribute("transform")
    page.keyboard.press("ArrowRight")
    assert node.get_attribute("transform") != before
    detail.get_by_role("button", name="account streamhost:88231").click()
    expect(page.locator('g.node[data-key="account:streamhost:88231"]')).to_be_focused()
    expect(detail.get_by_role("heading")).to_have_text("account: streamhost:88231")

    # Act: take the case, then escalate it.
    page.get_by_role("button", name="Take this case").click()
    expect(page.get_by_role("status").filter(has_text="Case assigned to ana.")).to_have_text(
        "Case assigned to ana."
    )
    expect(page.locator("#case-assignee")).to_have_text("ana")
    page.get_by_label("Reason", exact=True).fill("live stream reported now")
    page.get_by_role("button", name="Escalate").click()
    expect(page.locator("#case-status")).to_contain_text("escalated")

    # Export: a STIX bundle, validated by the exporters, as a download.
    with page.expect_download(timeout=60_000) as info:
        page.locator('a[data-format="stix"]').click()
    download = info.value
    assert download.suggested_filename == f"{TOP_CASE}.stix.json"
    bundle = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert bundle["type"] == "bundle"
    assert any(o["type"] == "grouping" for o in bundle["objects"])

    # The page's history shows the audit log, and the store agrees.
    page.reload()
    history = page.locator("#history")
    expect(history).to_contain_text("case.export")
    expect(history).to_contain_text("case.transition")
    case = console.store.cases.get(TOP_CASE, SYSTEM)
    assert case is not None and case.status is CaseStatus.ESCALATED and case.assignee == "ana"
    trail = [(e.actor, e.action) for e in console.store.audit.trail(SYSTEM, TOP_CASE)]
    assert ("ana", "case.export") in trail
    assert console.store.audit.verify().ok


def test_dashboards_and_banks_render_charts_without_scripts_or_media(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "sam")
    page.get_by_role("link", name="Dashboards").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboards")
    expect(page.locator("figure.chart svg")).to_have_count(7)  # six charts and the map
    expect(page.locator(".map-dot")).not_to_have_count(0)
    page.get_by_role("link", name="Hash banks & rules").click()
    expect(page.get_by_role("heading", name="Payment typology pack")).to_be_visible()
    assert page.locator("img, video, canvas, iframe").count() == 0


@pytest.mark.parametrize("width", [1280, 1920], ids=["laptop", "large-monitor"])
def test_pages_fit_laptop_and_large_monitor_widths(
    page: Page, console: StoreConsole, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, console, "sam")
    for path in ["/console/queue", f"/console/cases/{TOP_CASE}", "/console/dashboards"]:
        page.goto(console.url + path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"


def test_the_export_panel_offers_only_the_exports_the_case_can_make(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    page.goto(console.url + f"/console/cases/{TOP_CASE}")
    panel = page.locator("#exports")
    expect(panel.locator("[data-check-loaded]")).to_have_count(1, timeout=60_000)
    expect(panel.locator("ul.exports")).to_have_count(0)  # the generic list is gone
    refused = panel.locator("section.export-check-format", has_text="cannot be made")
    assert refused.count() >= 1  # this case has no transactions: goAML cannot be made
    for i in range(refused.count()):
        key = refused.nth(i).get_attribute("data-format")
        expect(panel.locator(f'a[data-format="{key}"]')).to_have_count(0)
    expect(panel.locator('a[data-format="stix"]')).to_have_count(1)


def test_an_evidence_id_opens_its_record_page(page: Page, console: StoreConsole) -> None:
    sign_in(page, console, "ana")
    page.goto(console.url + f"/console/cases/{TOP_CASE}")
    page.locator("#case-reports a", has_text="R-000042").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports record R-000042")
    expect(page.locator("main")).to_contain_text("live stream reported by a platform")
    expect(page.locator("main")).to_contain_text("A-tip-1")  # the alert resting on it
    page.get_by_role("link", name="A-tip-1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alert A-tip-1")
    trail = [(e.actor, e.action) for e in console.store.audit.trail(SYSTEM, TOP_CASE)]
    assert trail.count(("ana", "case.evidence.read")) >= 2


def test_a_tier_override_with_its_reason_moves_the_case_in_queue_badge_and_filter(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    last = page.locator("table.queue tbody tr").last  # the least severe tier, at the end
    case_id = last.get_attribute("data-case-id")
    assert case_id is not None and case_id != TOP_CASE
    before = console.store.cases.get(case_id, SYSTEM)
    assert before is not None and before.tier is not Tier.LIVE_OR_IMMEDIATE_RISK
    page.goto(console.url + f"/console/cases/{case_id}")

    page.get_by_label("Tier", exact=True).select_option("1")
    page.get_by_role("button", name="Set tier").click()  # no reason: the browser refuses
    expect(page.locator("#tier-changes")).to_have_count(0)
    page.get_by_label("Why this tier").fill("reporter called again: child at risk tonight")
    page.get_by_role("button", name="Set tier").click()
    expect(page.get_by_role("status").filter(has_text="Tier set to 1.")).to_have_text(
        "Tier set to 1."
    )
    expect(page.locator("#case-tier")).to_contain_text("T1")
    expect(page.locator("#case-tier")).to_contain_text(f"alerts give tier {int(before.tier)}")
    changes = page.locator("#tier-changes li")
    expect(changes).to_have_count(1)
    expect(changes).to_contain_text(f"T{int(before.tier)} → T1")
    expect(changes).to_contain_text("child at risk tonight")
    expect(page.locator("#history")).to_contain_text("case.tier_override")

    # The queue's order, its badge and its tier filter all read the overridden tier.
    page.goto(console.url + "/console/queue")
    rows = page.locator("table.queue tbody tr")
    ids = [r.get_attribute("data-case-id") for r in rows.all()]
    badges = [r.locator(".tier").inner_text() for r in rows.all()]
    assert badges[ids.index(case_id)] == "T1"
    assert badges == sorted(badges), "most severe tier first"
    page.get_by_label("Tier", exact=True).select_option("1")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(f'table.queue tbody tr[data-case-id="{case_id}"]')).to_have_count(1)
    assert set(page.locator("table.queue tbody tr .tier").all_inner_texts()) == {"T1"}

    # Rebuilding the case from its alerts keeps the analyst's tier.
    console.store.cases.upsert([before])
    after = console.store.cases.get(case_id, SYSTEM)
    assert after is not None and after.tier is Tier.LIVE_OR_IMMEDIATE_RISK
    assert console.store.audit.verify().ok


def test_my_cases_from_the_menu_shows_the_case_the_analyst_took(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    taken = page.locator("table.queue tbody tr").nth(1).get_attribute("data-case-id")
    page.goto(console.url + f"/console/cases/{taken}")
    page.get_by_role("button", name="Take this case").click()
    expect(page.locator("#case-assignee")).to_have_text("ana")
    mine = {c.case_id for c in console.store.cases.query(SYSTEM) if c.assignee == "ana"}
    assert taken in mine
    page.get_by_role("link", name="My cases").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    expect(page.get_by_label("Assigned to me only")).to_be_checked()
    shown = {r.get_attribute("data-case-id") for r in page.locator("table.queue tbody tr").all()}
    assert shown == mine
    page.get_by_label("Assigned to me only").uncheck()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")
    assert page.locator("table.queue tbody tr").count() > len(mine)


def test_triage_clocks_show_and_duplicates_close_in_bulk(page: Page, console: StoreConsole) -> None:
    sign_in(page, console, "sam")
    expect(page.get_by_role("columnheader", name="Triage due")).to_be_visible()
    expect(page.get_by_test_id("triage-due").first).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    ids = [rows.nth(i).get_attribute("data-case-id") or "" for i in (2, 3)]
    original = rows.nth(1).get_attribute("data-case-id") or ""
    for case_id in ids:
        page.get_by_label(f"Select {case_id}").check()
    page.get_by_label("Of case").fill(original)
    page.get_by_label("Reason", exact=True).fill("same wallet, same stream")
    page.get_by_role("button", name="Close selected as duplicates").click()
    expect(page.get_by_role("status").filter(has_text="Closed 2 case(s)")).to_be_visible()
    stored = {c.case_id: c for c in console.store.cases.query(SYSTEM)}
    assert all(stored[i].status is CaseStatus.CLOSED for i in ids)
    assert stored[original].status is not CaseStatus.CLOSED
    shown = {r.get_attribute("data-case-id") for r in rows.all()}
    assert not shown & set(ids)  # gone from the open queue


def _open_cases(console: StoreConsole) -> list[Case]:
    found = console.store.cases.query(SYSTEM)
    return [c for c in found if c.status is not CaseStatus.CLOSED and not c.assignee]


def test_merge_and_split_with_the_reason_in_both_histories(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "sam")
    single = [c for c in _open_cases(console) if len(c.alert_ids) == 1]
    into, merged = single[-1], single[-2]
    page.goto(f"{console.url}/console/cases/{into.case_id}")
    page.get_by_label("Case to merge in").fill(merged.case_id)
    page.get_by_label("Why they are one case").fill("same wallet, two reports")
    page.get_by_role("button", name="Merge into this case").click()
    expect(page.get_by_role("status").filter(has_text="merged into this case")).to_be_visible()
    expect(page.locator("#case-links")).to_contain_text(f"Merged in from {merged.case_id}")
    history = page.locator("#case-link-history")
    expect(history).to_contain_text("same wallet, two reports")
    page.locator("#case-links").get_by_role("link", name=merged.case_id).click()
    expect(page.locator("#case-status")).to_contain_text("merged")
    expect(page.locator("#case-links")).to_contain_text(f"Merged into {into.case_id}")
    stored = console.store.cases.get(into.case_id, SYSTEM)
    assert stored is not None and set(merged.alert_ids) <= set(stored.alert_ids)

    # Split: the merged-in alert goes out again, into a new case.
    page.goto(f"{console.url}/console/cases/{into.case_id}")
    page.get_by_role("checkbox", name=merged.alert_ids[0]).check()
    page.get_by_label("Why they are a case of their own").fill("a different payer")
    page.get_by_role("button", name="Split into a new case").click()
    new_id = f"{into.case_id}-S1"
    expect(page.get_by_role("status").filter(has_text=new_id)).to_be_visible()
    expect(page.locator("#case-links")).to_contain_text(f"Alerts split out to {new_id}")
    page.locator("#case-links").get_by_role("link", name=new_id).click()
    expect(page.locator("#case-links")).to_contain_text(f"Split out of {into.case_id}")
    expect(page.locator("#case-link-history")).to_contain_text("a different payer")
    trail = [(e.action, e.object_id) for e in console.store.audit.trail(SYSTEM)]
    assert ("case.merge", into.case_id) in trail and ("case.split", into.case_id) in trail


def test_a_case_sent_to_a_team_is_taken_from_the_team_inbox(
    page: Page, console: StoreConsole
) -> None:
    if "payments" not in console.store.teams.of("ana", SYSTEM):
        console.store.teams.add("payments", "ana", SYSTEM)
    sent = _open_cases(console)[-3]
    sign_in(page, console, "sam")
    page.goto(f"{console.url}/console/cases/{sent.case_id}")
    page.get_by_label("Team", exact=True).select_option("payments")
    page.get_by_role("button", name="Send to team").click()
    expect(page.get_by_role("status").filter(has_text="payments team's inbox")).to_be_visible()
    expect(page.locator("#case-team")).to_have_text("payments")

    sign_in(page, console, "ana")
    page.get_by_role("link", name="Team inbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team inbox")
    expect(page.locator("#inbox-teams")).to_contain_text("payments")
    rows = page.locator("table.queue tbody tr")
    assert {r.get_attribute("data-case-id") for r in rows.all()} == {sent.case_id}
    page.get_by_role("button", name=f"Take {sent.case_id}").click()
    expect(page.locator("#case-assignee")).to_have_text("ana")
    page.get_by_role("link", name="Team inbox").click()
    expect(page.get_by_text("No case matches these filters.")).to_be_visible()
    trail = [(e.action, e.object_id) for e in console.store.audit.trail(SYSTEM)]
    assert ("case.team", sent.case_id) in trail


def test_a_referral_keeps_the_export_sent_and_takes_the_reference_later(
    page: Page, console: StoreConsole
) -> None:
    chosen = _open_cases(console)[-4]
    sign_in(page, console, "sam")
    page.goto(f"{console.url}/console/cases/{chosen.case_id}")
    if chosen.status is CaseStatus.NEW:
        page.get_by_role("button", name="Mark as triaged").click()
    page.get_by_label("Agency").fill("PH-PNP-WCPC")
    page.get_by_label("Export sent").select_option("stix")
    page.get_by_role("button", name="Refer to agency").click()
    expect(page.get_by_role("status").filter(has_text="export sent is attached")).to_be_visible()
    referral = console.store.cases.referrals(chosen.case_id, SYSTEM)[-1]
    _, sent = console.store.cases.referral_export(chosen.case_id, referral.referral_id, SYSTEM)
    listed = page.locator("#referrals li").first
    expect(listed).to_contain_text("PH-PNP-WCPC")
    expect(listed.locator(".digest")).to_have_text(referral.digest or "")
    with page.expect_download() as download:
        listed.get_by_role("link", name=referral.filename or "").click()
    assert Path(download.value.path()).read_bytes() == sent  # the exact bytes sent
    listed.get_by_label("Receiver's reference").fill("WCPC-2026-0042")
    listed.get_by_role("button", name="Add reference").click()
    expect(page.locator("#referrals li").first.locator(".reference")).to_have_text("WCPC-2026-0042")
    downloads = [
        e
        for e in console.store.audit.trail(SYSTEM, chosen.case_id)
        if e.action == "case.referral.download"
    ]
    assert len(downloads) == 2  # the test's own read above, and the browser's


def _focused(page: Page) -> str:
    """What has the focus once the page has settled: its tag, id and text (the start)."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => document.activeElement !== document.body")
    return str(
        page.evaluate(
            "() => { const e = document.activeElement;"
            " return `${e.tagName} #${e.id} ${(e.textContent || '').trim().slice(0, 60)}`; }"
        )
    )


def test_after_an_action_focus_returns_to_where_the_analyst_was(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "sam")
    chosen = _open_cases(console)[-5]
    page.goto(f"{console.url}/console/cases/{chosen.case_id}")
    page.get_by_label("Add a note").fill("Called the platform back.")
    page.get_by_role("button", name="Add note").click()
    expect(page).to_have_url(f"{console.url}/console/cases/{chosen.case_id}#note-form")
    # The message is next to the note form and has the focus; one Tab is in the form.
    assert _focused(page).startswith("DIV # Note added.")
    assert page.evaluate("() => document.activeElement.nextElementSibling.id === 'note-form'"), (
        "the message sits just above the form acted on"
    )
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('form').id") == "note-form"

    # A case action further down: focus stays there, not at the top of the page.
    page.get_by_label("Why they are one case").fill("x")
    page.get_by_label("Case to merge in").fill("CASE-NO-SUCH")
    page.get_by_role("button", name="Merge into this case").click()
    assert _focused(page).startswith("DIV # There is no case 'CASE-NO-SUCH'")
    assert page.evaluate("() => document.activeElement.nextElementSibling.id") == "merge-form"

    # The queue: after closing ticked rows, the next row's case link has the focus.
    page.goto(f"{console.url}/console/queue")
    rows = page.locator("table.queue tbody tr")
    ids = [rows.nth(i).get_attribute("data-case-id") or "" for i in range(4)]
    page.get_by_label(f"Select {ids[2]}").check()
    page.get_by_label("Of case").fill(ids[0])
    page.get_by_label("Reason", exact=True).fill("same report twice")
    page.get_by_role("button", name="Close selected as duplicates").click()
    expect(page.get_by_role("status").filter(has_text="Closed 1 case(s)")).to_be_visible()
    focused = page.evaluate("() => document.activeElement.closest('tr')?.dataset.caseId")
    assert focused == ids[3]


def test_queue_rows_lead_with_what_sets_them_apart_and_many_fit_a_screen(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    page.evaluate("() => document.querySelector('table.queue').scrollIntoView()")
    fit = page.evaluate(
        "() => [...document.querySelectorAll('table.queue tbody tr')]"
        ".filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"
    )
    assert fit >= 13  # 10 before the rows were made compact (1366 x 900); 14 on a fresh world
    top = page.locator(f'table.queue tbody tr[data-case-id="{TOP_CASE}"] td.why')
    expect(top.locator(".highlight").first).to_have_text("Live stream")
