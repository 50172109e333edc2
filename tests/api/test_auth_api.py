"""Sign-in and credentials over HTTP (#18, Authentication): one lockout for the API and
the console, the per-address limit, the cap on concurrent password checks, revocation
and expiry that hold at once, Secure cookies by default, no CDN-loaded docs, nosniff and
no-store on JSON, identifier searches by POST.

Each test runs its own server (its own settings and store), so the lockouts and
address limits it provokes touch no other test."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import PASSWORD
from sqlalchemy import update
from test_intake_api import GOOD

from daybreak.api import Settings
from daybreak.cli.server import create_app  # the API with the console mounted, as served
from daybreak.model.cases import Case, Tier
from daybreak.store import SYSTEM, Keyring, LoginGuard, Role, TiplineStore, auth
from daybreak.store.auth import MAX_FAILURES
from daybreak.store.keys import generate_key
from daybreak.store.tables import api_keys
from live_server import serve_in_thread

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WRONG = "not the right password"


@dataclass
class Served:
    url: str
    store: TiplineStore
    db_url: str
    keys: Keyring
    platform_key: str

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def other_process(self) -> TiplineStore:
        """A second store on the same database: another server process or the CLI."""
        return TiplineStore(self.db_url, self.keys)


@contextmanager
def served(tmp_path: Path, **settings: Any) -> Iterator[Served]:
    db_url = f"sqlite+pysqlite:///{tmp_path / 'auth.db'}"
    keys = Keyring.from_text(generate_key())
    store = TiplineStore(db_url, keys)
    for name, role in (("ana", Role.ANALYST), ("bob", Role.ANALYST), ("sue", Role.SUPERVISOR)):
        store.accounts.create(name, PASSWORD, role)
    platform_key = store.api_keys.create("acme", Role.PLATFORM)
    # Sign-ins back to back: no hashing budget unless the test sets one.
    settings.setdefault("login_hashes_per_minute", 0)
    app = create_app(Settings(data_dir=tmp_path, **settings), store)
    url, stop = serve_in_thread(app)
    try:
        yield Served(url, store, db_url, keys, platform_key)
    finally:
        stop()
        store.close()


def api_login(c: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
    return c.post("/v1/auth/login", json={"username": user, "password": password})


def console_sign_in(c: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
    page = c.get("/console/sign-in")
    found = CSRF.search(page.text)
    assert found
    return c.post(
        "/console/sign-in",
        data={"username": user, "password": password, "csrf_token": found.group(1)},
    )


# ---- item 1: throttling ---------------------------------------------------------------


def test_thirty_wrong_passwords_then_the_right_one_is_refused(tmp_path: Path) -> None:
    # The attack: before, the 31st request (the right password) got a 200.
    with served(tmp_path, login_rate_per_minute=0, cookie_secure=False) as s, s.client() as c:
        codes = [api_login(c, "ana", WRONG).status_code for _ in range(30)]
        assert codes[:MAX_FAILURES] == [401] * MAX_FAILURES
        assert set(codes[MAX_FAILURES:]) == {429}
        right = api_login(c, "ana", PASSWORD)
        assert right.status_code == 429, right.text
        assert int(right.headers["retry-after"]) >= 1
        assert "daybreak_session" not in right.headers.get("set-cookie", "")
        assert c.get("/v1/cases").status_code == 401
        failed = [e for e in s.store.audit.trail(SYSTEM, "ana") if e.action == "login.failed"]
        assert len(failed) == MAX_FAILURES  # checked and counted; the rest were refused
        assert WRONG not in repr(s.store.audit.trail(SYSTEM))


def test_one_lockout_for_the_api_and_the_console(tmp_path: Path) -> None:
    with served(tmp_path, login_rate_per_minute=0, cookie_secure=False) as s:
        with s.client() as browser:  # failures in the console lock the API...
            for _ in range(MAX_FAILURES):
                assert console_sign_in(browser, "ana", WRONG).status_code == 400
        with s.client() as c:
            assert api_login(c, "ana").status_code == 429
            for _ in range(MAX_FAILURES):  # ...and failures on the API lock the console
                assert api_login(c, "bob", WRONG).status_code == 401
        with s.client() as browser:
            page = console_sign_in(browser, "bob")
            assert page.status_code == 400 and "Too many failed attempts" in page.text
            assert console_sign_in(browser, "sue").status_code == 303  # others unaffected
        channels = {
            e.detail["channel"] for e in s.store.audit.trail(SYSTEM) if e.action == "login.failed"
        }
        assert channels == {"api", "console"}


def test_one_address_gets_a_few_attempts_a_minute(tmp_path: Path) -> None:
    with served(tmp_path, login_rate_per_minute=3, cookie_secure=False) as s, s.client() as c:
        assert [api_login(c, "ana", WRONG).status_code for _ in range(3)] == [401] * 3
        refused = api_login(c, "sue")  # another account, same address
        assert refused.status_code == 429 and "address" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1


def test_logins_over_the_hashing_cap_get_429_at_once_and_intake_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    fast = auth.password_hasher()

    class SlowHasher:
        def verify(self, stored: str, password: str) -> bool:
            entered.set()
            release.wait(20)
            return fast.verify(stored, password)

        def hash(self, password: str) -> str:
            return fast.hash(password)

    with (
        served(tmp_path, max_concurrent_logins=1, cookie_secure=False) as s,
        auth.passwords_hashed_with(SlowHasher()),
    ):
        first: list[int] = []

        def sign_in_slowly() -> None:
            with s.client() as c:
                first.append(api_login(c, "ana").status_code)

        holder = threading.Thread(target=sign_in_slowly)
        holder.start()
        try:
            assert entered.wait(20)
            with s.client() as c:
                busy = api_login(c, "sue")
                assert busy.status_code == 429 and "busy" in busy.json()["detail"]
            # refused while the slot is still held (it is released only below): not queued
            assert holder.is_alive() and not release.is_set()
            with s.client(s.platform_key) as platform:
                assert platform.post("/v1/reports", json=GOOD).status_code == 202
        finally:
            release.set()
            holder.join(20)
        assert first == [200]


def test_a_flood_over_the_hashing_budget_is_refused_unhashed_and_ana_signs_in_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Wrong-password sign-ins with no per-address limit (a flood from many addresses
    looks the same to it): past the budget each gets 429 with Retry-After and no
    password is hashed; once the flood stops and the budget refills, ana signs in."""
    fast = auth.password_hasher()
    checked: list[str] = []

    class CountingHasher:
        def verify(self, stored: str, password: str) -> bool:
            checked.append(password)
            return fast.verify(stored, password)

        def hash(self, password: str) -> str:
            return fast.hash(password)

    now = [0.0]
    with (
        served(tmp_path, login_rate_per_minute=0, cookie_secure=False) as s,
        auth.passwords_hashed_with(CountingHasher()),
    ):
        s.store.accounts.login_guard = LoginGuard(
            per_address_per_minute=0, hashes_per_minute=12, clock=lambda: now[0]
        )  # 12 a minute: a burst of one, then one every 5 s of this clock

        def wrong(n: int) -> httpx.Response:
            with s.client() as c:
                return c.post("/v1/auth/login", json={"username": f"x{n}", "password": WRONG})

        with ThreadPoolExecutor(8) as pool:  # the refusals' 1 s pauses overlap
            answers = list(pool.map(wrong, range(8)))
        codes = sorted(a.status_code for a in answers)
        assert codes == [401] + [429] * 7
        assert all(a.headers["retry-after"] == "6" for a in answers if a.status_code == 429)
        assert len(checked) == 1  # one password check for eight attempts
        with s.client() as c:
            assert api_login(c, "ana").status_code == 429  # still spent: the clock stands
            now[0] += 5.0  # the flood has stopped; the budget refills
            assert api_login(c, "ana").status_code == 200
            assert not [e for e in s.store.audit.trail(SYSTEM) if e.action == "login.refused"]
            now[0] += 60.0  # a minute on, the next sign-in writes the minute's tally
            assert api_login(c, "ana").status_code == 200
        tally = [e for e in s.store.audit.trail(SYSTEM) if e.action == "login.refused"]
        assert [e.detail for e in tally] == [{"budget/api": 8}]  # one entry for 8 refusals


def test_while_the_budget_is_spent_sign_ins_are_refused_before_their_body_is_read(
    tmp_path: Path,
) -> None:
    """The early refusal (daybreak.api.login_fast): once the budget said until when it
    is spent, a sign-in is answered 429 without reading its body (a body that is not
    even JSON gets 429, not 422), with the same Retry-After and headers, no password
    checked, and still counted in the minute's audited tally."""
    now = [0.0]
    with served(tmp_path, login_rate_per_minute=0, cookie_secure=False) as s:
        s.store.accounts.login_guard = LoginGuard(
            per_address_per_minute=0, hashes_per_minute=12, clock=lambda: now[0]
        )
        with s.client() as c:
            garbled = {"content": b"{not json", "headers": {"content-type": "application/json"}}
            assert c.post("/v1/auth/login", **garbled).status_code == 422  # not spent: parsed
            assert api_login(c, "ana", WRONG).status_code == 401  # the burst of one
            first = api_login(c, "ana")  # spent: refused by the guard, which learns until when
            assert first.status_code == 429
            early = c.post("/v1/auth/login", **garbled)
            assert early.status_code == 429
            assert early.json() == first.json()
            assert early.headers["retry-after"] == first.headers["retry-after"] == "6"
            assert early.headers["x-content-type-options"] == "nosniff"
            assert early.headers["cache-control"] == "no-store"
            now[0] += 5.0  # refilled: the whole way again
            assert c.post("/v1/auth/login", **garbled).status_code == 422
            assert api_login(c, "ana").status_code == 200
            now[0] += 60.0
            assert api_login(c, "ana").status_code == 200  # writes the minute's tally
        tally = [e for e in s.store.audit.trail(SYSTEM) if e.action == "login.refused"]
        assert [e.detail for e in tally] == [{"budget/api": 2}]


# ---- item 2: revocation and expiry hold at once ------------------------------------------


def test_a_revoked_key_is_refused_on_its_next_use(tmp_path: Path) -> None:
    # Before, a cache kept a revoked key working for up to 30 s in each process.
    with served(tmp_path) as s, s.client(s.platform_key) as c:
        assert c.post("/v1/reports", json=GOOD).status_code == 202
        cli = s.other_process()
        try:
            assert cli.api_keys.revoke(s.platform_key.split("_")[1])
        finally:
            cli.close()
        assert c.post("/v1/reports", json=GOOD).status_code == 401


def test_an_expired_key_is_refused(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        key = s.store.api_keys.create("acme-2", Role.PLATFORM, expires_at=tomorrow)
        with s.client(key) as c:
            assert c.post("/v1/reports", json=GOOD).status_code == 202
            with s.store.engine.begin() as conn:  # the day passes
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == key.split("_")[1])
                    .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
                )
            assert c.post("/v1/reports", json=GOOD).status_code == 401


def test_revoking_a_user_ends_their_sessions_and_keys(tmp_path: Path) -> None:
    with served(tmp_path, cookie_secure=False) as s:
        owned = s.store.api_keys.create("ana's script", Role.ANALYST, owner="ana")
        with s.client() as session, s.client(owned) as script:
            assert api_login(session, "ana").status_code == 200
            assert session.get("/v1/auth/me").status_code == 200
            assert script.get("/v1/cases").status_code == 200
            cli = s.other_process()
            try:
                assert cli.accounts.revoke("ana") == (1, 1)
            finally:
                cli.close()
            assert session.get("/v1/auth/me").status_code == 401
            assert script.get("/v1/cases").status_code == 401


def test_an_analyst_may_not_close_a_case_another_analyst_holds(tmp_path: Path) -> None:
    case = Case(case_id="C-held", title="held", priority=0.5, tier=Tier.KNOWN_OFFENDER_ACCESS)
    with served(tmp_path, cookie_secure=False) as s:
        s.store.cases.upsert([case])
        with s.client() as sue:
            assert api_login(sue, "sue").status_code == 200
            assign = {"to": "assigned", "assignee": "bob"}
            assert sue.post("/v1/cases/C-held/transition", json=assign).status_code == 200
        close = {"to": "closed", "outcome": "duplicate"}
        with s.client() as ana:
            assert api_login(ana, "ana").status_code == 200
            refused = ana.post("/v1/cases/C-held/transition", json=close)
            assert refused.status_code == 403 and "assigned to bob" in refused.text
        with s.client() as bob:
            assert api_login(bob, "bob").status_code == 200
            assert bob.post("/v1/cases/C-held/transition", json=close).status_code == 200


# ---- item 3: cookies, docs, headers, searches ----------------------------------------------


def test_session_cookies_are_secure_by_default(tmp_path: Path) -> None:
    assert Settings().cookie_secure is True
    with served(tmp_path) as s, s.client() as c:
        response = api_login(c, "ana")
        assert response.status_code == 200
        cookie = response.headers["set-cookie"].lower()
        for flag in ("secure", "httponly", "samesite=strict"):
            assert flag in cookie
        console = c.get("/console/sign-in").headers["set-cookie"].lower()
        assert "secure" in console


def test_no_docs_pages_from_a_cdn_but_the_openapi_document(tmp_path: Path) -> None:
    with served(tmp_path) as s, s.client() as c:
        assert c.get("/docs").status_code == 404
        assert c.get("/redoc").status_code == 404
        spec = c.get("/openapi.json")
        assert spec.status_code == 200 and "/v1/reports" in spec.json()["paths"]
        assert "cdn" not in spec.text.lower()


def test_json_responses_are_nosniff_and_not_stored(tmp_path: Path) -> None:
    with served(tmp_path) as s, s.client(s.platform_key) as c:
        responses = {
            "health": c.get("/healthz"),
            "accepted (intake fast path)": c.post("/v1/reports", json=GOOD),
            "invalid": c.post("/v1/reports", json={"nope": 1}),
            "unauthenticated": httpx.get(f"{s.url}/v1/cases"),
            "openapi": c.get("/openapi.json"),
        }
        for what, response in responses.items():
            assert response.headers["content-type"].startswith("application/json"), what
            assert response.headers["x-content-type-options"] == "nosniff", what
            assert response.headers["cache-control"] == "no-store", what
        assert c.get("/static/report-button.js").headers["x-content-type-options"] == "nosniff"


def test_identifier_search_by_get_answers_405_with_a_hint(tmp_path: Path) -> None:
    with served(tmp_path, cookie_secure=False) as s, s.client() as c:
        assert api_login(c, "ana").status_code == 200
        old = c.get("/v1/search", params={"kind": "phone", "value": "+639171234567"})
        assert old.status_code == 405
        assert old.headers["allow"] == "POST" and "POST" in old.json()["detail"]
        found = c.post("/v1/search", json={"kind": "phone", "value": "+639171234567"})
        assert found.status_code == 200 and set(found.json()) == {"report_ids", "case_ids"}
        extra = c.post("/v1/search", json={"kind": "phone", "value": "1", "x": 1})
        assert extra.status_code == 422


def test_the_served_app_takes_its_sign_in_limits_from_the_settings(tmp_path: Path) -> None:
    with served(tmp_path, login_hashes_per_minute=7, max_concurrent_logins=3) as s:
        guard = s.store.accounts.login_guard
        assert (guard.hashes_per_minute, guard.max_hashing) == (7, 3)
        assert guard.per_address_per_minute == Settings().login_rate_per_minute
    assert Settings().login_hashes_per_minute == 60  # on unless a server turns it off
