"""Console sessions kept by the store (``store.web_sessions``): two apps over one
database, as two server processes behind a load balancer, know the same sessions. A
session started through one is used through the other, with its CSRF token, its
messages and its search; signing out through one ends it for both; the search (it may
name someone) is stored encrypted. (On PostgreSQL, with two real servers:
tests/api/test_multiserver_pg.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_world import PASSWORD
from sqlalchemy import select

from conftest import StoreConsole, csrf_of, store_console
from daybreak.api import Settings
from daybreak.cli.server import create_app
from daybreak.console.security import SESSION_COOKIE
from daybreak.store import TiplineStore
from daybreak.store.tables import web_sessions
from live_server import serve_in_thread

CASE_LINK = re.compile(r'href="/console/cases/([^"?]+)"')
SEARCHED = "+15550001234"


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[StoreConsole, str]]:
    """The console of one store, and a second app over its own store on the same file."""
    with store_console(tmp_path) as first:
        other = TiplineStore(first.store.url, first.store.keys)
        url, stop = serve_in_thread(
            create_app(
                Settings(data_dir=tmp_path, cookie_secure=False, login_hashes_per_minute=0), other
            )
        )
        try:
            yield first, url
        finally:
            stop()
            other.close()


def test_a_session_started_through_one_app_works_through_the_other(
    two: tuple[StoreConsole, str],
) -> None:
    first, b = two
    a = first.url
    # One browser, two servers (cookies do not depend on the port).
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        page = browser.get(f"{a}/console/sign-in")
        signed = browser.post(
            f"{a}/console/sign-in",
            data={"username": "ana", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert signed.status_code == 303, signed.text
        queue = browser.get(f"{b}/console/queue")
        assert queue.status_code == 200, queue.text
        link = CASE_LINK.search(queue.text)
        assert link is not None, "the queue lists no case"
        case_id = link.group(1)

        # A form of one server posted to the other: the same session, the same CSRF.
        case_page = browser.get(f"{b}/console/cases/{case_id}")
        noted = browser.post(
            f"{a}/console/cases/{case_id}/note",
            data={"text": "called the platform", "csrf_token": csrf_of(case_page.text)},
        )
        assert noted.status_code == 303
        shown = browser.get(f"{b}/console/cases/{case_id}").text
        assert "Note added." in shown  # the message the other server left
        assert "Note added." not in browser.get(f"{a}/console/cases/{case_id}").text  # once

        searched = browser.post(
            f"{b}/console/queue", data={"q": SEARCHED, "csrf_token": csrf_of(shown)}
        )
        assert searched.status_code == 303
        assert f'value="{SEARCHED}"' in browser.get(f"{a}/console/queue").text

        token = browser.cookies[SESSION_COOKIE]
        with first.store.engine.connect() as conn:
            (row,) = conn.execute(select(web_sessions)).all()
        assert row.username == "ana" and row.token_hash != token
        assert SEARCHED.encode() not in row.state_enc  # the search is encrypted

        out = browser.post(f"{b}/console/sign-out", data={"csrf_token": csrf_of(shown)})
        assert out.status_code == 303
        gone = browser.get(f"{a}/console/queue")
        assert gone.status_code == 303 and gone.headers["location"].endswith("/sign-in")


def test_revoking_the_account_ends_its_console_sessions_in_the_store(
    two: tuple[StoreConsole, str],
) -> None:
    first, b = two
    with httpx.Client(base_url=first.url, follow_redirects=False, timeout=20) as browser:
        page = browser.get("/console/sign-in")
        browser.post(
            "/console/sign-in",
            data={"username": "sam", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert browser.get(f"{b}/console/queue").status_code == 200
        ended, _ = first.store.accounts.revoke("sam")
        assert ended == 1
        with first.store.engine.connect() as conn:
            assert conn.execute(select(web_sessions)).all() == []
        assert browser.get(f"{b}/console/queue").status_code == 303
