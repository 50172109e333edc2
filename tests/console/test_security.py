"""Sign-in, sessions, CSRF, cookies and the Content-Security-Policy of the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest
from console_world import NOW, PASSWORD, TOP_CASE, build_backend
from fastapi import FastAPI

from conftest import LiveServer, csrf_of, sign_in
from daybreak.console import mount_console
from daybreak.model.cases import CaseStatus
from daybreak.store.auth import MAX_FAILURES
from daybreak.testing.console import MemoryBackend
from live_server import serve_in_thread

PAGES = ["/console/queue", f"/console/cases/{TOP_CASE}", "/console/dashboards", "/console/banks"]


def test_pages_need_a_session(anonymous: httpx.Client) -> None:
    for path in PAGES:
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/sign-in"


def test_sign_in_with_a_wrong_password_fails(anonymous: httpx.Client) -> None:
    response = sign_in(anonymous, "ana", "not the password")
    assert response.status_code == 400
    assert "User name or password is not correct" in response.text
    assert "daybreak_console=" not in response.headers.get("set-cookie", "")
    assert anonymous.get("/console/queue").status_code == 303


def test_unknown_user_gets_the_same_message(anonymous: httpx.Client) -> None:
    response = sign_in(anonymous, "nobody", PASSWORD)
    assert response.status_code == 400
    assert "User name or password is not correct" in response.text


def test_reporting_platforms_cannot_use_the_console(anonymous: httpx.Client) -> None:
    response = sign_in(anonymous, "platform-bot")
    assert response.status_code == 400
    assert "cannot use the console" in response.text
    assert anonymous.get("/console/queue").status_code == 303


def test_sign_in_needs_the_form_token(anonymous: httpx.Client) -> None:
    anonymous.get("/console/sign-in")
    response = anonymous.post(
        "/console/sign-in", data={"username": "ana", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert "expired" in response.text
    assert anonymous.get("/console/queue").status_code == 303


def test_repeated_failures_lock_the_user_name_for_a_while(anonymous: httpx.Client) -> None:
    for _ in range(MAX_FAILURES):
        assert sign_in(anonymous, "ana", "wrong").status_code == 400
    response = sign_in(anonymous, "ana", PASSWORD)  # right password, but locked now
    assert response.status_code == 400
    assert "Too many failed attempts" in response.text


def test_sign_out_ends_the_session(client_for: Callable[[str], httpx.Client]) -> None:
    client = client_for("ana")
    page = client.get("/console/queue")
    assert page.status_code == 200
    token = client.cookies.get("daybreak_console")
    out = client.post("/console/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    # Even a client that kept the old cookie is signed out: the session is gone server-side.
    with httpx.Client(base_url=client.base_url, cookies={"daybreak_console": token or ""}) as old:
        assert old.get("/console/queue").status_code == 303


def test_form_posts_without_the_session_token_are_refused(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    client = client_for("ana")
    for token in (None, "", "x" * 43):
        data = {"text": "should not be stored"} | (
            {"csrf_token": token} if token is not None else {}
        )
        response = client.post(f"/console/cases/{TOP_CASE}/note", data=data)
        assert response.status_code == 403
        assert "security token" in response.text
    user = backend.authenticate("ana", PASSWORD)
    assert user is not None
    assert backend.notes(TOP_CASE, user) == []
    case = backend.get_case(TOP_CASE, user)
    assert case is not None and case.status is CaseStatus.NEW


def test_another_sessions_token_does_not_work(
    client_for: Callable[[str], httpx.Client], backend: MemoryBackend
) -> None:
    ana, sam = client_for("ana"), client_for("sam")
    sams_token = csrf_of(sam.get("/console/queue").text)
    response = ana.post(
        f"/console/cases/{TOP_CASE}/note", data={"text": "cross", "csrf_token": sams_token}
    )
    assert response.status_code == 403


class _PageAudit(HTMLParser):
    """Collects what a strict CSP would block or what would leave the origin."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.external: list[str] = []
        self.images = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.inline_scripts += 1
        if tag == "style":
            self.style_elements += 1
        if tag in ("img", "video", "audio", "picture", "source", "iframe", "object", "embed"):
            self.images += 1
        for name, value in attrs:
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")
            if name in ("src", "href", "action") and value and re.match(r"^(https?:)?//", value):
                self.external.append(value)


def test_pages_have_no_inline_code_no_media_and_nothing_external(
    client_for: Callable[[str], httpx.Client],
) -> None:
    client = client_for("sam")
    with httpx.Client(base_url=client.base_url) as anonymous:
        sign_in_page = anonymous.get("/console/sign-in")
    for path, response in [*((p, client.get(p)) for p in PAGES), ("sign-in", sign_in_page)]:
        assert response.status_code == 200, path
        audit = _PageAudit()
        audit.feed(response.text)
        assert audit.inline_scripts == 0, path
        assert audit.style_elements == 0 and audit.style_attributes == [], path
        assert audit.handlers == [], path
        assert audit.external == [], path
        assert audit.images == 0, f"{path} embeds media elements"


def test_every_console_response_carries_the_security_headers(
    client_for: Callable[[str], httpx.Client],
) -> None:
    client = client_for("ana")
    for path in [*PAGES, "/console/sign-in", "/console/static/console.css", "/console/nowhere"]:
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    assert client.get(PAGES[1]).headers["cache-control"] == "no-store"


def test_session_cookie_is_secure_httponly_and_strict() -> None:
    app = FastAPI()
    mount_console(app, build_backend(clock=lambda: NOW))  # the default: secure cookies
    url, stop = serve_in_thread(app)
    try:
        with httpx.Client(base_url=url) as client:
            page = client.get("/console/sign-in")
            login_cookie = page.headers["set-cookie"].lower()
            # httpx keeps Secure cookies from plain-HTTP sites but does not send them
            # back (browsers do for loopback), so hand the form cookie over.
            login = re.search(r"daybreak_console_login=([^;]+)", page.headers["set-cookie"])
            assert login
            client.cookies.clear()
            client.cookies.set("daybreak_console_login", login.group(1))
            response = client.post(
                "/console/sign-in",
                data={"username": "ana", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            )
        assert response.status_code == 303
        cookie = next(
            c.lower()
            for c in response.headers.get_list("set-cookie")
            if c.startswith("daybreak_console=")
        )
        for flag in ("httponly", "secure", "samesite=strict", "path=/console"):
            assert flag in cookie
            assert flag in login_cookie
    finally:
        stop()


@pytest.mark.parametrize("path", ["/console/../../etc/passwd", "/console/static/../routes.py"])
def test_static_files_stay_inside_the_package(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code in (303, 404)
    assert "import" not in response.text


def test_unknown_case_is_a_404_page(
    client_for: Callable[[str], httpx.Client], live_server: LiveServer
) -> None:
    response = client_for("ana").get("/console/cases/NO-SUCH-CASE")
    assert response.status_code == 404
    assert "There is no case" in response.text


def test_the_sign_in_page_shows_no_text_from_the_address(anonymous: httpx.Client) -> None:
    page = anonymous.get("/console/sign-in", params={"error": "Call +1 555 0100 to unlock"})
    assert "555 0100" not in page.text


def test_signing_in_again_replaces_the_old_session(
    client_for: Callable[[str], httpx.Client], anonymous: httpx.Client
) -> None:
    ana = client_for("ana")
    assert ana.get("/console/sign-in").status_code == 303  # already signed in
    old = ana.cookies.get("daybreak_console") or ""
    form = anonymous.get("/console/sign-in")
    anonymous.cookies.set("daybreak_console", old, path="/console")  # a planted cookie
    response = anonymous.post(
        "/console/sign-in",
        data={"username": "sam", "password": PASSWORD, "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 303
    assert response.cookies.get("daybreak_console") not in (None, old)
    assert ana.get("/console/queue").status_code == 303  # the old session is gone
