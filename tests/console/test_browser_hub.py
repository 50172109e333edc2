"""Hub cases in real Chromium (issue #15): the hub page's banner and its paged list of
sub-cases, a sub-case naming its hub with a working link, and the exports a hub without
alerts of its own offers (and why not the others), all reached with the keyboard.

The app and the browser as in test_browser.py (its fixtures): the tipline's
``create_app`` over a real SQLite store holding the hub and its 60 sub-cases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_browser
from playwright.sync_api import Locator, Page, expect
from test_browser import sign_in
from test_hub_case_page import HUB_ID, SUBS, hub_cases

from conftest import StoreConsole, store_console

pytestmark = pytest.mark.browser

# test_browser.py's Chromium (one for the module) and its page that fails on console
# errors, CSP violations and requests off loopback.
browser = test_browser.browser
problems = test_browser.problems
page = test_browser.page


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    standards = Path(__file__).resolve().parents[3] / "shared" / "standards"
    with store_console(
        tmp_path_factory.mktemp("browser-hub"), standards if standards.is_dir() else None
    ) as running:
        running.app.state.daybreak_console.secure_cookies = True  # as in test_browser.py
        hub, subs = hub_cases()
        running.store.cases.upsert([hub, *subs])
        yield running


def tab_to(page: Page, target: Locator, limit: int = 150) -> int:
    """Press Tab until ``target`` has the focus; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} not reached in {limit} Tab presses")


def sub_case_ids(page: Page) -> list[str]:
    links = page.locator("#sub-cases table.sub-cases tbody tr td a")
    return [re.sub(r"\s.*", "", text) for text in links.all_inner_texts()]


def test_hub_page_banner_and_sub_cases_paged_with_the_keyboard(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    page.goto(f"{console.url}/console/cases/{HUB_ID}")
    section = page.locator("#sub-cases")
    expect(section.get_by_role("heading", level=2)).to_contain_text(f"Sub-cases {SUBS}")
    expect(section.locator(".hint").first).to_contain_text(
        "This hub case holds payment_handle:gcash:+639170000000"
    )
    rows = section.locator("table.sub-cases tbody tr")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("CASE-SUB0000007")  # the tier-1 sub-case first
    expect(rows.first).to_contain_text("T1")
    pager = section.get_by_role("navigation", name="Sub-cases pages")
    expect(pager).to_contain_text(f"Sub-cases 1–50 of {SUBS} (page 1 of 2)")
    first_page = sub_case_ids(page)

    # The table of contents leads to the list, and the pager is reached with Tab.
    tab_to(page, page.get_by_role("link", name="Sub-cases", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#sub-cases$"))
    next_page = pager.get_by_role("link", name="Next sub-cases")
    tab_to(page, next_page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sub_cases_page=2#sub-cases$"))
    expect(rows).to_have_count(SUBS - 50)
    expect(pager).to_contain_text(f"Sub-cases 51–{SUBS} of {SUBS} (page 2 of 2)")
    second_page = sub_case_ids(page)
    assert len(set(first_page) | set(second_page)) == SUBS
    expect(pager.get_by_role("link", name="Next sub-cases")).to_have_count(0)
    expect(pager.get_by_role("link", name="Previous sub-cases")).to_be_visible()


def test_a_sub_case_names_its_hub_with_a_link_that_works(page: Page, console: StoreConsole) -> None:
    sign_in(page, console, "ana")
    page.goto(f"{console.url}/console/cases/CASE-SUB0000003")
    banner = page.locator("#hub-parent")
    expect(banner).to_contain_text(f"Sub-case of hub case {HUB_ID}")
    expect(banner).to_contain_text("it is read and worked on its own")
    expect(page.locator("#sub-cases")).to_have_count(0)  # a sub-case lists none
    hub_link = banner.get_by_role("link", name=HUB_ID)
    tab_to(page, hub_link)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{console.url}/console/cases/{HUB_ID}")
    expect(page.locator("#sub-cases table.sub-cases tbody tr")).to_have_count(50)


def test_a_hub_without_alerts_offers_its_case_json_and_says_why_not_the_others(
    page: Page, console: StoreConsole
) -> None:
    sign_in(page, console, "ana")
    page.goto(f"{console.url}/console/cases/{HUB_ID}")
    # The page's script loads the export check into the exports panel.
    check = page.locator("#export-check .export-check")
    expect(check).to_have_attribute("data-check-loaded", "1", timeout=60_000)
    for fmt in ("goaml", "cybertip"):
        section = check.locator(f'section[data-format="{fmt}"]')
        expect(section.locator(".check-blocker")).to_have_text("cannot be made")
        expect(section).to_contain_text(f"no alerts of its own: file from its {SUBS} sub-case(s)")
        expect(section.locator("a")).to_have_count(0)  # not offered
    case_json = check.locator('section[data-format="case_json"] a[data-format="case_json"]')
    expect(case_json).to_be_visible()
    tab_to(page, case_json, limit=300)
    with page.expect_download(timeout=60_000) as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename.startswith(HUB_ID)
    assert "CASE-SUB0000059" in Path(download.path()).read_text(encoding="utf-8")
