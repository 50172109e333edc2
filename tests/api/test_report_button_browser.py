"""The embeddable report / panic button in real Chromium (Debian's, driven by
Playwright, never downloaded), posting to a live server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_server import Api
from playwright.sync_api import Page, expect, sync_playwright

from daybreak.store import Actor, Role

pytestmark = pytest.mark.browser
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.fixture
def page(chromium_path: str) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def _live_reports(api: Api) -> list[str]:
    analyst = Actor("ana", Role.ANALYST)
    return [
        r.report_id
        for r in api.store.reports.by_ids(api.store.reports.ids(), analyst)
        if r.report.is_live and r.report.service == "examplestream"
    ]


def test_panic_button_files_a_tier_1_report(api: Api, page: Page) -> None:
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(api.url) else outside.append(r.url))
    before = set(_live_reports(api))
    page.goto(f"{api.url}/static/report-button.html#key={api.platform_key}")
    page.get_by_role("button", name="Child in danger NOW").click()
    expect(page.get_by_role("status")).to_contain_text("Thank you", timeout=20_000)
    new = set(_live_reports(api)) - before
    assert len(new) == 1
    stored = api.store.reports.get(new.pop(), Actor("ana", Role.ANALYST))
    assert stored is not None and stored.tier == 1
    assert stored.report.reported_accounts[0].account_id == "u-1001"  # from the page's context
    assert outside == []


def test_report_dialog_sends_what_the_viewer_typed(api: Api, page: Page) -> None:
    page.goto(f"{api.url}/static/report-button.html#key={api.platform_key}")
    page.get_by_role("button", name="Report", exact=True).click()
    page.get_by_label("What is happening?").select_option("sextortion")
    page.get_by_placeholder("What did you see?").fill("Threats in chat, synthetic test.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("status")).to_contain_text("reference R-")
    ref = page.get_by_role("status").inner_text().split("reference ")[1].rstrip(").")
    stored = api.store.reports.get(ref, Actor("ana", Role.ANALYST))
    assert stored is not None
    assert stored.report.incident_type.value == "sextortion"
    assert stored.report.description == "Threats in chat, synthetic test."
