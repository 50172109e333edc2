"""Sample intake records for the tipline tests (neutral, synthetic values)."""

from __future__ import annotations

from typing import Any

from daybreak.tipline.intake import ReportIn


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "reporter": {
            "type": "platform",
            "organisation": "ExampleStream",
            "email": "Safety@Example.COM",
        },
        "incident_type": "online_enticement",
        "occurred_at": "2026-11-27T21:15:00+08:00",
        "service": "examplestream",
        "reported_accounts": [
            {
                "service": "ExampleStream",
                "account_id": "u-1001",
                "username": "Night_Owl",
                "ip_events": [{"ip": "49.145.0.1", "at": "2026-11-27T13:00:00Z", "port": 443}],
                "phones": ["+63 917 123 4567"],
            }
        ],
        "victim": {"age_estimate": 11, "country": "PH"},
        "payment_identifiers": [{"kind": "payment_handle", "value": "GCash:+639171234567"}],
        "urls": ["HTTPS://WWW.Example.com/live/room-9/"],
        "media_hashes": [{"type": "md5", "value": "B0754AF766B426F2928A02C651ED4B99"}],
        "description": "Synthetic test report.",
    }
    base.update(overrides)
    return base


def report(**overrides: Any) -> ReportIn:
    return ReportIn.model_validate(body(**overrides))
