"""The intake record: strict validation and identifier extraction."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError
from tipline_samples import body, report

from daybreak.tipline.intake import ReportIn, report_identifiers


def _error_locs(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as info:
        ReportIn.model_validate(data)
    return [tuple(e["loc"]) for e in info.value.errors()]


def test_valid_report_is_normalised() -> None:
    r = report()
    acc = r.reported_accounts[0]
    assert acc.phones == ["+639171234567"]
    assert r.reporter.email == "safety@example.com"
    assert r.urls == ["https://example.com/live/room-9"]
    assert r.media_hashes[0].value == "b0754af766b426f2928a02c651ed4b99"
    assert r.payment_identifiers[0].value == "gcash:+639171234567"
    assert r.occurred_at is not None and r.occurred_at.utcoffset() is not None


def test_identifiers_exclude_the_reporter_and_are_deduplicated() -> None:
    data = body()
    data["reported_accounts"][0]["phones"] = ["+639171234567", "+63 917 123 4567"]
    keys = {i.key for i in report_identifiers(ReportIn.model_validate(data))}
    assert "account:examplestream:u-1001" in keys
    assert "username:examplestream:night_owl" in keys
    assert "phone:+639171234567" in keys
    assert "ip:49.145.0.1" in keys
    assert "payment_handle:gcash:+639171234567" in keys
    assert "url:https://example.com/live/room-9" in keys
    assert "hash:md5:b0754af766b426f2928a02c651ed4b99" in keys
    assert not any("safety@example.com" in k for k in keys)
    phones = [i for i in report_identifiers(ReportIn.model_validate(data)) if i.kind == "phone"]
    assert len(phones) == 1


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"occurred_at": "2026-11-27T21:15:00"}, ("occurred_at",)),
        ({"incident_type": "something_else"}, ("incident_type",)),
        ({"reporter": {"type": "robot"}}, ("reporter", "type")),
        ({"victim": {"country": "XX"}}, ("victim", "country")),
        ({"victim": {"phone": "0917 123 4567"}}, ("victim", "phone")),
        ({"unexpected": 1}, ("unexpected",)),
        ({"media_hashes": [{"type": "sha256", "value": "ab" * 16}]}, ("media_hashes", 0)),
        ({"indicators": ["very_bad"]}, ("indicators", 0)),
    ],
)
def test_bad_fields_are_named(patch: dict[str, Any], loc: tuple[Any, ...]) -> None:
    assert loc in _error_locs(body(**patch))


def test_bad_ip_and_naive_ip_time_are_named() -> None:
    data = body()
    data["reported_accounts"][0]["ip_events"] = [
        {"ip": "999.1.1.1", "at": "2026-11-27T13:00:00Z"},
        {"ip": "10.0.0.1", "at": "2026-11-27T13:00:00"},
    ]
    locs = _error_locs(data)
    assert ("reported_accounts", 0, "ip_events", 0, "ip") in locs
    assert ("reported_accounts", 0, "ip_events", 1, "at") in locs


def test_a_reported_account_must_name_someone() -> None:
    assert ("reported_accounts", 0) in _error_locs(body(reported_accounts=[{"service": "x"}]))


def _victim(age: Any) -> dict[str, Any]:
    return body(victim={"age_estimate": age, "country": "PH"})


def _ip_event(**event: Any) -> dict[str, Any]:
    account = {"service": "s", "account_id": "a", "ip_events": [{"ip": "49.145.0.1", **event}]}
    return body(reported_accounts=[account])


AT = "2026-11-27T13:00:00Z"


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        (body(occurred_at=123), ("occurred_at",)),  # was read as 1970-01-01T00:02:03Z
        (body(occurred_at=1.7e9), ("occurred_at",)),
        (body(occurred_at="1764316800"), ("occurred_at",)),  # digits: seconds, too
        (body(occurred_at=True), ("occurred_at",)),
        (_ip_event(at=0), ("reported_accounts", 0, "ip_events", 0, "at")),
        (_ip_event(at=AT, port="443"), ("reported_accounts", 0, "ip_events", 0, "port")),
        (_ip_event(at=AT, port=True), ("reported_accounts", 0, "ip_events", 0, "port")),
        (_victim(True), ("victim", "age_estimate")),  # was read as 1
        (_victim(9.5), ("victim", "age_estimate")),
        (_victim("9"), ("victim", "age_estimate")),
        (body(is_live=1), ("is_live",)),
        (body(is_live="yes"), ("is_live",)),
    ],
)
def test_intake_types_are_strict(data: dict[str, Any], loc: tuple[Any, ...]) -> None:
    """Issue #18 item 9: JSON values of the wrong type were coerced, not refused."""
    with pytest.raises(ValidationError) as info:
        ReportIn.model_validate_json(json.dumps(data))
    assert loc in [tuple(e["loc"]) for e in info.value.errors()]


def test_a_number_for_a_time_is_refused_with_what_was_expected() -> None:
    with pytest.raises(ValidationError) as info:
        ReportIn.model_validate_json(json.dumps(body(occurred_at=123)))
    assert "expected an ISO 8601 date-time with a time zone" in str(info.value)
    assert "not a number" in str(info.value)


def test_strict_fields_still_take_their_proper_types() -> None:
    r = ReportIn.model_validate_json(json.dumps(body(is_live=True)))
    assert r.is_live is True and r.victim is not None and r.victim.age_estimate == 11
    assert r.reported_accounts[0].ip_events[0].port == 443
    assert r.occurred_at is not None and r.occurred_at.isoformat() == "2026-11-27T21:15:00+08:00"
