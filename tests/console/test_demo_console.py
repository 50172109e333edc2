"""What ``daybreak demo`` calls: the console on a data dir's cases, with demo users."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from console_world import TOP_CASE, build_cases

from conftest import sign_in
from daybreak.cli.server import build_demo_console
from daybreak.console.demo import CREDENTIALS_FILE
from daybreak.store import SYSTEM
from live_server import serve_in_thread


def test_demo_console_serves_the_cases_to_the_printed_users(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAYBREAK_FIELD_KEY", raising=False)
    cases, alerts = build_cases()
    # httpx sends no Secure cookie over plain http; the default keeps the flag.
    demo = build_demo_console(tmp_path, cases, alerts, warm_exporters=False, secure_cookies=False)
    url, stop = serve_in_thread(demo.app)
    try:
        assert demo.url("127.0.0.1", 8000) == "http://127.0.0.1:8000/console/"
        assert set(demo.credentials) == {"analyst", "supervisor"}
        with httpx.Client(base_url=url, timeout=30) as client:
            assert sign_in(client, "analyst", demo.credentials["analyst"]).status_code == 303
            page = client.get("/console/queue").text
            assert f'data-case-id="{TOP_CASE}"' in page
            assert "low value corridor" in page  # the alerts reached the console
    finally:
        stop()
        demo.store.close()
    mode = stat.S_IMODE((tmp_path / CREDENTIALS_FILE).stat().st_mode)
    assert mode == 0o600

    # A second run reuses the store and the users: same passwords, no duplicate cases.
    again = build_demo_console(tmp_path, cases, alerts, warm_exporters=False)
    try:
        assert again.app.state.daybreak_console.secure_cookies  # the default
        assert again.credentials == demo.credentials
        assert len(again.store.cases.query(SYSTEM)) == len(cases)
    finally:
        again.store.close()
