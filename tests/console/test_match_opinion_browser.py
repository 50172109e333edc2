"""In real Chromium: on a case page, a hash-list match whose hash came from an exchange
offers "Confirm match" and "Not a match (false positive)"; clicking one queues the
analyst's opinion for that exchange (store.exchanges, the path ``daybreak media exchange
sync`` delivers, retries and dead-letters), audited, with a flash saying what goes to
whom. A match from a bank no exchange fills offers neither."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from console_world import NOW
from playwright.sync_api import Page, expect
from test_browser import browser, page, problems, sign_in  # noqa: F401  (fixtures)

from conftest import StoreConsole, store_console
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import Case
from daybreak.store import SYSTEM
from daybreak.store.auth import Actor, Role
from daybreak.store.repositories.exchanges import ItemHash

pytestmark = pytest.mark.browser

CASE_ID = "CASE-TX-0001"
LISTED = hashlib.sha256(b"exchange-listed benign hash").hexdigest()  # a PDQ's 64 hex
OWN = hashlib.sha256(b"own-bank benign hash").hexdigest()
OPS = Actor("ops", Role.ADMIN)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    with store_console(tmp_path_factory.mktemp("match-opinion")) as running:
        running.app.state.daybreak_console.secure_cookies = True
        _exchange_listed_case(running)
        yield running


def _exchange_listed_case(console: StoreConsole) -> None:
    """A ThreatExchange exchange whose stored item lists LISTED (as a sync leaves it),
    and a case whose media alert matched LISTED (in the exchange's bank) and OWN (in a
    bank of the organisation's own)."""
    store = console.store
    store.exchanges.add(OPS, "tx", "fb_threatexchange", "tx-pdq", {"privacy_group": 1234}, "TX_T")
    item = {'["HASH_PDQ", "x"]': [ItemHash("pdq", LISTED, "901")]}
    store.exchanges.commit_page(OPS, "tx", item, '{"update_time": 1}')
    matches = (
        HashMatch(sighting_id="M-77", hash_type="pdq", bank="tx-pdq", listed_hash=LISTED,
                  distance=6, threshold=31),
        HashMatch(sighting_id="M-77", hash_type="pdq", bank="own-list", listed_hash=OWN,
                  distance=0, threshold=31),
    )  # fmt: skip
    alert = Alert(
        alert_id="A-tx-1",
        detector="media",
        subject_type="media",
        subject_id="M-77",
        score=1.0,
        explanation="PDQ match on a shared list",
        evidence_source="media_sightings",
        hash_matches=matches,
        first_seen=NOW,
    )
    case = Case(case_id=CASE_ID, title="Exchange-listed match", priority=0.9,
                alert_ids=[alert.alert_id], alerts=[alert], created_at=NOW)  # fmt: skip
    store.cases.upsert([case])
    backend = console.app.state.daybreak_console.backend
    backend.configure(alerts=[*backend.alerts_source, alert])


def _open_alert(on: Page) -> None:
    on.locator("summary", has_text="A-tx-1").click()


def test_an_analyst_says_not_a_match_and_the_opinion_is_queued_for_the_exchange(
    page: Page,  # noqa: F811
    console: StoreConsole,
) -> None:
    sign_in(page, console, "ana")
    page.goto(f"{console.url}/console/cases/{CASE_ID}")
    _open_alert(page)
    rows = page.locator(".hash-match-list li")
    expect(rows).to_have_count(2)
    own = rows.filter(has_text="own-list")
    expect(own.get_by_role("button")).to_have_count(0)  # no exchange to tell
    listed = rows.filter(has_text="tx-pdq")
    expect(listed).to_contain_text("Listed by exchange tx (fb_threatexchange)")
    listed.get_by_role("button", name="Not a match (false positive)").click()
    flash = page.get_by_role("status").filter(has_text="Not a match (false positive) on pdq")
    expect(flash).to_contain_text("queued for tx (fb_threatexchange)")
    expect(flash).to_contain_text("a NOT_HELPFUL reaction on the listing descriptor")
    (opinion,) = console.store.exchanges.opinions(OPS)
    assert (opinion.exchange, opinion.hash_type, opinion.hash) == ("tx", "pdq", LISTED)
    assert (opinion.verdict, opinion.case_id, opinion.actor, opinion.state) == (
        "false_positive", CASE_ID, "ana", "queued",
    )  # fmt: skip
    audited = [e for e in console.store.audit.trail(SYSTEM) if e.action == "exchange.opinion"]
    assert audited[-1].actor == "ana" and audited[-1].detail["verdict"] == "false_positive"
    assert audited[-1].object_id == CASE_ID  # in the case's own history
    expect(page.locator("#history")).to_contain_text("exchange.opinion")
    # the page shows the opinion given; the same verdict again queues nothing new
    _open_alert(page)
    expect(listed).to_contain_text("Given in this case: false positive to tx (queued)")
    listed.get_by_role("button", name="Not a match (false positive)").click()
    expect(page.get_by_role("status").filter(has_text="already")).to_be_visible()
    assert len(console.store.exchanges.opinions(OPS)) == 1
    # a supervisor confirms it instead: a second opinion, a HELPFUL reaction
    sign_in(page, console, "sam")
    page.goto(f"{console.url}/console/cases/{CASE_ID}")
    _open_alert(page)
    listed.get_by_role("button", name="Confirm match").click()
    expect(page.get_by_role("status").filter(has_text="Confirmed match")).to_contain_text(
        "a HELPFUL reaction"
    )
    verdicts = [(o.verdict, o.actor) for o in console.store.exchanges.opinions(OPS)]
    assert verdicts == [("false_positive", "ana"), ("true_positive", "sam")]
