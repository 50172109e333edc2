"""The ``api`` fixture: a real uvicorn server on loopback around ``create_app``, with a
platform key, a rate-limited key, an admin key, an analyst and a supervisor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_server import PASSWORD, REPO, Api

from daybreak.api import Settings, create_app
from daybreak.store import Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key
from live_server import serve_in_thread


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("api")
    xsd = REPO.parent / "shared" / "standards" / "ncmec" / "cybertipline_report.xsd"
    # Plain HTTP on loopback: httpx does not send Secure cookies over http, so the
    # analyst sessions here need the development setting (Secure is the default).
    settings = Settings(
        data_dir=data,
        max_body_bytes=64_000,
        ncmec_xsd=xsd if xsd.exists() else None,
        cookie_secure=False,
        login_hashes_per_minute=0,  # the tests sign in back to back (no hashing budget)
    )
    store = TiplineStore(f"sqlite+pysqlite:///{data / 'api.db'}", Keyring.from_text(generate_key()))
    store.accounts.create("ana", PASSWORD, Role.ANALYST)
    store.accounts.create("sue", PASSWORD, Role.SUPERVISOR)
    keys = (
        store.api_keys.create("acme", Role.PLATFORM),
        store.api_keys.create("root", Role.ADMIN),
        store.api_keys.create("slow", Role.PLATFORM, rate_per_minute=3),
    )
    app = create_app(settings, store)
    app.state.media_home = data / "media"  # banks the HMA routes create land here
    url, stop = serve_in_thread(app)
    try:
        yield Api(app, url, store, *keys)
    finally:
        stop()
        store.close()
