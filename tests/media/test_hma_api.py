"""The HMA-compatible API (``/hma``), driven with requests shaped as HMA 2.0's own tests
and curl docs send them: multipart uploads whose field name is the content type
(``photo``/``video``), ``signal_type``/``signal``/``banks``/``include_distance`` query
parameters, JSON bodies ``{"name"}``, ``{"enabled"}``, ``{"<signal type>": hash}``.
The only addition an HMA client makes is Daybreak's ``X-API-Key`` header."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from daybreak.api import Settings, create_app
from daybreak.media.banks import BankEntry
from daybreak.media.hashing import hash_image_bytes
from daybreak.media.hma import entry_content_id
from daybreak.store import Actor, Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key

from .gen import encode, gradient, noise, shapes

ORG_A, ORG_B = "org-a", "org-b"
PHOTO = encode(shapes(seed=31))
PHOTO_JPEG = encode(shapes(seed=31), "JPEG", quality=30)  # the same picture, re-encoded
OTHER = encode(gradient(angle=40))


@dataclass
class Hma:
    app: FastAPI
    store: TiplineStore
    media: Path
    keys: dict[str, str]  # "admin", "platform", "analyst" (org A), "admin_b" (org B)

    def call(self, method: str, url: str, key: str = "admin", **kw: Any) -> httpx.Response:
        headers = {"X-API-Key": self.keys[key]} if key else {}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.request(method, url, headers=headers, **kw)

        return asyncio.run(go())


@pytest.fixture(scope="module")
def hma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hma]:
    data = tmp_path_factory.mktemp("hma")
    store = TiplineStore(f"sqlite+pysqlite:///{data / 'hma.db'}", Keyring.from_text(generate_key()))
    for org in (ORG_A, ORG_B):
        store.organisations.create(org, org.upper())
    admin_a = Actor("adam", Role.ADMIN, org_id=ORG_A)
    admin_b = Actor("bob", Role.ADMIN, org_id=ORG_B)
    keys = {
        "admin": store.api_keys.create("a-admin", Role.ADMIN, actor=admin_a),
        "platform": store.api_keys.create("a-platform", Role.PLATFORM, actor=admin_a),
        "analyst": store.api_keys.create("a-analyst", Role.ANALYST, actor=admin_a),
        "admin_b": store.api_keys.create("b-admin", Role.ADMIN, actor=admin_b),
    }
    app = create_app(Settings(data_dir=data), store)
    app.state.media_home = data / "media"
    try:
        yield Hma(app, store, data / "media", keys)
    finally:
        store.close()


def _bank(hma: Hma, name: str) -> None:
    r = hma.call("POST", "/hma/c/banks", json={"name": name})
    assert r.status_code == 201, r.text


def _add_photo(hma: Hma, bank: str, photo: bytes = PHOTO) -> dict[str, Any]:
    r = hma.call("POST", f"/hma/c/bank/{bank}/content", files={"photo": ("x.png", photo)})
    assert r.status_code == 200, r.text  # HMA answers 200 here (its docs say 201)
    body: dict[str, Any] = r.json()
    return body


def test_status_answers_like_hma_behind_daybreak_auth(hma: Hma) -> None:
    r = hma.call("GET", "/hma/status", key="platform")
    assert (r.status_code, r.text) == (200, "I-AM-ALIVE")
    assert hma.call("GET", "/hma/status", key="").status_code == 401


def test_hash_a_photo_and_a_video_sent_as_hma_curl_sends_them(hma: Hma, scene_video: bytes) -> None:
    expected = hash_image_bytes(PHOTO)
    r = hma.call("POST", "/hma/h/hash", key="platform", files={"photo": ("x.png", PHOTO)})
    assert r.status_code == 200, r.text
    assert r.json() == {"pdq": expected.pdq, "md5": expected.md5, "sha256": expected.sha256}
    only = hma.call("POST", "/hma/h/hash?types=pdq", files={"photo": ("x.png", PHOTO)})
    assert only.json() == {"pdq": expected.pdq}
    video = hma.call("POST", "/hma/h/hash", files={"video": ("v.mp4", scene_video)})
    assert video.status_code == 200, video.text
    assert video.json() == {
        "video_md5": hashlib.md5(scene_video, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(scene_video).hexdigest(),
    }


def test_bad_uploads_get_hma_errors(hma: Hma) -> None:
    wrong_field = hma.call("POST", "/hma/h/hash", files={"file": ("x.png", PHOTO)})
    assert wrong_field.status_code == 400
    assert wrong_field.json() == {
        "message": "no such content_type: 'file' (expected photo or video)"
    }
    two = hma.call(
        "POST", "/hma/h/hash", files=[("photo", ("a.png", PHOTO)), ("photo", ("b.png", OTHER))]
    )
    assert two.json() == {"message": "Only one file allowed per request"}
    none = hma.call("POST", "/hma/h/hash", data={"photo": "not a file"})
    assert none.json() == {"message": "Missing multipart/form-data file upload"}
    not_image = hma.call("POST", "/hma/h/hash", files={"photo": ("x.png", b"hello" * 50)})
    assert not_image.status_code == 415 and "no image" in not_image.json()["message"]
    unknown = hma.call("POST", "/hma/h/hash?types=vpdq", files={"photo": ("x.png", PHOTO)})
    assert unknown.json() == {"message": "signal type 'vpdq' doesn't exist or is disabled"}


def test_banks_as_hma_tests_create_and_change_them(hma: Hma) -> None:
    assert hma.call("GET", "/hma/c/banks").json() == []
    for bad in ("01_TEST_BANK", "my_test_bank"):
        r = hma.call("POST", "/hma/c/banks", json={"name": bad})
        assert r.status_code == 400 and "UPPER_SNAKE_CASE" in r.json()["message"]
    made = hma.call("POST", "/hma/c/banks", json={"name": "MY_TEST_BANK_01"})
    assert made.status_code == 201
    assert made.json() == {"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}
    assert hma.call("GET", "/hma/c/banks").json() == [made.json()]
    again = hma.call("POST", "/hma/c/banks", json={"name": "MY_TEST_BANK_01"})
    assert again.status_code == 403 and again.json() == {"message": "Bank already exists"}
    off = hma.call("PUT", "/hma/c/bank/MY_TEST_BANK_01", json={"enabled": False})
    assert off.status_code == 200 and off.json()["matching_enabled_ratio"] == 0
    assert hma.call("GET", "/hma/c/bank/MY_TEST_BANK_01").json()["matching_enabled_ratio"] == 0
    on = hma.call("PUT", "/hma/c/bank/MY_TEST_BANK_01", json={"enabled_ratio": 1})
    assert on.json()["matching_enabled_ratio"] == 1
    half = hma.call("PUT", "/hma/c/bank/MY_TEST_BANK_01", json={"enabled_ratio": 0.5})
    assert half.status_code == 400 and "coin flip" in half.json()["message"]
    rename = hma.call("PUT", "/hma/c/bank/MY_TEST_BANK_01", json={"name": "RENAMED"})
    assert rename.status_code == 400
    gone = hma.call("DELETE", "/hma/c/bank/MY_TEST_BANK_01")
    assert gone.status_code == 409 and "audit" in gone.json()["message"]
    missing = hma.call("GET", "/hma/c/bank/NO_SUCH_BANK")
    assert missing.status_code == 404 and missing.json() == {
        "message": "bank 'NO_SUCH_BANK' not found"
    }
    versions = [h["action"] for h in hma.store.banks.open(hma.media / "banks", _admin()).history()]
    assert versions[:3] == ["create", "update enabled", "update enabled"]


def _admin() -> Actor:
    return Actor("adam", Role.ADMIN, org_id=ORG_A)


def test_content_added_then_found_by_every_lookup(hma: Hma) -> None:
    _bank(hma, "NEW_BANK")
    expected = hash_image_bytes(PHOTO)
    added = _add_photo(hma, "NEW_BANK")
    cid = added["id"]
    assert isinstance(cid, int) and 0 < cid < 2**53
    assert added["signals"] == {"pdq": expected.pdq, "md5": expected.md5, "sha256": expected.sha256}
    assert _add_photo(hma, "NEW_BANK")["id"] == cid  # the same content, the same id

    raw = hma.call("GET", f"/hma/m/raw_lookup?signal_type=pdq&signal={expected.pdq}")
    assert raw.json() == {"matches": [cid]}
    near = hash_image_bytes(PHOTO_JPEG).pdq
    assert near != expected.pdq
    with_distance = hma.call(
        "GET", f"/hma/m/raw_lookup?signal_type=pdq&signal={near}&include_distance=true"
    ).json()["matches"]
    assert [m["bank_content_id"] for m in with_distance] == [cid]
    assert isinstance(with_distance[0]["distance"], str) and int(with_distance[0]["distance"]) > 0

    by_signal = hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={near}", key="platform")
    assert by_signal.status_code == 200
    assert by_signal.json() == {"NEW_BANK": with_distance}
    by_md5 = hma.call("GET", f"/hma/m/lookup?signal_type=md5&signal={expected.md5}").json()
    assert by_md5 == {"NEW_BANK": [{"bank_content_id": cid, "distance": "0"}]}

    uploaded = hma.call(
        "POST", "/hma/m/lookup", key="analyst", files={"photo": ("x.jpg", PHOTO_JPEG)}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json() == {"pdq": {"NEW_BANK": with_distance}, "md5": {}, "sha256": {}}
    elsewhere = hma.call("POST", "/hma/m/lookup?banks=OTHER_BANK", files={"photo": ("x", PHOTO)})
    assert elsewhere.json() == {"pdq": {}, "md5": {}, "sha256": {}}
    unrelated = hma.call("POST", "/hma/m/lookup", files={"photo": ("x.png", OTHER)})
    assert unrelated.json() == {"pdq": {}, "md5": {}, "sha256": {}}

    hma.call("PUT", "/hma/c/bank/NEW_BANK", json={"enabled": False})
    assert hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={near}").json() == {}
    hma.call("PUT", "/hma/c/bank/NEW_BANK", json={"enabled": True})
    assert hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={near}").json() != {}


def test_content_read_and_deleted_by_its_id(hma: Hma) -> None:
    _bank(hma, "READ_BANK")
    photo = encode(noise(seed=77))
    added = _add_photo(hma, "READ_BANK", photo)
    cid = added["id"]
    got = hma.call("GET", f"/hma/c/bank/READ_BANK/content/{cid}")
    assert got.status_code == 200
    assert got.json() == {
        "id": cid,
        "disable_until_ts": 0,
        "original_media_uri": None,
        "bank": {"name": "READ_BANK", "matching_enabled_ratio": 1.0},
    }
    signals = hma.call("GET", f"/hma/c/bank/READ_BANK/content/{cid}?include_signals=true")
    assert signals.json()["signals"] == added["signals"]
    assert hma.call("GET", f"/hma/c/bank/READ_BANK/content/{cid + 1}").status_code == 404
    deleted = hma.call("DELETE", f"/hma/c/bank/READ_BANK/content/{cid}")
    assert deleted.json() == {"deleted": 1}
    pdq = added["signals"]["pdq"]
    assert hma.call("GET", f"/hma/m/raw_lookup?signal_type=pdq&signal={pdq}").json() == {
        "matches": []
    }
    assert hma.call("DELETE", f"/hma/c/bank/READ_BANK/content/{cid}").json() == {"deleted": 0}


def test_signals_added_as_json_and_listed_entries_get_stable_ids(hma: Hma) -> None:
    _bank(hma, "SIGNAL_BANK")
    pdq = hash_image_bytes(encode(shapes(seed=88))).pdq
    r = hma.call("POST", "/hma/c/bank/SIGNAL_BANK/signal", json={"pdq": pdq, "note": "from x"})
    assert r.status_code == 200 and r.json()["signals"] == {"pdq": pdq}
    assert hma.call("GET", f"/hma/m/raw_lookup?signal_type=pdq&signal={pdq}").json() == {
        "matches": [r.json()["id"]]
    }
    bad = hma.call("POST", "/hma/c/bank/SIGNAL_BANK/signal", json={"pdq": "zz"})
    assert bad.status_code == 400 and "pdq" in bad.json()["message"]
    unknown = hma.call("POST", "/hma/c/bank/SIGNAL_BANK/signal", json={"tmk": "00"})
    assert unknown.status_code == 400
    # an entry listed by the CLI (no HMA label) has an id derived from what it is
    md5 = hashlib.md5(b"listed elsewhere", usedforsecurity=False).hexdigest()
    hma.store.banks.open(hma.media / "banks", _admin()).add("SIGNAL_BANK", [BankEntry("md5", md5)])
    cid = entry_content_id("SIGNAL_BANK", "md5", md5, ())
    looked_up = hma.call("GET", f"/hma/m/lookup?signal_type=video_md5&signal={md5}").json()
    assert looked_up == {"SIGNAL_BANK": [{"bank_content_id": cid, "distance": "0"}]}
    listed = hma.call("GET", f"/hma/c/bank/SIGNAL_BANK/content/{cid}?include_signals=true")
    assert listed.json()["signals"] == {"md5": md5}


def test_index_status_counts_the_enabled_banks(hma: Hma) -> None:
    _bank(hma, "COUNTED_BANK")
    _add_photo(hma, "COUNTED_BANK", encode(shapes(seed=99)))
    status = hma.call("GET", "/hma/m/index/status?signal_type=pdq", key="platform").json()
    assert set(status) == {"pdq"} and status["pdq"]["present"] is True
    before = status["pdq"]["size"]
    assert before >= 1 and status["pdq"]["built_to"] > 0
    hma.call("PUT", "/hma/c/bank/COUNTED_BANK", json={"enabled": False})
    after = hma.call("GET", "/hma/m/index/status?signal_type=pdq").json()["pdq"]["size"]
    assert after == before - 1
    assert hma.call("GET", "/hma/m/index/status?signal_type=nope").status_code == 400


def test_organisations_and_roles_are_kept(hma: Hma) -> None:
    _bank(hma, "ORG_A_BANK")
    added = _add_photo(hma, "ORG_A_BANK", encode(shapes(seed=55)))
    pdq = added["signals"]["pdq"]
    assert "ORG_A_BANK" not in [
        b["name"] for b in hma.call("GET", "/hma/c/banks", "admin_b").json()
    ]
    assert hma.call("GET", "/hma/c/bank/ORG_A_BANK", "admin_b").status_code == 404
    url = f"/hma/m/raw_lookup?signal_type=pdq&signal={pdq}"
    assert hma.call("GET", url, "admin_b").json() == {"matches": []}
    assert hma.call("GET", url, "admin").json() == {"matches": [added["id"]]}
    for key in ("platform", "analyst"):
        refused = hma.call("POST", "/hma/c/banks", key, json={"name": "NOT_ALLOWED"})
        assert refused.status_code == 403
    assert hma.call("GET", url, "platform").status_code == 200


def test_urls_and_unknown_exchanges_are_refused_in_hma_shape(hma: Hma) -> None:
    url = hma.call("GET", "/hma/m/lookup?url=http://127.0.0.1:9/x.png")
    assert url.status_code == 400 and "url" in url.json()["message"]
    for path in ("/hma/c/exchange/X", "/hma/c/exchange/X/status"):
        r = hma.call("GET", path)
        assert r.status_code == 404 and r.json() == {"message": "Exchange 'X' not found"}


def test_an_upload_is_never_written_to_disk(hma: Hma, disk_writes: list[str]) -> None:
    data = encode(noise(1000, 800, seed=5), "BMP")
    assert len(data) > 2_000_000  # above the 1 MB at which UploadFile would spool
    r = hma.call("POST", "/hma/m/lookup", files={"photo": ("big.bmp", data)})
    assert r.status_code == 200, r.text
    assert disk_writes == []


def test_the_prefix_is_configurable_and_can_be_turned_off(tmp_path: Path) -> None:
    from typer import BadParameter

    from daybreak.cli.serve import parse_hma_prefix

    store = TiplineStore(
        f"sqlite+pysqlite:///{tmp_path / 'p.db'}", Keyring.from_text(generate_key())
    )
    try:
        moved = create_app(Settings(data_dir=tmp_path, hma_prefix="/compat/hma"), store)
        off = create_app(Settings(data_dir=tmp_path, hma_prefix=None), store)
        paths = set(moved.openapi()["paths"])
        assert "/compat/hma/m/lookup" in paths and "/hma/m/lookup" not in paths
        assert "/v1/media/match" in set(off.openapi()["paths"])
        assert not any(p.startswith("/hma") for p in off.openapi()["paths"])
    finally:
        store.close()
    assert parse_hma_prefix("compat/hma/") == "/compat/hma"
    assert parse_hma_prefix("") is None
    with pytest.raises(BadParameter, match="path segments"):
        parse_hma_prefix("/h m a")
