"""The attack matrix: every route of the served app (the API with the console mounted,
enumerated from ``app.routes`` so a new route is covered the day it is added) tried
with every kind of credential, against the access policy written out below.

The policy is the table ``POLICY`` (route -> who is let in). A change of policy is a
diff of that table; a route missing from it fails the test until someone decides who
may use it. "Let in" means the request got past authentication and authorisation
(any answer but 401, 403 or the console's redirect to its sign-in page); "kept out"
means exactly those. No request may ever get a 5xx.

The API takes API keys and its own session cookie; the API has no CSRF token: its
session cookie is SameSite=Strict and JSON bodies need ``Content-Type:
application/json``. The console takes only its own session cookie and refuses every
form post whose CSRF token does not match.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import REPO
from fastapi import FastAPI
from sqlalchemy import update

from daybreak.api import Settings
from daybreak.cli.server import create_app
from daybreak.console import configure_console
from daybreak.media.banks import BankStore
from daybreak.media.matcher import MediaMatcher
from daybreak.model.cases import Case
from daybreak.store import Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key
from daybreak.store.tables import api_keys
from live_server import serve_in_thread

PASSWORD = "a long matrix password"
CASE_ID = "CASE-M-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XSD = REPO.parent / "shared" / "standards" / "ncmec" / "cybertipline_report.xsd"

# --- the credentials ------------------------------------------------------------------

NONE = "no credentials"
MALFORMED_KEY = "malformed API key"
MALFORMED_BEARER = "malformed bearer token"
UNKNOWN_KEY = "unknown key id"
WRONG_SECRET = "right key id, wrong secret"
EXPIRED_KEY = "expired key"
REVOKED_KEY = "revoked key"
FORGED_SESSION = "forged session cookies"
WRONG_PASSWORD = "cookies from a wrong-password sign-in"
DISABLED_SESSION = "sessions of a user disabled since"
DISABLED_OWNER_KEY = "key of a user disabled since"
PLATFORM_KEY = "platform key"
PLATFORM_SESSION = "platform user's API session"
ANALYST_KEY = "analyst key"
ADMIN_KEY = "admin key"
ANALYST = "analyst session"
ANALYST_NO_CSRF = "analyst session, no CSRF token"
SUPERVISOR = "supervisor session"
ADMIN = "admin session"

DENIED_ALL = {
    NONE,
    MALFORMED_KEY,
    MALFORMED_BEARER,
    UNKNOWN_KEY,
    WRONG_SECRET,
    EXPIRED_KEY,
    REVOKED_KEY,
    FORGED_SESSION,
    WRONG_PASSWORD,
    DISABLED_SESSION,
    DISABLED_OWNER_KEY,
}
PLATFORM = {PLATFORM_KEY, PLATFORM_SESSION}
STAFF_API = {ANALYST_KEY, ADMIN_KEY, ANALYST, ANALYST_NO_CSRF, SUPERVISOR, ADMIN}
CREDENTIALS = sorted(DENIED_ALL | PLATFORM | STAFF_API)

# --- the policy: (method, path) -> who is let in ------------------------------------

EVERYONE = frozenset(CREDENTIALS)
ANY_ROLE = frozenset(PLATFORM | STAFF_API)
CASE_ROLES = frozenset(STAFF_API)
ADMINS = frozenset({ADMIN_KEY, ADMIN})
CONSOLE_READ = frozenset({ANALYST, ANALYST_NO_CSRF, SUPERVISOR, ADMIN})
CONSOLE_ACT = frozenset({ANALYST, SUPERVISOR, ADMIN})  # a form post needs its CSRF token
CONSOLE_MANAGE = frozenset({SUPERVISOR, ADMIN})
BANK_MANAGERS = frozenset({ADMIN_KEY, SUPERVISOR, ADMIN})  # the HMA API's curation routes

POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("POST", "/v1/auth/login"): EVERYONE,  # the body's password decides
    ("POST", "/v1/auth/logout"): EVERYONE,  # ends whatever session the cookie names
    ("GET", "/v1/auth/me"): ANY_ROLE,
    ("GET", "/v1/audit/verify"): ADMINS,
    ("POST", "/v1/reports"): ANY_ROLE,
    ("POST", "/v1/reports/validate"): ANY_ROLE,
    ("POST", "/v1/reports/ncmec"): ANY_ROLE,
    ("GET", "/v1/reports/{report_id}"): ANY_ROLE,  # a platform sees only its own receipts
    ("GET", "/v1/queue"): CASE_ROLES,
    ("GET", "/v1/search"): EVERYONE,  # 405 for all: searches are POSTed
    ("POST", "/v1/search"): CASE_ROLES,
    ("GET", "/v1/cases"): CASE_ROLES,
    ("GET", "/v1/cases/{case_id}"): CASE_ROLES,
    ("POST", "/v1/cases/{case_id}/transition"): CASE_ROLES,
    ("POST", "/v1/cases/{case_id}/merge"): CASE_ROLES,
    ("POST", "/v1/cases/{case_id}/split"): CASE_ROLES,
    ("GET", "/v1/cases/{case_id}/notes"): CASE_ROLES,
    ("POST", "/v1/cases/{case_id}/notes"): CASE_ROLES,
    ("GET", "/v1/cases/{case_id}/history"): CASE_ROLES,
    ("POST", "/v1/media/hash"): ANY_ROLE,
    ("POST", "/v1/media/match"): ANY_ROLE,
    ("POST", "/v1/payments/score"): ANY_ROLE,  # a bank's key scores its payments
    ("GET", "/console/"): EVERYONE,  # a redirect: to the queue or to sign in
    ("GET", "/console/sign-in"): EVERYONE,
    ("POST", "/console/sign-in"): EVERYONE,
    ("POST", "/console/sign-out"): CONSOLE_ACT,
    ("GET", "/console/queue"): CONSOLE_READ,
    ("POST", "/console/queue"): CONSOLE_ACT,
    ("POST", "/console/queue/close-duplicates"): CONSOLE_ACT,
    ("GET", "/console/cases/{case_id}"): CONSOLE_READ,
    ("GET", "/console/cases/{case_id}/evidence/{source}/{record_id:path}"): CONSOLE_READ,
    ("GET", "/console/cases/{case_id}/graph/neighbours"): CONSOLE_READ,
    ("POST", "/console/cases/{case_id}/note"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/triage"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/assign"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/escalate"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/refer"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/close"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/tier"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/merge"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/team"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/referrals/{referral_id}/reference"): CONSOLE_ACT,
    ("GET", "/console/cases/{case_id}/referrals/{referral_id}/export"): CONSOLE_READ,
    ("POST", "/console/cases/{case_id}/split"): CONSOLE_ACT,
    ("POST", "/console/cases/{case_id}/match-opinion"): CONSOLE_ACT,
    ("GET", "/console/cases/{case_id}/export-check"): CONSOLE_READ,
    ("GET", "/console/cases/{case_id}/export/{fmt}"): CONSOLE_READ,
    ("GET", "/console/dashboards"): CONSOLE_READ,
    ("GET", "/console/banks"): CONSOLE_READ,
    ("POST", "/console/banks/add"): CONSOLE_MANAGE,
    ("POST", "/console/banks/remove"): CONSOLE_MANAGE,
    ("POST", "/console/banks/toggle"): CONSOLE_MANAGE,
    ("POST", "/console/rules"): CONSOLE_MANAGE,
    ("GET", "/console/deliveries"): CONSOLE_MANAGE,
    # the HMA-compatible API: hashing and matching as /v1/media, curation for managers
    ("GET", "/hma/status"): ANY_ROLE,
    ("POST", "/hma/h/hash"): ANY_ROLE,
    ("GET", "/hma/m/raw_lookup"): ANY_ROLE,
    ("GET", "/hma/m/lookup"): ANY_ROLE,
    ("POST", "/hma/m/lookup"): ANY_ROLE,
    ("GET", "/hma/m/index/status"): ANY_ROLE,
    ("GET", "/hma/c/banks"): BANK_MANAGERS,
    ("POST", "/hma/c/banks"): BANK_MANAGERS,
    ("GET", "/hma/c/bank/{bank_name}"): BANK_MANAGERS,
    ("PUT", "/hma/c/bank/{bank_name}"): BANK_MANAGERS,
    ("DELETE", "/hma/c/bank/{bank_name}"): BANK_MANAGERS,
    ("POST", "/hma/c/bank/{bank_name}/signal"): BANK_MANAGERS,
    ("POST", "/hma/c/bank/{bank_name}/content"): BANK_MANAGERS,
    ("GET", "/hma/c/bank/{bank_name}/content/{content_id}"): BANK_MANAGERS,
    ("DELETE", "/hma/c/bank/{bank_name}/content/{content_id}"): BANK_MANAGERS,
    ("GET", "/hma/c/exchanges/apis"): BANK_MANAGERS,
    ("GET", "/hma/c/exchanges/api/{api_name}"): BANK_MANAGERS,
    ("POST", "/hma/c/exchanges/api/{api_name}"): BANK_MANAGERS,
    ("GET", "/hma/c/exchanges/api/{api_name}/schema"): BANK_MANAGERS,
    ("GET", "/hma/c/exchanges"): BANK_MANAGERS,
    ("POST", "/hma/c/exchanges"): BANK_MANAGERS,
    ("GET", "/hma/c/exchange/{exchange_name}"): BANK_MANAGERS,
    ("PUT", "/hma/c/exchange/{exchange_name}"): BANK_MANAGERS,
    ("DELETE", "/hma/c/exchange/{exchange_name}"): BANK_MANAGERS,
    ("GET", "/hma/c/exchange/{exchange_name}/status"): BANK_MANAGERS,
    ("POST", "/hma/dev/run_fetch"): BANK_MANAGERS,
}

# Routes that end the session they are sent with run after every other route.
LAST = {("POST", "/v1/auth/logout"), ("POST", "/console/sign-out")}

PATH_VALUES = {
    "case_id": CASE_ID,
    "report_id": "R-does-not-matter",
    "source": "reports",
    "record_id": "R-1",
    "fmt": "stix",
    "referral_id": "1",
    "bank_name": "MATRIX_BANK",
    "content_id": "1",
    "api_name": "fb_threatexchange",
    "exchange_name": "MATRIX_EXCHANGE",
}

REPORT: dict[str, Any] = {
    "reporter": {"type": "platform", "organisation": "ExampleStream"},
    "incident_type": "live_streaming_abuse",
    "is_live": True,
    "occurred_at": "2026-11-28T08:00:00Z",
    "reported_accounts": [{"service": "examplestream", "account_id": "u9"}],
}

# A well-formed body for each JSON route, so a refusal can only come from the
# credentials (FastAPI answers 422 to a bad body before it checks them).
JSON_BODIES: dict[str, Any] = {
    "/v1/auth/login": {"username": "probe", "password": PASSWORD},
    "/v1/reports": REPORT,
    "/v1/reports/validate": REPORT,
    "/v1/search": {"kind": "phone", "value": "+639171234567"},
    "/v1/cases/{case_id}/transition": {"to": "triaged", "reason": "matrix"},
    "/v1/cases/{case_id}/notes": {"text": "matrix note"},
    "/v1/cases/{case_id}/merge": {"merged_case": "CASE-MATRIX-X", "reason": "matrix"},
    "/v1/cases/{case_id}/split": {"alert_ids": ["A-MATRIX-X"], "reason": "matrix"},
    "/v1/media/match": {"hashes": [{"type": "md5", "value": "0" * 32}]},
}
FORMS: dict[str, dict[str, str]] = {
    "/console/queue": {"q": "+639171234567"},
    "/console/cases/{case_id}/note": {"text": "matrix note"},
    "/console/cases/{case_id}/assign": {"assignee": "ana"},
    "/console/cases/{case_id}/escalate": {"reason": "matrix"},
    "/console/cases/{case_id}/refer": {"agency": "PH-PNP-WCPC", "reason": "matrix"},
    "/console/cases/{case_id}/close": {"outcome": "no_action", "reason": "matrix"},
    "/console/cases/{case_id}/tier": {"tier": "1", "reason": "matrix"},
    "/console/cases/{case_id}/merge": {"merged_case": "CASE-MATRIX-X", "reason": "matrix"},
    "/console/cases/{case_id}/team": {"team": ""},
    "/console/cases/{case_id}/referrals/{referral_id}/reference": {"reference": "R-1"},
    "/console/cases/{case_id}/split": {"alert_id": "A-MATRIX-X", "reason": "matrix"},
    "/console/cases/{case_id}/match-opinion": {
        "hash_type": "pdq",
        "listed_hash": "0" * 64,
        "verdict": "false_positive",
    },
    "/console/banks/add": {"bank": "m", "hash_type": "md5", "value": "0" * 32},
    "/console/banks/toggle": {"bank": "m"},
    "/console/banks/remove": {"bank": "m", "hash_type": "md5", "value": "0" * 32},
    "/console/rules": {"text": "not: [a valid pack"},
}


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route of ``app``, included routers walked (FastAPI keeps
    an included router as one entry whose routes carry the include's prefix)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, prefix + route.path

    return sorted(set(walk(list(app.routes), "")))


@dataclass
class Credential:
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""  # the console session's CSRF token, sent with form posts


@dataclass
class Served:
    app: FastAPI
    url: str
    store: TiplineStore


@dataclass
class Target:
    app: FastAPI
    url: str
    store: TiplineStore
    credentials: dict[str, Credential]


def _key_parts(key: str) -> tuple[str, str]:
    _, key_id, secret = key.split("_", 2)
    return key_id, secret


def signed_in_as(url: str, username: str) -> Credential:
    """Both sessions of ``username``: the API's (login) and the console's (sign-in)."""
    with httpx.Client(base_url=url, timeout=30) as c:
        api = c.post("/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert api.status_code == 200, api.text
        page = c.get("/console/sign-in")
        token = CSRF.search(page.text)
        assert token
        console = c.post(
            "/console/sign-in",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        cookies = {k: v for k, v in c.cookies.items() if k != "daybreak_console_login"}
        csrf = ""
        if console.status_code == 303:
            queue = c.get("/console/queue")
            found = CSRF.search(queue.text)
            assert found, queue.text
            csrf = found.group(1)
    return Credential(cookies=cookies, csrf=csrf)


def _wrong_password_cookies(url: str) -> Credential:
    with httpx.Client(base_url=url, timeout=30) as c:
        r = c.post("/v1/auth/login", json={"username": "ana", "password": "not the password"})
        assert r.status_code == 401
        return Credential(cookies=dict(c.cookies.items()))


def _credentials(store: TiplineStore, url: str) -> dict[str, Credential]:
    platform = store.api_keys.create("matrix-platform", Role.PLATFORM)
    analyst = store.api_keys.create("matrix-analyst", Role.ANALYST)
    admin = store.api_keys.create("matrix-admin", Role.ADMIN)
    revoked = store.api_keys.create("matrix-revoked", Role.ADMIN)
    store.api_keys.revoke(_key_parts(revoked)[0])
    expired = store.api_keys.create(
        "matrix-expired", Role.ADMIN, expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    with store.engine.begin() as conn:  # as if a day had passed
        conn.execute(
            update(api_keys)
            .where(api_keys.c.key_id == _key_parts(expired)[0])
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    owned = store.api_keys.create("matrix-dora", Role.ADMIN, owner="dora")
    key_id, secret = _key_parts(admin)
    creds = {
        NONE: Credential(),
        MALFORMED_KEY: Credential(headers={"X-API-Key": "dbk_' OR 1=1 --_"}),
        MALFORMED_BEARER: Credential(headers={"Authorization": "Bearer dbk__"}),
        UNKNOWN_KEY: Credential(headers={"X-API-Key": f"dbk_{'0' * len(key_id)}_{secret}"}),
        WRONG_SECRET: Credential(headers={"X-API-Key": f"dbk_{key_id}_{'x' * len(secret)}"}),
        EXPIRED_KEY: Credential(headers={"X-API-Key": expired}),
        REVOKED_KEY: Credential(headers={"X-API-Key": revoked}),
        FORGED_SESSION: Credential(
            cookies={
                "daybreak_session": secrets.token_urlsafe(32),
                "daybreak_console": secrets.token_urlsafe(32),
            },
            csrf=secrets.token_urlsafe(16),
        ),
        WRONG_PASSWORD: _wrong_password_cookies(url),
        DISABLED_SESSION: signed_in_as(url, "dora"),
        DISABLED_OWNER_KEY: Credential(headers={"X-API-Key": owned}),
        PLATFORM_KEY: Credential(headers={"X-API-Key": platform}),
        PLATFORM_SESSION: signed_in_as(url, "platform-bot"),
        ANALYST_KEY: Credential(headers={"X-API-Key": analyst}),
        ADMIN_KEY: Credential(headers={"Authorization": f"Bearer {admin}"}),
        ANALYST: signed_in_as(url, "ana"),
        ANALYST_NO_CSRF: signed_in_as(url, "ana"),
        SUPERVISOR: signed_in_as(url, "sue"),
        ADMIN: signed_in_as(url, "adam"),
    }
    creds[ANALYST_NO_CSRF].csrf = ""
    store.accounts.set_disabled("dora", True)
    return creds


@contextmanager
def served_store(data: Path, prepare: Callable[[TiplineStore], None]) -> Iterator[Served]:
    """A store in ``data`` (cheap password hashing), ``prepare``d, served (the API with
    the console mounted) on a loopback port for the duration."""
    settings = Settings(
        data_dir=data,
        cookie_secure=False,  # httpx sends no Secure cookie over plain http
        ncmec_xsd=XSD if XSD.exists() else None,
        login_rate_per_minute=1000,  # many sign-ins from one address, on purpose
        login_hashes_per_minute=0,  # and back to back: no hashing budget
    )
    store = TiplineStore(
        f"sqlite+pysqlite:///{data / 'matrix.db'}", Keyring.from_text(generate_key())
    )
    try:
        prepare(store)
        app = create_app(settings, store)
        # The console's bank and rule posts write into this test's folder, never into a
        # media home the environment names.
        configure_console(
            app, banks_dir=data / "banks", rules_path=data / "typologies.yaml", warm_exporters=False
        )
        app.state.media_matcher = MediaMatcher.build(BankStore(data / "banks"))
        app.state.media_home = data  # the HMA API's bank changes land here too
        url, stop = serve_in_thread(app)
        try:
            yield Served(app, url, store)
        finally:
            stop()
    finally:
        store.close()


def _staff(store: TiplineStore) -> None:
    for name, role in [
        ("ana", Role.ANALYST),
        ("sue", Role.SUPERVISOR),
        ("adam", Role.ADMIN),
        ("dora", Role.ADMIN),
        ("probe", Role.ANALYST),
        ("platform-bot", Role.PLATFORM),
    ]:
        store.accounts.create(name, PASSWORD, role)
    store.cases.upsert([Case(case_id=CASE_ID, title="matrix case", priority=0.5)])


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with served_store(tmp_path_factory.mktemp("matrix"), _staff) as s:
        yield Target(s.app, s.url, s.store, _credentials(s.store, s.url))


def request_as(
    client: httpx.Client,
    method: str,
    route: str,
    cred: Credential,
    path_values: dict[str, str] = PATH_VALUES,
) -> httpx.Response:
    path = route
    for name, value in path_values.items():
        path = re.sub(r"\{" + name + r"(:path)?\}", value, path)
    if route.startswith("/console/") and method == "POST":
        form = dict(FORMS.get(route, {}))
        if cred.csrf:
            form["csrf_token"] = cred.csrf
        return client.post(path, data=form)
    if route == "/v1/reports/ncmec":
        return client.post(path, content=b"<report/>", headers={"Content-Type": "application/xml"})
    if route == "/v1/media/hash":
        return client.post(
            path, content=b"not an image", headers={"Content-Type": "application/octet-stream"}
        )
    if method == "POST":
        return client.post(path, json=JSON_BODIES.get(route, {}))
    return client.request(method, path)


def let_in(route: str, response: httpx.Response) -> bool:
    """Whether the request got past authentication and authorisation."""
    if response.status_code in (401, 403):
        return False
    to_sign_in = response.status_code == 303 and response.headers.get("location", "").endswith(
        "/console/sign-in"
    )
    if route == "/console/sign-out":
        # Signing out also redirects to sign-in: it worked if it ended a session.
        return to_sign_in and "daybreak_console=" in response.headers.get("set-cookie", "")
    if route == "/console/":
        return True  # redirects everyone; which way is checked by the console tests
    return not to_sign_in


def test_every_route_is_in_the_policy(target: Target) -> None:
    served = set(served_routes(target.app))
    assert served - POLICY.keys() == set(), "add the new route to POLICY (who may use it)"
    assert POLICY.keys() - served == set(), "POLICY names a route that is gone"


def test_every_route_with_every_credential(target: Target) -> None:
    routes = sorted(served_routes(target.app), key=lambda r: (r in LAST, r))
    clients = {
        name: httpx.Client(
            base_url=target.url, headers=cred.headers, follow_redirects=False, timeout=30
        )
        for name, cred in target.credentials.items()
    }
    seen: dict[tuple[str, str], set[str]] = {}
    errors: list[str] = []
    try:
        for method, route in routes:
            if route == "/v1/reports/ncmec" and not XSD.exists():
                continue  # 503 by design without the CyberTipline XSD (../shared)
            seen[(method, route)] = set()
            for name in CREDENTIALS:
                cred, client = target.credentials[name], clients[name]
                client.cookies = httpx.Cookies(cred.cookies)  # nothing a response set
                response = request_as(client, method, route, cred)
                if response.status_code >= 500:
                    errors.append(f"{method} {route} with {name}: {response.status_code}")
                if let_in(route, response):
                    seen[(method, route)].add(name)
    finally:
        for client in clients.values():
            client.close()
    assert errors == []
    differences = {
        f"{method} {route}": {
            "let in, policy says no": sorted(got - POLICY[(method, route)]),
            "kept out, policy says yes": sorted(POLICY[(method, route)] - got),
        }
        for (method, route), got in seen.items()
        if got != POLICY[(method, route)]
    }
    assert differences == {}


def test_the_matrix_sees_every_kind_of_refusal(target: Target) -> None:
    """The credentials really are what their names say (a typo in the fixture would make
    the matrix test vacuous): each bad one is refused by /v1/auth/me with a 401."""
    for name in DENIED_ALL:
        cred = target.credentials[name]
        with httpx.Client(
            base_url=target.url, headers=cred.headers, cookies=cred.cookies, timeout=30
        ) as c:
            assert c.get("/v1/auth/me").status_code == 401, name


def test_served_routes_walks_included_routers() -> None:
    from fastapi import APIRouter

    app = FastAPI()
    inner = APIRouter()
    inner.add_api_route("/x", lambda: None, methods=["POST"])
    app.include_router(inner, prefix="/p")
    app.add_api_route("/y", lambda: None, methods=["GET"])
    assert ("POST", "/p/x") in served_routes(app)
    assert ("GET", "/y") in served_routes(app)
