"""``POST /v1/reports`` answers exactly the same with the fast path (daybreak/api/
intake_fast.py) as through FastAPI's router: same statuses, headers and bodies for
acceptance, replays, conflicts, bad credentials, rate limits and bad input."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from daybreak.api import Settings, create_app
from daybreak.api.intake_fast import IntakeFastPath
from daybreak.store import Keyring, Role, TiplineStore
from daybreak.store.keys import generate_key

GOOD: dict[str, Any] = {
    "reporter": {"type": "platform", "organisation": "ExampleStream"},
    "incident_type": "online_enticement",
    "reported_accounts": [{"service": "examplestream", "account_id": "fast-1"}],
    "victim": {"age_estimate": 11, "country": "PH"},
}
KEPT_HEADERS = ("content-type", "www-authenticate", "retry-after", "idempotent-replayed")
REPORT_ID = re.compile(r"R-[0-9a-f]{22}")


def _without_fast_path(app: FastAPI) -> FastAPI:
    app.user_middleware = [m for m in app.user_middleware if m.cls is not IntakeFastPath]
    app.middleware_stack = None  # rebuilt on the next request
    return app


async def _exchange(app: FastAPI, keys: dict[str, str]) -> list[tuple[Any, ...]]:
    async def post(key: str | None, body: bytes, **headers: str) -> httpx.Response:
        if key:
            headers["X-API-Key"] = keys[key]
        headers.setdefault("Content-Type", "application/json")
        return await c.post("/v1/reports", content=body, headers=headers)

    good = json.dumps(GOOD).encode()
    changed = json.dumps({**GOOD, "incident_type": "grooming"}).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        responses = [
            await post(None, good),
            await post("bogus", good),
            await post("platform", good, **{"Idempotency-Key": "has space"}),
            await post("platform", b'{"reporter": ', **{"Idempotency-Key": "k0"}),
            await post(
                "platform", json.dumps({**GOOD, "occurred_at": "2026-11-28T08:00"}).encode()
            ),
            await post("platform", good, **{"Idempotency-Key": "k1"}),
            await post("platform", good, **{"Idempotency-Key": "k1"}),
            await post("platform", changed, **{"Idempotency-Key": "k1"}),
            await post("platform", b"x" * 5_000),
            *[await post("slow", good) for _ in range(3)],
            await c.get("/v1/reports"),
        ]
    out = []
    for r in responses:
        headers = tuple((h, r.headers.get(h)) for h in KEPT_HEADERS)
        location = r.headers.get("location")
        out.append(
            (
                r.status_code,
                headers,
                REPORT_ID.sub("R-id", r.text),
                location and REPORT_ID.sub("R-id", location),
            )
        )
    return out


def _run(tmp: Path, fast: bool) -> list[tuple[Any, ...]]:
    store = TiplineStore(
        f"sqlite+pysqlite:///{tmp / 'db.sqlite'}", Keyring.from_text(generate_key())
    )
    try:
        keys = {
            "platform": store.api_keys.create("acme", Role.PLATFORM),
            "slow": store.api_keys.create("slow", Role.PLATFORM, rate_per_minute=2),
            "bogus": "dbk_0000000000000000_not-a-secret",
        }
        app = create_app(Settings(data_dir=tmp, max_body_bytes=4_000), store)
        if not fast:
            app = _without_fast_path(app)
        return asyncio.run(_exchange(app, keys))
    finally:
        store.close()


def test_fast_path_answers_like_the_router(tmp_path: Path) -> None:
    (tmp_path / "fast").mkdir()
    (tmp_path / "router").mkdir()
    fast = _run(tmp_path / "fast", fast=True)
    routed = _run(tmp_path / "router", fast=False)
    assert [r[0] for r in fast] == [401, 401, 422, 422, 422, 202, 202, 422, 413, 202, 202, 429, 405]
    assert fast == routed
