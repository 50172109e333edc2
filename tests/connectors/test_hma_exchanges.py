"""HMA's exchange routes (``/hma/c/exchanges...``, ``/hma/c/exchange/...``,
``/hma/dev/run_fetch``) over Daybreak's exchanges, driven with requests shaped as HMA
2.0's own tests send them (``OpenMediaMatch/tests/test_api.py``: ``{"credential_json":
dataclass_dump_dict(FBThreatExchangeCredentials(...))}``, ``{"api", "bank",
"api_json"}``, ``{"enabled"}``) against the local exchange servers the CLI's tests use
(tests/connectors/exchange_servers.py). The only addition an HMA client makes is
Daybreak's ``X-API-Key`` header."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeCredentials,
)
from threatexchange.exchanges.impl.ncmec_api import NCMECCredentials
from threatexchange.exchanges.impl.stop_ncii_api import StopNCIICredentials
from threatexchange.utils import dataclass_json

from daybreak.api import Settings, create_app
from daybreak.store import Actor, Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key

from .exchange_servers import (
    NCMEC_PREFIX,
    STOPNCII_PREFIX,
    TX_PREFIX,
    Exchange,
    NcmecHandler,
    StopNciiHandler,
    StopNciiRecord,
    TxHandler,
    TxUpdate,
    serve,
)
from .test_hash_exchange import (
    NCMEC_SECRET,
    STOPNCII_SECRET,
    T0,
    TX_SECRET,
    clock,  # noqa: F401  (a fixture)
    md5,
    ncmec_entries,
    pdq,
    tx_updates,
)

ORG_A, ORG_B = "org-a", "org-b"
TX = "fb_threatexchange"
STATUS_FIELDS = {
    "checkpoint_ts", "running_fetch_start_ts", "last_fetch_complete_ts",
    "last_fetch_succeeded", "up_to_date", "fetched_items",
}  # fmt: skip


@dataclass
class Hma:
    app: FastAPI
    store: TiplineStore
    media: Path
    keys: dict[str, str]

    def call(self, method: str, url: str, key: str = "admin", **kw: Any) -> httpx.Response:
        headers = {"X-API-Key": self.keys[key], **kw.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.request(method, url, headers=headers, **kw)

        return asyncio.run(go())

    def actor(self, org: str = ORG_A) -> Actor:
        return Actor("adam", Role.ADMIN, org_id=org)


@pytest.fixture
def hma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hma]:
    for var in ("DAYBREAK_THREATEXCHANGE_TOKEN", "DAYBREAK_NCMEC_HASHSHARING"):
        monkeypatch.delenv(var, raising=False)  # only what the API sets counts here
    store = TiplineStore(f"sqlite+pysqlite:///{tmp_path / 'hma.db'}", Keyring.from_text(generate_key()))  # fmt: skip
    for org in (ORG_A, ORG_B):
        store.organisations.create(org, org.upper())
    admin_a = Actor("adam", Role.ADMIN, org_id=ORG_A)
    keys = {
        "admin": store.api_keys.create("a-admin", Role.ADMIN, actor=admin_a),
        "supervisor": store.api_keys.create("a-sup", Role.SUPERVISOR, actor=admin_a),
        "analyst": store.api_keys.create("a-analyst", Role.ANALYST, actor=admin_a),
        "admin_b": store.api_keys.create(
            "b-admin", Role.ADMIN, actor=Actor("bob", Role.ADMIN, org_id=ORG_B)
        ),
    }
    app = create_app(Settings(data_dir=tmp_path), store)
    app.state.media_home = tmp_path / "media"
    try:
        yield Hma(app, store, tmp_path / "media", keys)
    finally:
        store.close()


def _set_tx_token(hma: Hma, key: str = "admin") -> httpx.Response:
    creds = FBThreatExchangeCredentials(TX_SECRET)
    body = {"credential_json": dataclass_json.dataclass_dump_dict(creds)}
    return hma.call("POST", f"/hma/c/exchanges/api/{TX}", key, json=body)


def _tx_exchange(hma: Hma, base: str, name: str = "TX_PDQ") -> httpx.Response:
    collab = FBThreatExchangeCollabConfig(name=name, privacy_group=1234)
    api_json = dataclass_json.dataclass_dump_dict(collab)
    for key in ("name", "api", "enabled"):  # HMA's UI sends the type's own fields
        api_json.pop(key)
    api_json["endpoint"] = base  # Daybreak's: the local server instead of graph.facebook.com
    return hma.call(
        "POST", "/hma/c/exchanges", json={"api": TX, "bank": name, "api_json": api_json}
    )


def test_credentials_are_kept_as_the_cli_keeps_them_and_never_answered(hma: Hma) -> None:
    assert set(hma.call("GET", "/hma/c/exchanges/apis").json()) == {
        "ncmec", "fb_threatexchange", "stop_ncii",
    }  # fmt: skip
    unset = {"supports_authentification": True, "has_set_authentification": False}
    assert hma.call("GET", f"/hma/c/exchanges/api/{TX}").json() == unset
    r = _set_tx_token(hma)
    assert r.status_code == 200 and r.json() == {**unset, "has_set_authentification": True}
    assert TX_SECRET.split("|")[1] not in r.text
    assert hma.call("GET", f"/hma/c/exchanges/api/{TX}").json()["has_set_authentification"]
    # a file only its owner reads, holding the token as a sync reads it
    path = hma.media / "exchange-credentials" / ORG_A / TX
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == TX_SECRET
    # another organisation has its own credentials
    assert hma.call("GET", f"/hma/c/exchanges/api/{TX}", "admin_b").json() == unset
    # audited without the value
    trail = [(a.action, a.object_id, a.detail) for a in hma.store.audit.trail(hma.actor())]
    assert ("exchange.credentials_set", TX, {}) in [(a, o, d or {}) for a, o, d in trail]
    assert TX_SECRET.split("|")[1] not in repr(trail)
    # a bad credential is refused without echoing it; {} unsets (HMA's test)
    bad = hma.call(
        "POST", f"/hma/c/exchanges/api/{TX}", json={"credential_json": {"api_token": "nopipe-x"}}
    )
    assert bad.status_code == 400 and "appid|secret" in bad.json()["message"]
    assert "nopipe-x" not in bad.text and path.read_text() == TX_SECRET
    cleared = hma.call("POST", f"/hma/c/exchanges/api/{TX}", json={"credential_json": {}})
    assert cleared.json() == unset and not path.exists()
    ncmec = dataclass_json.dataclass_dump_dict(NCMECCredentials("espuser", "pw-1234"))
    r = hma.call("POST", "/hma/c/exchanges/api/ncmec", json={"credential_json": ncmec})
    assert r.json()["has_set_authentification"]
    assert (hma.media / "exchange-credentials" / ORG_A / "ncmec").read_text() == "espuser:pw-1234"
    # StopNCII: python-threatexchange's class as JSON (base_url_override null), with the
    # feedback endpoint's own key; a base URL is the exchange's endpoint, not a credential
    keys = {"fetch_function_key": "fk-1", "subscription_key": "sk-22", "base_url_override": None}
    r = hma.call("POST", "/hma/c/exchanges/api/stop_ncii",
                 json={"credential_json": {**keys, "feedback_function_key": "fb-333"}})  # fmt: skip
    assert r.status_code == 200 and r.json()["has_set_authentification"]
    assert (hma.media / "exchange-credentials" / ORG_A / "stop_ncii").read_text() == "fk-1,sk-22,fb-333"  # fmt: skip
    moved = {**keys, "base_url_override": "http://127.0.0.1:9"}
    r = hma.call("POST", "/hma/c/exchanges/api/stop_ncii", json={"credential_json": moved})
    assert r.status_code == 400 and "endpoint" in r.json()["message"]
    r = hma.call("POST", "/hma/c/exchanges/api/ncmec", json={"credential_json": {"user": "u"}})
    assert r.status_code == 400 and "missing: password" in r.json()["message"]


def test_schema_names_the_python_threatexchange_fields(hma: Hma) -> None:
    data = hma.call("GET", f"/hma/c/exchanges/api/{TX}/schema").json()
    config = {f["name"]: f for f in data["config_schema"]["fields"]}
    assert config["privacy_group"]["type"] == "number" and config["privacy_group"]["required"]
    assert "name" not in config and "enabled" not in config
    creds = {f["name"]: f for f in data["credentials_schema"]["fields"]}
    assert creds["api_token"]["type"] == "string" and creds["api_token"]["required"]
    ncmec = hma.call("GET", "/hma/c/exchanges/api/ncmec/schema").json()
    env = {f["name"]: f for f in ncmec["config_schema"]["fields"]}["environment"]
    assert env["type"] == "enum" and NCMECEnvironment.test_Industry.value in env["choices"]
    missing = hma.call("GET", "/hma/c/exchanges/api/nope/schema")
    assert missing.status_code == 404 and missing.json() == {"message": "Exchange API 'nope' not found"}  # fmt: skip


def test_an_exchange_created_synced_disabled_and_deleted_through_the_api(hma: Hma) -> None:
    ex = Exchange(TX_SECRET, page_size=2, entries=tx_updates())
    with serve(TxHandler, ex, TX_PREFIX) as base:
        _set_tx_token(hma)
        created = _tx_exchange(hma, base)
        assert created.status_code == 201 and created.json() == {"message": "Created successfully"}
        assert hma.call("GET", "/hma/c/exchanges").json() == ["TX_PDQ"]
        shown = hma.call("GET", "/hma/c/exchange/TX_PDQ").json()
        assert shown == {"name": "TX_PDQ", "api": TX, "enabled": True, "privacy_group": 1234,
                         "endpoint": base}  # fmt: skip
        before = hma.call("GET", "/hma/c/exchange/TX_PDQ/status").json()
        assert before == {"checkpoint_ts": None, "running_fetch_start_ts": None,
                          "last_fetch_complete_ts": None, "last_fetch_succeeded": None,
                          "up_to_date": False, "fetched_items": 0}  # fmt: skip
        # a sync through HMA's API path: every page, into the bank the exchange fills
        ran = hma.call("POST", "/hma/dev/run_fetch")
        assert ran.status_code == 200, ran.text
        counts = ran.json()["exchanges"]["TX_PDQ"]
        assert counts["pages"] == 3 and counts["hashes_added"] == 5
        status = hma.call("GET", "/hma/c/exchange/TX_PDQ/status").json()
        assert set(status) == STATUS_FIELDS
        assert status["checkpoint_ts"] == T0 - 496  # the last update's time
        assert status["last_fetch_succeeded"] is True and status["up_to_date"] is True
        assert status["running_fetch_start_ts"] is None and status["fetched_items"] == 5
        assert isinstance(status["last_fetch_complete_ts"], int)
        # the synced hashes match at once, under the exchange's bank
        found = hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={pdq('t2')}").json()
        assert list(found) == ["TX_PDQ"]
        # an analyst's opinion goes out with the next fetch, even when the sync fails
        hma.store.exchanges.queue_opinion(hma.actor(), "pdq", pdq("t2"), "false_positive", "C-1")
        ex.fail_paged = 1
        ex.entries += [TxUpdate(300 + i, pdq(f"n{i}"), "HASH_PDQ", T0 + i, []) for i in range(3)]
        round_ = hma.call("POST", "/hma/dev/run_fetch").json()
        failed = round_["exchanges"]["TX_PDQ"]
        assert "error" in failed and TX_SECRET.split("|")[1] not in failed["error"]
        assert round_["opinions"]["sent"] == 1
        assert ex.feedback == [("/902/", "reactions=NOT_HELPFUL")]
        status = hma.call("GET", "/hma/c/exchange/TX_PDQ/status").json()
        assert status["last_fetch_succeeded"] is False and status["up_to_date"] is False
        # disabled: shown so, and not fetched
        off = hma.call("PUT", "/hma/c/exchange/TX_PDQ", json={"enabled": False})
        assert off.status_code == 200 and off.json()["enabled"] is False
        asked = len(ex.requests)
        assert hma.call("POST", "/hma/dev/run_fetch").json()["exchanges"] == {}
        assert len(ex.requests) == asked
    trail = {a.action for a in hma.store.audit.trail(hma.actor())}
    assert {"exchange.add", "exchange.sync", "exchange.disable"} <= trail
    gone = hma.call("DELETE", "/hma/c/exchange/TX_PDQ")
    assert gone.status_code == 200 and gone.json() == {"message": "Exchange deleted"}
    assert hma.call("GET", "/hma/c/exchanges").json() == []
    assert hma.call("GET", "/hma/c/exchange/TX_PDQ").status_code == 404
    assert hma.call("DELETE", "/hma/c/exchange/TX_PDQ").status_code == 200  # as HMA: idempotent
    assert "exchange.remove" in {a.action for a in hma.store.audit.trail(hma.actor())}


def test_ncmec_by_its_environment_url_and_esp_ids(
    hma: Hma,
    clock: list[int],  # noqa: F811
) -> None:
    ex = Exchange(NCMEC_SECRET, page_size=10, entries=ncmec_entries())
    user, password = NCMEC_SECRET.split(":")
    creds = dataclass_json.dataclass_dump_dict(NCMECCredentials(user, password))
    with serve(NcmecHandler, ex, NCMEC_PREFIX) as base:
        hma.call("POST", "/hma/c/exchanges/api/ncmec", json={"credential_json": creds})
        api_json = {"environment": NCMECEnvironment.test_Industry.value, "only_esp_ids": [43],
                    "endpoint": base}  # fmt: skip
        r = hma.call("POST", "/hma/c/exchanges", json={"api": "ncmec", "bank": "NCMEC_VIDEO",
                                                        "api_json": api_json})  # fmt: skip
        assert r.status_code == 201, r.text
        assert hma.call("POST", "/hma/dev/run_fetch").status_code == 200
    shown = hma.call("GET", "/hma/c/exchange/NCMEC_VIDEO").json()
    assert shown["environment"] == NCMECEnvironment.test_Industry.value
    assert shown["only_esp_ids"] == [43]
    stored = hma.store.exchanges.get(hma.actor(), "NCMEC_VIDEO").config
    assert stored["environment"] == "test_Industry"  # as the CLI stores it
    banks = hma.store.banks.open(hma.media / "banks", hma.actor())
    assert set(banks.entries("NCMEC_VIDEO")["hash"].to_list()) == {md5("v0")}  # ESP 43 only
    assert hma.call("GET", "/hma/c/exchange/NCMEC_VIDEO/status").json()["fetched_items"] == 1


def test_stopncii_through_the_api_resumes_withdraws_and_takes_feedback(
    hma: Hma, monkeypatch: pytest.MonkeyPatch
) -> None:
    """StopNCII set up, fetched and answered through HMA's routes only: the
    credentials as HMA's UI posts python-threatexchange's ``StopNCIICredentials`` (and
    Daybreak's feedback key), the collaboration with no fields of its own, a fetch
    that fails mid-way and resumes, a withdrawal, and an opinion sent as feedback."""
    from daybreak.connectors import hash_exchange

    monkeypatch.delenv("DAYBREAK_STOPNCII_KEYS", raising=False)
    monkeypatch.setattr(hash_exchange, "BLOCK_ITEMS", 2)  # a transaction per page here
    fetch_key, subscription_key, feedback_key = STOPNCII_SECRET.split(",")
    records = [StopNciiRecord(pdq(f"s{i}"), "ImagePDQ", 100 + i) for i in range(5)]
    records.append(StopNciiRecord(md5("s5"), "VideoMD5", 105))
    ex = Exchange(STOPNCII_SECRET, page_size=2, entries=records)
    creds = dataclass_json.dataclass_dump_dict(StopNCIICredentials(fetch_key, subscription_key))
    creds["feedback_function_key"] = feedback_key
    with serve(StopNciiHandler, ex, STOPNCII_PREFIX) as base:
        set_creds = hma.call("POST", "/hma/c/exchanges/api/stop_ncii", json={"credential_json": creds})  # fmt: skip
        assert set_creds.status_code == 200, set_creds.text
        body = {"api": "stop_ncii", "bank": "STOPNCII", "api_json": {"endpoint": base}}
        assert hma.call("POST", "/hma/c/exchanges", json=body).status_code == 201
        ex.fail_paged = 5  # the second page fails every retry of the client
        failed = hma.call("POST", "/hma/dev/run_fetch").json()["exchanges"]["STOPNCII"]
        assert set(failed) == {"error"}
        assert all(part not in failed["error"] for part in STOPNCII_SECRET.split(","))
        banks = hma.store.banks.open(hma.media / "banks", hma.actor())
        assert set(banks.entries("STOPNCII")["hash"].to_list()) == {pdq("s0"), pdq("s1")}
        resumed = hma.call("POST", "/hma/dev/run_fetch").json()["exchanges"]["STOPNCII"]
        assert resumed["hashes_added"] == 4 and resumed["pages"] == 3  # from s1 (at 101) on
        assert "startTimestamp=101" in ex.requests[-3]  # from the stored checkpoint on
        status = hma.call("GET", "/hma/c/exchange/STOPNCII/status").json()
        assert status["checkpoint_ts"] == 105 and status["up_to_date"] is True
        assert status["fetched_items"] == 6
        found = hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={pdq('s3')}").json()
        assert list(found) == ["STOPNCII"]
        # the person withdrew one image: it leaves the bank and stops matching
        records[3].status, records[3].modified = "Withdrawn", 200
        gone = hma.call("POST", "/hma/dev/run_fetch").json()["exchanges"]["STOPNCII"]
        assert (gone["items_deleted"], gone["hashes_removed"]) == (1, 1)
        assert hma.call("GET", f"/hma/m/lookup?signal_type=pdq&signal={pdq('s3')}").json() == {}
        # an analyst's confirmation goes back as StopNCII feedback with the next fetch
        hma.store.exchanges.queue_opinion(hma.actor(), "pdq", pdq("s1"), "true_positive", "C-9")
        assert hma.call("POST", "/hma/dev/run_fetch").json()["opinions"]["sent"] == 1
    path, sent = ex.feedback[-1]
    assert path == "/SubmitFeedback"
    assert json.loads(sent)["hashFeedbacks"][0] == {
        "hashValue": pdq("s1"), "feedbackValue": "Blocked", "tags": [],
    }  # fmt: skip
    expected = {pdq(f"s{i}") for i in (0, 1, 2, 4)} | {md5("s5")}
    banks = hma.store.banks.open(hma.media / "banks", hma.actor())
    assert set(banks.entries("STOPNCII")["hash"].to_list()) == expected


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"api": TX, "api_json": {"privacy_group": 1}}, 400, "bank is required"),
        ({"api": TX, "bank": "tx-pdq", "api_json": {"privacy_group": 1}}, 400, "must match"),
        ({"bank": "TX_X", "api_json": {}}, 400, "api_type` is required"),
        ({"api": "nope", "bank": "TX_X", "api_json": {}}, 400, "No such exchange type 'nope'"),
        ({"api": TX, "bank": "TX_X", "api_json": [1]}, 400, "`api_json` must be object"),
        ({"api": TX, "bank": "TX_X", "api_json": {}}, 400, "needs privacy_group"),
        ({"api": TX, "bank": "TX_X", "api_json": {"privacy_group": "x"}}, 400, "a number"),
        ({"api": TX, "bank": "TX_X", "api_json": {"privacy_group": 1, "grp": 2}}, 400, "grp"),
        ({"api": "ncmec", "bank": "N", "api_json": {"environment": "moon"}}, 400, "environment"),
    ],
)
def test_bad_input_gets_hmas_error_shape(hma: Hma, body: Any, status: int, says: str) -> None:
    r = hma.call("POST", "/hma/c/exchanges", json=body)
    assert r.status_code == status and set(r.json()) == {"message"}
    assert says in r.json()["message"]
    assert hma.call("GET", "/hma/c/exchanges").json() == []


def test_bad_bodies_duplicates_and_unknown_apis(hma: Hma) -> None:
    not_json = hma.call("POST", "/hma/c/exchanges", content=b"{bank:",
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]
    for method in ("GET", "POST"):
        r = hma.call(method, "/hma/c/exchanges/api/nope", json={"credential_json": {}})
        assert r.status_code == 400 and r.json() == {"message": "no such Exchange API 'nope'"}
    body = {"api": TX, "bank": "TX_ONE", "api_json": {"privacy_group": 7}}
    assert hma.call("POST", "/hma/c/exchanges", json=body).status_code == 201
    again = hma.call("POST", "/hma/c/exchanges", json=body)
    assert again.status_code == 409 and "exists already" in again.json()["message"]
    bad = hma.call("PUT", "/hma/c/exchange/TX_ONE", json={"enabled": "yes"})
    assert bad.status_code == 400 and "true or false" in bad.json()["message"]
    assert hma.call("GET", "/hma/c/exchange/TX_ONE").json()["enabled"] is True


def test_organisations_and_roles(hma: Hma) -> None:
    body = {"api": TX, "bank": "TX_A", "api_json": {"privacy_group": 7}}
    assert hma.call("POST", "/hma/c/exchanges", "supervisor", json=body).status_code == 201
    assert hma.call("GET", "/hma/c/exchanges", "admin_b").json() == []
    for path in ("/hma/c/exchange/TX_A", "/hma/c/exchange/TX_A/status"):
        assert hma.call("GET", path, "admin_b").status_code == 404
    assert hma.call("PUT", "/hma/c/exchange/TX_A", "admin_b", json={"enabled": False}).status_code == 404  # fmt: skip
    hma.call("DELETE", "/hma/c/exchange/TX_A", "admin_b")  # HMA's 200, and nothing removed
    assert hma.call("GET", "/hma/c/exchanges").json() == ["TX_A"]
    for method, path in (("GET", "/hma/c/exchanges"), ("POST", "/hma/dev/run_fetch"),
                         ("GET", f"/hma/c/exchanges/api/{TX}")):  # fmt: skip
        assert hma.call(method, path, "analyst").status_code == 403
