"""POST /v1/reports and friends over real HTTP: acknowledgement, idempotency, auth,
roles, rate limits and bad input (each a 4xx naming the field, nothing stored)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import Api

GOOD: dict[str, Any] = {
    "reporter": {"type": "platform", "organisation": "ExampleStream"},
    "incident_type": "live_streaming_abuse",
    "is_live": True,
    "occurred_at": "2026-11-28T08:00:00Z",
    "reported_accounts": [
        {
            "service": "examplestream",
            "account_id": "u9",
            "ip_events": [{"ip": "49.145.0.1", "at": "2026-11-28T07:59:00Z"}],
        }
    ],
    "victim": {"age_estimate": 9, "country": "PH"},
}


def _post(c: httpx.Client, body: Any, **headers: str) -> httpx.Response:
    return c.post("/v1/reports", json=body, headers=headers)


def test_accepted_report_is_stored_and_readable(api: Api) -> None:
    with api.client(api.platform_key) as c:
        r = _post(c, GOOD)
        assert r.status_code == 202, r.text
        rid = r.json()["report_id"]
        assert r.headers["location"] == f"/v1/reports/{rid}"
        assert rid in api.store.reports.ids()  # committed before the 202
        mine = c.get(f"/v1/reports/{rid}").json()
        assert set(mine) == {"report_id", "received_at", "source"}  # receipt only
    with api.analyst() as a:
        full = a.get(f"/v1/reports/{rid}").json()
        assert full["tier"] == 1 and "WCPC" in full["agency"]
        assert full["report"]["reported_accounts"][0]["account_id"] == "u9"
        queue = a.get("/v1/queue").json()
        assert queue[0]["tier"] == 1


def test_idempotency_key_replays(api: Api) -> None:
    with api.client(api.platform_key) as c:
        a = _post(c, GOOD, **{"Idempotency-Key": "retry-1"})
        b = _post(c, GOOD, **{"Idempotency-Key": "retry-1"})
        assert a.json()["report_id"] == b.json()["report_id"]
        assert b.json()["duplicate"] is True and b.headers["idempotent-replayed"] == "true"
        changed = _post(c, {**GOOD, "is_live": False}, **{"Idempotency-Key": "retry-1"})
        assert changed.status_code == 422
        assert changed.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_authentication_and_roles(api: Api) -> None:
    with api.client() as anon:
        assert _post(anon, GOOD).status_code == 401
        assert anon.get("/v1/cases").status_code == 401
    with api.client("dbk_nope_nope") as bad:
        assert _post(bad, GOOD).status_code == 401
    with api.client(api.platform_key) as platform:
        assert platform.get("/v1/cases").status_code == 403
        assert platform.get("/v1/queue").status_code == 403
        assert platform.get("/v1/audit/verify").status_code == 403
    with api.analyst() as analyst:
        assert analyst.get("/v1/audit/verify").status_code == 403
        assert analyst.get("/v1/cases").status_code == 200
    with api.client(api.admin_key) as admin:
        assert admin.get("/v1/audit/verify").json()["ok"] is True
    with api.client() as anon:
        assert (
            anon.post(
                "/v1/auth/login", json={"username": "ana", "password": "wrong-password"}
            ).status_code
            == 401
        )


def test_rate_limit_per_key(api: Api) -> None:
    with api.client(api.slow_key) as c:
        codes = [_post(c, GOOD).status_code for _ in range(5)]
    assert codes[:3] == [202, 202, 202]
    assert codes[3] == 429


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"occurred_at": "2026-11-28T08:00:00"}, ["body", "occurred_at"]),
        ({"incident_type": "unknown"}, ["body", "incident_type"]),
        ({"victim": {"phone": "12345"}}, ["body", "victim", "phone"]),
        (
            {
                "reported_accounts": [
                    {
                        "service": "s",
                        "account_id": "a",
                        "ip_events": [{"ip": "1.2.3", "at": "2026-11-28T08:00:00Z"}],
                    }
                ]
            },
            ["body", "reported_accounts", 0, "ip_events", 0, "ip"],
        ),
        ({"surprise": True}, ["body", "surprise"]),
    ],
)
def test_invalid_fields_get_a_422_naming_them_and_store_nothing(
    api: Api, patch: dict[str, Any], loc: list[Any]
) -> None:
    before = api.store.reports.count()
    with api.client(api.platform_key) as c:
        r = _post(c, {**GOOD, **patch})
    assert r.status_code == 422
    assert loc in [d["loc"] for d in r.json()["detail"]]
    assert "input" not in r.json()["detail"][0]  # submitted values are not echoed
    assert api.store.reports.count() == before


def test_malformed_and_oversized_bodies(api: Api) -> None:
    before = api.store.reports.count()
    with api.client(api.platform_key) as c:
        bad = c.post(
            "/v1/reports", content=b'{"reporter": ', headers={"content-type": "application/json"}
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][0] == "body"
        huge = {**GOOD, "description": "x" * 100_000}
        assert _post(c, huge).status_code == 413

        def chunks() -> Any:
            yield b'{"description": "'
            for _ in range(100):
                yield b"y" * 1000
            yield b'"}'

        streamed = c.post(
            "/v1/reports", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert (
            c.post(
                "/v1/reports",
                content=json.dumps([1, 2]),
                headers={"content-type": "application/json"},
            ).status_code
            == 422
        )
    assert api.store.reports.count() == before


XXE = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><report>&x;</report>'
BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><report>&c;</report>'
)


@pytest.mark.shared
def test_ncmec_xml_intake(api: Api, shared_dir: Path) -> None:
    before = api.store.reports.count()
    xml = {"content-type": "application/xml"}
    with api.client(api.platform_key) as c:
        for payload, why in (
            (XXE, "unsafe"),
            (BOMB, "unsafe"),
            (b"<report><open>", "malformed"),
            (b"<report/>", ""),
        ):
            r = c.post("/v1/reports/ncmec", content=payload, headers=xml)
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"] == ["body"] and why in r.json()["detail"][0]["msg"]
        assert api.store.reports.count() == before
        example = (
            shared_dir / "standards/ncmec/examples/minimal_report.from_ncmec_docs.xml"
        ).read_bytes()
        ok = c.post("/v1/reports/ncmec", content=example, headers=xml)
        assert ok.status_code == 202, ok.text
    assert api.store.reports.count() == before + 1


def test_health_and_openapi(api: Api) -> None:
    with api.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json() == {"status": "ready"}
        spec = c.get("/openapi.json").json()
        assert {
            "/v1/reports",
            "/v1/reports/ncmec",
            "/v1/cases",
            "/v1/cases/{case_id}/transition",
        } <= set(spec["paths"])
        assert "X-API-Key" in json.dumps(spec["components"]["securitySchemes"])
        js = c.get("/static/report-button.js")
        assert js.status_code == 200 and "Idempotency-Key" in js.text


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
@pytest.mark.parametrize("path", ["/v1/reports", "/v1/reports/validate"])
def test_intake_needs_a_json_content_type(api: Api, path: str, content_type: str | None) -> None:
    """Issue #18 item 9: any Content-Type was accepted (a cross-site form post could
    carry a JSON body as text/plain)."""
    before = api.store.reports.count()
    headers = {"content-type": content_type} if content_type else {}
    with api.client(api.platform_key) as c:
        r = c.post(path, content=json.dumps(GOOD), headers=headers)
        if content_type is None:  # httpx adds none for raw content
            assert "content-type" not in r.request.headers
    assert r.status_code == 415, r.text
    assert r.json()["detail"][0]["loc"] == ["header", "Content-Type"]
    assert "expected application/json" in r.json()["detail"][0]["msg"]
    assert api.store.reports.count() == before


def test_json_with_a_charset_is_accepted_and_401_comes_before_415(api: Api) -> None:
    with api.client(api.platform_key) as c:
        ok = c.post(
            "/v1/reports",
            content=json.dumps(GOOD),
            headers={"content-type": "application/json; charset=utf-8"},
        )
        assert ok.status_code == 202, ok.text
        checked = c.post(
            "/v1/reports/validate",
            content=json.dumps(GOOD),
            headers={"content-type": "Application/JSON"},
        )
        assert checked.status_code == 200, checked.text
    with api.client() as anon:
        for path in ("/v1/reports", "/v1/reports/validate"):
            r = anon.post(path, content=b"x", headers={"content-type": "text/plain"})
            assert r.status_code == 401


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"occurred_at": 123}, ["body", "occurred_at"]),
        ({"victim": {"age_estimate": True, "country": "PH"}}, ["body", "victim", "age_estimate"]),
    ],
)
def test_numbers_and_booleans_are_not_coerced_on_intake(
    api: Api, patch: dict[str, Any], loc: list[Any]
) -> None:
    before = api.store.reports.count()
    with api.client(api.platform_key) as c:
        r = _post(c, {**GOOD, **patch})
    assert r.status_code == 422 and loc in [d["loc"] for d in r.json()["detail"]]
    assert api.store.reports.count() == before
