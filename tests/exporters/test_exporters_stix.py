"""STIX 2.1 bundles under the official stix2-validator in strict mode."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daybreak.exporters import export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.stix import StixExporter


def _objects(data: bytes) -> list[dict[str, Any]]:
    doc = json.loads(data)
    assert doc["type"] == "bundle"
    return list(doc["objects"])


def test_bundle_content(bundle: CaseBundle) -> None:
    objs = _objects(export_case("stix", bundle))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for o in objs:
        by_type.setdefault(o["type"], []).append(o)
    assert {"identity", "marking-definition", "file", "url", "email-addr", "user-account",
            "ipv4-addr", "indicator", "observed-data", "sighting", "grouping"} <= set(by_type)  # fmt: skip
    hashes = [f["hashes"] for f in by_type["file"]]
    assert (
        {"x_pdq": "f" * 64} in hashes
        and {"SHA-256": "a" * 64} in hashes
        and {"MD5": "b" * 32} in hashes
    )
    patterns = {i["pattern"] for i in by_type["indicator"]}
    assert f"[file:hashes.'SHA-256' = '{'a' * 64}']" in patterns
    assert f"[file:hashes.x_pdq = '{'f' * 64}']" in patterns
    assert "[url:value = 'https://chatapp.example/u/u123']" in patterns
    assert {u["user_id"] for u in by_type["user-account"]} >= {"chatapp:u123", "chatapp:coolguy"}
    assert {a["value"] for a in by_type["ipv4-addr"]} == {"203.0.113.5", "198.51.100.7"}
    assert [e["value"] for e in by_type["email-addr"]] == ["seller@example.net"]
    # the institution's customers (payers) are not shared with partners
    assert b"john@example.com" not in export_case("stix", bundle)
    # every sighting points at an indicator and is counted
    indicator_ids = {i["id"] for i in by_type["indicator"]}
    assert all(
        s["sighting_of_ref"] in indicator_ids and s["count"] == 1 for s in by_type["sighting"]
    )
    # one grouping is the case and it holds every other object we made
    (group,) = by_type["grouping"]
    assert group["external_references"][0]["external_id"] == "CASE-TEST-1"
    made = {
        o["id"] for o in objs if o["type"] not in ("grouping", "marking-definition", "identity")
    }
    assert made <= set(group["object_refs"])
    # TLP:AMBER on every object we create
    tlp = by_type["marking-definition"][0]["id"]
    for o in objs:
        if o["type"] in ("indicator", "sighting", "observed-data", "grouping", "identity"):
            assert o["object_marking_refs"] == [tlp]


def test_ids_are_stable_across_exports(bundle: CaseBundle) -> None:
    assert export_case("stix", bundle) == export_case("stix", bundle)


def test_validator_is_strict() -> None:
    doc = {
        "type": "bundle",
        "id": "bundle--6d2a6d5e-8a3c-4c8e-9d3b-2f4f4c2b6a10",
        "objects": [
            {"type": "user-account", "spec_version": "2.1",
             "id": "user-account--0f1e3f76-5a7c-5c39-9a4b-0d5b5d6bdf31",
             "user_id": "u1", "x_service": "chatapp"},
        ],
    }  # fmt: skip
    problems = StixExporter().validate(json.dumps(doc).encode())
    assert any("x_service" in p.message for p in problems)


@pytest.mark.parametrize("tlp", ["red", "green", "clear"])
def test_tlp_from_settings(bundle: CaseBundle, tlp: str) -> None:
    from dataclasses import replace

    from daybreak.exporters.bundle import OrgSettings

    data = export_case("stix", replace(bundle, org=OrgSettings(tlp=tlp)))
    names = [o["name"] for o in _objects(data) if o["type"] == "marking-definition"]
    assert names == [f"TLP:{'WHITE' if tlp == 'clear' else tlp.upper()}"]
