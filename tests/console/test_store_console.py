"""The console inside the tipline's ``create_app`` over a real SQLite store: every page
view and action goes through the store and lands in its hash-chained audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from console_world import PASSWORD, TOP_CASE, TOP_PHONE

from conftest import StoreConsole, csrf_of, sign_in, store_console
from daybreak.model.cases import CaseStatus, Outcome
from daybreak.store import SYSTEM


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreConsole]:
    with store_console(tmp_path_factory.mktemp("store-console")) as running:
        yield running


@contextmanager
def signed_in(console: StoreConsole, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=30) as client:
        assert sign_in(client, user).status_code == 303
        yield client


def act(client: httpx.Client, case_id: str, action: str, **fields: str) -> str:
    token = csrf_of(client.get(f"/console/cases/{case_id}").text)
    response = client.post(
        f"/console/cases/{case_id}/{action}", data={"csrf_token": token, **fields}
    )
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"]).text


def test_sign_in_uses_the_store_users_and_is_audited(console: StoreConsole) -> None:
    with httpx.Client(base_url=console.url, timeout=30) as client:
        assert sign_in(client, "ana", "wrong password").status_code == 400
        assert sign_in(client, "platform-bot").status_code == 400
        assert sign_in(client, "ana").status_code == 303
    actions = [(e.actor, e.action) for e in console.store.audit.trail(SYSTEM, "ana")]
    assert ("ana", "console.sign_in") in actions


def test_queue_and_search_read_the_store(console: StoreConsole) -> None:
    with signed_in(console, "ana") as client:
        token = csrf_of(client.get("/console/queue").text)
        posted = client.post("/console/queue", data={"csrf_token": token, "q": TOP_PHONE})
        page = client.get(posted.headers["location"]).text
        assert f'data-case-id="{TOP_CASE}"' in page
        assert page.count("<tr data-case-id=") == 1
    listed = [e for e in console.store.audit.trail(SYSTEM) if e.action == "case.list"]
    assert listed and listed[-1].actor == "ana"


def test_actions_go_through_the_store_workflow_and_audit_chain(console: StoreConsole) -> None:
    case_id = "CASE-0002"
    with signed_in(console, "sam") as sam, signed_in(console, "ana") as ana:
        assert "Case assigned to ana." in act(sam, case_id, "assign", assignee="ana")
        assert "Note added." in act(ana, case_id, "note", text="spoke to the platform")
        assert "Case escalated." in act(ana, case_id, "escalate", reason="second report")
        page = act(ana, case_id, "close", outcome="child_safeguarded", reason="done")
        assert "Case closed: child safeguarded." in page
        assert "spoke to the platform" in page  # the note, decrypted from the store
        refused = act(ana, case_id, "escalate", reason="again")
        assert "cannot move a closed case to escalated" in refused
    case = console.store.cases.get(case_id, SYSTEM)
    assert case is not None
    assert case.status is CaseStatus.CLOSED and case.outcome is Outcome.CHILD_SAFEGUARDED
    assert case.assignee == "ana"
    trail = [(e.actor, e.action) for e in console.store.audit.trail(SYSTEM, case_id)]
    for expected in [
        ("sam", "case.read"),
        ("sam", "case.transition"),
        ("ana", "case.note"),
        ("ana", "case.transition"),
    ]:
        assert expected in trail
    assert [s.to_status for s in console.store.cases.history(SYSTEM, case_id)] == [
        CaseStatus.NEW,  # created by the upsert
        CaseStatus.ASSIGNED,
        CaseStatus.ESCALATED,
        CaseStatus.CLOSED,
    ]
    assert console.store.audit.verify().ok


def test_case_history_on_the_page_comes_from_the_audit_log(console: StoreConsole) -> None:
    with signed_in(console, "ana") as ana:
        page = act(ana, "CASE-0003", "triage")
    history = page[page.index('id="history"') :]
    assert "case.transition" in history and "to triaged" in history


def test_dashboards_over_the_store(console: StoreConsole, tmp_path: Path) -> None:
    with signed_in(console, "sam") as sam:
        page = sam.get("/console/dashboards").text
    assert "Cases by typology" in page and "Where cases are routed" in page
    assert "Philippines (PH)" in page


def test_inside_the_api_app_anonymous_visitors_are_sent_to_sign_in(console: StoreConsole) -> None:
    with httpx.Client(base_url=console.url, timeout=30) as client:
        response = client.get(f"/console/cases/{TOP_CASE}")
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The API's own routes keep their JSON errors and are not given the console's CSP.
        api = client.get("/v1/cases")
        assert api.status_code in (401, 403, 404)
        assert "content-security-policy" not in api.headers


def test_revoking_or_disabling_an_account_ends_its_console_sessions(console: StoreConsole) -> None:
    # Console sessions live in the server's memory; the account's epoch in the store
    # reaches them on their next request, whichever process revoked the account.
    with signed_in(console, "ana") as client:
        assert client.get("/console/queue").status_code == 200
        console.store.accounts.revoke("ana")
        ended = client.get("/console/queue", follow_redirects=False)
        assert ended.status_code == 303 and ended.headers["location"] == "/console/sign-in"
    with signed_in(console, "ana") as client:
        console.store.accounts.set_disabled("ana", True)
        try:
            assert client.get("/console/queue", follow_redirects=False).status_code == 303
            assert sign_in(client, "ana").status_code == 400
        finally:
            console.store.accounts.set_disabled("ana", False)


def test_a_report_received_through_the_api_opens_from_the_case(console: StoreConsole) -> None:
    from daybreak.tipline.intake import ReportIn

    report = ReportIn.model_validate(
        {
            "reporter": {"type": "hotline"},
            "incident_type": "live_streaming_abuse",
            "is_live": False,
            "occurred_at": "2026-11-19T21:00:00Z",
            "service": "examplestream",
            "victim": {"age_estimate": 10, "country": "PH"},
            "description": "A caller saw a paid stream with a child on examplestream.",
        }
    )
    receipt = console.store.reports.add(report, SYSTEM, source="api")
    case_id = "CASE-0007"
    case = console.store.cases.get(case_id, SYSTEM)
    assert case is not None
    console.store.cases.upsert([case.model_copy(update={"report_ids": [receipt.report_id]})])
    with signed_in(console, "ana") as client:
        url = f"/console/cases/{case_id}/evidence/reports/{receipt.report_id}"
        assert f'href="{url}"' in client.get(f"/console/cases/{case_id}").text
        record = client.get(url)
    assert record.status_code == 200
    for shown in [
        "A caller saw a paid stream with a child on examplestream.",
        "<dt>Reporter type</dt><dd>hotline</dd>",
        "<dt>Service</dt><dd>examplestream</dd>",
        "<dt>Occurred</dt><dd>2026-11-19 21:00 UTC</dd>",
        "<dt>Victim age (estimate)</dt><dd>10</dd>",
        "<dt>Victim country</dt><dd>PH</dd>",
    ]:
        assert shown in record.text, shown
    trail = [(e.actor, e.action) for e in console.store.audit.trail(SYSTEM, case_id)]
    assert ("ana", "case.evidence.read") in trail
    assert console.store.audit.verify().ok


@pytest.fixture
def store_banks(console: StoreConsole, tmp_path: Path) -> Iterator[Path]:
    """The console's banks over the console's store, in a folder of this test."""
    from daybreak.console.manage import Manage

    state = console.app.state.daybreak_console
    before = state.manage
    state.manage = Manage.over_store(console.store, tmp_path / "banks")
    assert state.manage.banks is not None
    state.manage.banks.create("store-list", source="test")
    yield tmp_path / "banks"
    state.manage = before


@pytest.mark.parametrize(
    ("path", "fields", "status", "shown"),
    [
        ("toggle", {"bank": "b" * 65, "enabled": "false"}, 400, "&#39;bank&#39;"),
        ("toggle", {"bank": "store-list", "enabled": "x" * 6}, 400, "&#39;enabled&#39;"),
        ("remove", {"bank": "b" * 5000, "hash_type": "sha256"}, 400, "&#39;bank&#39;"),
        ("remove", {"bank": "store-list", "value": "0" * 201}, 400, "&#39;value&#39;"),
        ("add", {"bank": "store-list", "value": "0" * 64, "labels": "l" * 201}, 400, "labels"),
        ("toggle", {"bank": "../../etc", "enabled": "false"}, 400, "&#39;bank&#39;: bank"),
        ("toggle", {"bank": "store-list", "enabled": "maybe"}, 400, "true or false"),
        ("add", {"bank": "a/b", "hash_type": "md5", "value": "0" * 32}, 400, "Invalid field"),
        ("toggle", {"bank": "no-such-list", "enabled": "false"}, 200, "no bank named"),
        ("remove", {"bank": "store-list", "hash_type": "nope", "value": "0"}, 200, "not in"),
        ("add", {"bank": "store-list", "hash_type": "md5", "value": "zz"}, 200, "hexadecimal"),
    ],
)
def test_bad_bank_fields_are_refused_clearly_over_the_store(
    console: StoreConsole,
    store_banks: Path,
    path: str,
    fields: dict[str, str],
    status: int,
    shown: str,
) -> None:
    """Issue #18 item 7: over-long fields answered 500; now 400 naming the field, and a
    malformed one a message on the page (after the redirect), never a 500."""
    with signed_in(console, "sam") as client:
        token = csrf_of(client.get("/console/banks").text)
        response = client.post(
            f"/console/banks/{path}", data={"csrf_token": token, **fields}, follow_redirects=True
        )
        assert response.status_code == status, response.text
        assert shown in response.text
        banks = console.app.state.daybreak_console.manage.banks
        assert banks.get("store-list").version == 1  # unchanged
        assert client.get("/console/banks").status_code == 200


def test_a_console_toggle_keeps_a_bank_another_store_created_and_is_audited(
    console: StoreConsole, store_banks: Path
) -> None:
    from daybreak.store import TiplineStore

    with TiplineStore(console.store.url, console.store.keys) as cli_store:
        cli_store.banks.open(store_banks, SYSTEM).create("from-cli", source="cli")
    with signed_in(console, "sam") as client:
        token = csrf_of(client.get("/console/banks").text)
        response = client.post(
            "/console/banks/toggle",
            data={"csrf_token": token, "bank": "store-list", "enabled": "false"},
        )
        assert response.status_code == 303
        page = client.get("/console/banks").text
        assert "from-cli" in page and "Bank store-list disabled" in page
    banks = console.store.banks.open(store_banks, SYSTEM)
    assert {b.name for b in banks.banks()} == {"store-list", "from-cli"}
    assert banks.get("store-list").enabled is False
    trail = [(e.actor, e.action, e.object_id) for e in console.store.audit.trail(SYSTEM)]
    assert ("console:sam", "bank.update", "store-list") in trail


def test_bank_pages_act_for_the_signed_in_users_organisation(
    console: StoreConsole, store_banks: Path
) -> None:
    """A supervisor of another organisation sees and changes that organisation's banks,
    never the default organisation's (#18: the console acted for "default")."""
    from daybreak.store import Role
    from daybreak.store.auth import operator_in

    store = console.store
    if "acme" not in {o.org_id for o in store.organisations.listing()}:
        store.organisations.create("acme", "Acme hotline")
        store.accounts.create("sara", PASSWORD, Role.SUPERVISOR, org_id="acme")
    store.banks.open(store_banks, operator_in("acme")).create("acme-list", source="test")
    default_list = store.banks.open(store_banks, SYSTEM).get("store-list")
    with signed_in(console, "sara") as client:
        page = client.get("/console/banks").text
        assert "acme-list" in page and "store-list" not in page
        token = csrf_of(page)
        response = client.post(
            "/console/banks/toggle",
            data={"csrf_token": token, "bank": "store-list", "enabled": "false"},
            follow_redirects=True,
        )
        assert "no bank named" in response.text  # the default organisation's: unknown
        response = client.post(
            "/console/banks/toggle",
            data={"csrf_token": token, "bank": "acme-list", "enabled": "false"},
        )
        assert response.status_code == 303
    assert store.banks.open(store_banks, operator_in("acme")).get("acme-list").enabled is False
    assert store.banks.open(store_banks, SYSTEM).get("store-list") == default_list  # untouched
    with signed_in(console, "sam") as client:
        page = client.get("/console/banks").text
        assert "store-list" in page and "acme-list" not in page


def test_a_sign_in_over_the_hashing_budget_says_so(console: StoreConsole) -> None:
    from daybreak.store import LoginGuard

    accounts = console.store.accounts
    before = accounts.login_guard
    accounts.login_guard = LoginGuard(
        per_address_per_minute=0, hashes_per_minute=12, clock=lambda: 0.0
    )
    try:
        with httpx.Client(base_url=console.url, timeout=30) as client:
            assert sign_in(client, "ana", "wrong password").status_code == 400  # checked
            refused = sign_in(client, "ana")  # the budget's burst of one is spent
            assert refused.status_code == 400
            assert "refusing sign-ins for a moment" in refused.text
    finally:
        accounts.login_guard.close()
        accounts.login_guard = before
