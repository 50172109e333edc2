"""POST /v1/media/hash and /v1/media/match: in-memory uploads, limits, clear 4xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from daybreak.api import media_routes
from daybreak.api.settings import Settings
from daybreak.media.banks import BankEntry, BankStore
from daybreak.media.hashing import hash_image_bytes
from daybreak.media.matcher import MediaMatcher

from .gen import encode, noise, shapes


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    app.include_router(media_routes.router)
    app.dependency_overrides[media_routes.media_actor] = lambda: None  # auth tested below
    store = BankStore(tmp_path / "banks")
    store.create("known")
    listed = hash_image_bytes(encode(shapes(seed=21)))
    store.add("known", [BankEntry("pdq", listed.pdq, ("lab",)), BankEntry("md5", listed.md5)])
    app.state.media_matcher = MediaMatcher.build(store)
    app.state.media_max_upload = 3_000_000
    return app


class Client:
    """In-process calls through httpx's ASGI transport (no network, no TestClient)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def post(self, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.post(url, **kw)

        return asyncio.run(go())


@pytest.fixture
def client(app: FastAPI) -> Iterator[Client]:
    yield Client(app)


def test_hash_multipart_and_raw_body(client: Client) -> None:
    data = encode(shapes(seed=21))
    r = client.post("/v1/media/hash", files={"file": ("x.png", data, "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "image" and len(body["pdq"]) == 64 and body["quality"] >= 50
    assert (
        body
        == client.post(
            "/v1/media/hash", content=data, headers={"content-type": "application/octet-stream"}
        ).json()
    )
    dih = client.post("/v1/media/hash?dihedral=true", content=data).json()
    assert len(dih["dihedral"]) == 8


def test_hash_video(client: Client, scene_video: bytes) -> None:
    r = client.post("/v1/media/hash?fps=2", files={"file": ("v.mp4", scene_video, "video/mp4")})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "video" and len(r.json()["frames"]) == 8


def test_upload_is_never_written_to_disk(client: Client, disk_writes: list[str]) -> None:
    """A 2 MB upload (above the 1 MB at which UploadFile would spool to disk)."""
    data = encode(noise(1000, 800, seed=3), "BMP")
    assert len(data) > 2_000_000
    r = client.post("/v1/media/hash", files={"file": ("big.bmp", data, "image/bmp")})
    assert r.status_code == 200, r.text
    assert disk_writes == []


def test_bad_uploads_get_clear_4xx(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    empty = client.post("/v1/media/hash", files={"file": ("e.png", b"", "image/png")})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    too_big = client.post("/v1/media/hash", content=b"\x00" * 3_000_001)
    assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]
    junk = client.post("/v1/media/hash", content=b"hello, this is not media" * 20)
    assert junk.status_code == 415
    jpeg = encode(noise(seed=4), "JPEG")
    cut = client.post("/v1/media/hash", content=jpeg[: len(jpeg) // 3])
    assert cut.status_code == 422 and "truncated or corrupt" in cut.json()["detail"]
    bad_mp = client.post(
        "/v1/media/hash",
        content=b"--x\r\nnonsense",
        headers={"content-type": "multipart/form-data; boundary=zzz"},
    )
    assert bad_mp.status_code == 400
    assert client.post("/v1/media/hash?fps=0", content=jpeg).status_code == 422
    assert "hello, this is not media" not in caplog.text


def test_match_endpoint(client: Client) -> None:
    listed = hash_image_bytes(encode(shapes(seed=21)))
    edited = hash_image_bytes(encode(shapes(seed=21), "JPEG", quality=50))
    r = client.post(
        "/v1/media/match",
        json={
            "hashes": [
                {"type": "pdq", "value": edited.pdq.upper()},
                {"type": "md5", "value": listed.md5},
                {"type": "sha256", "value": listed.sha256},
            ],
            "account_id": "acct-1",
            "service": "streamsite",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    first = body["results"][0]["matches"]
    assert [(m["bank"], m["labels"], m["status"]) for m in first] == [("known", ["lab"], "match")]
    assert 0 <= first[0]["distance"] <= 31
    assert body["results"][1]["matches"][0]["distance"] == 0
    assert body["results"][2]["matches"] == []
    assert body["matched"] == 2 and body["seen_with"] == {
        "service": "streamsite",
        "account_id": "acct-1",
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"hashes": [{"type": "pdq", "value": "abc"}]},
        {"hashes": [{"type": "md5", "value": "g" * 32}]},
        {"hashes": [{"type": "sha1", "value": "a" * 40}]},
        {"hashes": []},
        {"nothing": 1},
    ],
)
def test_match_rejects_malformed_hashes(client: Client, payload: dict[str, Any]) -> None:
    r = client.post("/v1/media/match", json=payload)
    assert r.status_code == 422


def test_routes_require_credentials_in_the_real_app(tmp_path: Path) -> None:
    from daybreak.api import create_app

    app = create_app(Settings(data_dir=tmp_path, dev=True))
    c = Client(app)
    r = c.post("/v1/media/match", json={"hashes": [{"type": "md5", "value": "a" * 32}]})
    assert r.status_code == 401
    assert c.post("/v1/media/hash", content=b"x").status_code == 401


def test_a_client_disconnect_mid_upload_logs_one_line_and_no_traceback(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #18 item 10: each dropped upload logged a 6 KB traceback."""
    messages = [
        {"type": "http.request", "body": b"\x89PNG\r\n\x1a\n" + b"\x00" * 1000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/media/hash",
        "raw_path": b"/v1/media/hash",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/octet-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    with caplog.at_level(logging.DEBUG):
        asyncio.run(app(scope, receive, send))  # raised ClientDisconnect before
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert [r.getMessage() for r in records] == [
        "media upload: client disconnected after 1008 bytes; nothing hashed"
    ]
    assert all(r.exc_info is None for r in caplog.records)
    assert "Traceback" not in caplog.text
    assert sent[0]["status"] == 400  # the request ends without a server error


def test_the_api_matches_against_the_store_banks_of_the_callers_organisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a case store, the media API's matcher reads the banks' metadata there: a
    bank another store instance (the CLI) creates and fills reaches it without a
    restart, and each organisation matches against its own banks only."""
    from daybreak.api import create_app
    from daybreak.store import TiplineStore
    from daybreak.store.auth import Actor, Role

    monkeypatch.setenv("DAYBREAK_MEDIA_HOME", str(tmp_path / "media"))
    app = create_app(Settings(data_dir=tmp_path / "data", dev=True))
    caller = {"actor": Actor("key:p1", Role.PLATFORM)}
    app.dependency_overrides[media_routes.media_actor] = lambda: caller["actor"]
    c = Client(app)
    listed = "ab" * 16
    query = {"hashes": [{"type": "md5", "value": listed}]}
    assert c.post("/v1/media/match", json=query).json()["matched"] == 0
    with TiplineStore.open(tmp_path / "data", dev=True) as cli:
        banks = cli.banks.open(tmp_path / "media" / "banks", Actor("op", Role.ADMIN))
        banks.create("from-cli")
        banks.add("from-cli", [BankEntry("md5", listed, ("lab",))])
    got = c.post("/v1/media/match", json=query).json()
    assert got["matched"] == 1
    assert [m["bank"] for m in got["results"][0]["matches"]] == ["from-cli"]
    caller["actor"] = Actor("key:p2", Role.PLATFORM, org_id="bank-b")
    assert c.post("/v1/media/match", json=query).json()["matched"] == 0
