"""STIX 2.1 bundles under the official stix2-validator in strict mode and
``stix2.parse(allow_custom=False)``; only matched hashes are known material, and
nothing of the institution's customers reaches a partner."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import stix2

from daybreak.exporters import export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.stix import StixExporter
from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import GraphEdge
from exporters.conftest import HANDLE, make_bundle

PDQ_M1 = "f" * 64
SHA_M2 = "a" * 64
MD5_M3 = "b" * 32


def _objects(data: bytes) -> list[dict[str, Any]]:
    doc = json.loads(data)
    assert doc["type"] == "bundle"
    return list(doc["objects"])


def _by_type(data: bytes) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for o in _objects(data):
        out.setdefault(o["type"], []).append(o)
    return out


def _with_sha256_match(b: CaseBundle) -> CaseBundle:
    """The test case where M2 (SHA-256) matched a second list as well; M3 still did not."""
    alert = Alert(
        alert_id="A3", detector="media", subject_type="account", subject_id="chatapp:u123",
        score=0.9, typologies=("known_material",), explanation="1 media item matched",
        evidence_source="media_sightings", evidence_ids=("M2",),
        hash_matches=(HashMatch(sighting_id="M2", hash_type="sha256", bank="exact-list",
                                bank_version=7, listed_hash=SHA_M2, distance=0, threshold=0),),
    )  # fmt: skip
    return replace(b, alerts=(*b.alerts, alert))


def test_bundle_content(bundle: CaseBundle) -> None:
    data = export_case("stix", _with_sha256_match(bundle))
    objs = _objects(data)
    by_type = _by_type(data)
    assert {"identity", "marking-definition", "file", "url", "email-addr", "user-account",
            "ipv4-addr", "indicator", "observed-data", "sighting", "note", "grouping"} <= set(by_type)  # fmt: skip
    # the matched exact hash is a file with a pattern; PDQ has no STIX hash key
    assert [f["hashes"] for f in by_type["file"]] == [{"SHA-256": SHA_M2}]
    patterns = {i["pattern"] for i in by_type["indicator"]}
    assert patterns == {
        f"[file:hashes.'SHA-256' = '{SHA_M2}']",
        "[url:value = 'https://chatapp.example/u/u123']",
    }
    assert {u["user_id"] for u in by_type["user-account"]} >= {"chatapp:u123", "chatapp:coolguy"}
    assert {a["value"] for a in by_type["ipv4-addr"]} == {"203.0.113.5", "198.51.100.7"}
    assert [e["value"] for e in by_type["email-addr"]] == ["seller@example.net"]
    # the institution's customers (payers) are not shared with partners
    assert b"john@example.com" not in data
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
        if o["type"] in ("indicator", "sighting", "observed-data", "note", "grouping", "identity"):
            assert o["object_marking_refs"] == [tlp]


def test_only_matched_sightings_are_known_material(bundle: CaseBundle) -> None:
    """Defect 1: only M1 (PDQ) matched; M2 (SHA-256) and M3 (MD5) were sighted on the
    same account but matched no list, so they are neither indicators nor sightings."""
    data = export_case("stix", bundle)
    by_type = _by_type(data)
    assert SHA_M2.encode() not in data and MD5_M3.encode() not in data
    assert "file" not in by_type and "sighting" not in by_type
    assert [i["pattern"] for i in by_type["indicator"]] == [
        "[url:value = 'https://chatapp.example/u/u123']"
    ]
    known = [o for o in _objects(data) if "known-material" in json.dumps(o).lower()]
    assert [o["type"] for o in known] == ["note"]
    (note,) = known
    # the match travels with the claim: hash, how to match, sighting, list, version,
    # distance, threshold, and the listed entry
    assert note["content"].startswith(f"PDQ {PDQ_M1}; matches at Hamming distance <= 31.")
    assert "Sighting M1 " in note["content"]
    assert "list 'known-list' version 3 at distance 1, threshold 31" in note["content"]
    assert "M2" not in note["content"] and "M3" not in note["content"]
    assert note["external_references"] == [
        {
            "source_name": "hash list known-list",
            "description": "pdq hash matched list 'known-list' version 3 at distance 1, threshold 31",
            "external_id": "f" * 63 + "e",
        }
    ]
    ids = {o["id"]: o for o in _objects(data)}
    (observed,) = [ids[r] for r in note["object_refs"] if r.startswith("observed-data--")]
    where = {ids[r].get("value") or ids[r].get("user_id") for r in observed["object_refs"]}
    assert where == {"https://chatapp.example/m/1", "chatapp:u123"}
    # the case's narrative counts the unmatched ones as such
    (group,) = by_type["grouping"]
    assert "2 other hash sighting(s) on the case's accounts matched no list" in group["description"]


def test_exact_match_is_a_pattern_with_its_match(bundle: CaseBundle) -> None:
    data = export_case("stix", _with_sha256_match(bundle))
    by_type = _by_type(data)
    (ind,) = [i for i in by_type["indicator"] if i["pattern"].startswith("[file:")]
    assert ind["pattern"] == f"[file:hashes.'SHA-256' = '{SHA_M2}']"
    assert ind["description"].startswith(f"SHA256 {SHA_M2}; matches by equality.")
    assert "Sighting M2 seen 2026-03-01T20:30:00Z: sha256 hash matched list 'exact-list' version 7 at distance 0, threshold 0." in ind["description"]  # fmt: skip
    assert ind["labels"] == ["hash-list-match"]
    assert ind["external_references"][0]["source_name"] == "hash list exact-list"
    (sighting,) = by_type["sighting"]
    assert (
        sighting["sighting_of_ref"] == ind["id"] and sighting["description"] == ind["description"]
    )
    assert MD5_M3.encode() not in data  # still unmatched, still not sent


def test_no_match_no_known_material(bundle: CaseBundle) -> None:
    """A case with sightings but no match sends no hash at all."""
    data = export_case("stix", replace(bundle, alerts=bundle.alerts[:1]))
    assert not {"file", "note", "sighting", "observed-data"} & set(_by_type(data))
    assert b"known-material" not in data.lower() and PDQ_M1.encode() not in data


def _customer_case(b: CaseBundle) -> CaseBundle:
    """The test case titled the way case building titles it (after its anchor, a
    customer), with amounts no other field can hold by chance, and a graph link that
    puts a customer's e-mail next to the beneficiary's handle."""
    case = b.case.model_copy(
        update={
            "title": "customer:C1 (John O'Brien) and 2 linked entities",
            "edges": [
                *b.case.edges,
                GraphEdge(source=f"payment_handle:{HANDLE}", target="email:john@example.com",
                          relation="shared_identifier"),
            ],
        }
    )  # fmt: skip
    txns = [dict(t, amount=a) for t, a in zip(b.transactions, (4321.09, 8765.43), strict=True)]
    return replace(b, case=case, transactions=txns)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def test_nothing_of_customers_reaches_a_partner(bundle: CaseBundle) -> None:
    """Defect 7: no customer name, customer id, customer e-mail/phone or payment amount
    anywhere in the bundle (the grouping used to be named after the case title)."""
    b = _customer_case(bundle)
    doc = json.loads(export_case("stix", b))
    texts = list(_strings(doc))
    forbidden = ["John O'Brien", "Jane Roe", "john@example.com", "+61412345678",
                 "4321.09", "8765.43", "13086.52"]  # fmt: skip
    for value in forbidden:
        assert not any(value.lower() in t.lower() for t in texts), value
    for customer_id in ("C1", "C2"):
        assert not any(re.search(rf"\b{customer_id}\b", t) for t in texts), customer_id
    (group,) = [o for o in doc["objects"] if o["type"] == "grouping"]
    assert group["name"] == "Daybreak case CASE-TEST-1 (tier 1)"


VARIANTS = {
    "full": lambda b: b,
    "exact match": _with_sha256_match,
    "customers": _customer_case,
    "reports only": lambda b: replace(b, transactions=(), customers=(), alerts=()),
    "media only": lambda b: replace(b, transactions=(), customers=(), reports=(), alerts=b.alerts[1:]),
    "no identity": lambda b: replace(b, org=b.org.model_copy(update={"name": None})),
}  # fmt: skip


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_bundle_parses_without_custom_content(variant: str) -> None:
    """Defect 8: the library refused ``x_pdq``; now every bundle parses with
    ``allow_custom=False`` and passes the strict validator."""
    data = StixExporter().export(VARIANTS[variant](make_bundle()))
    parsed = stix2.parse(data.decode(), allow_custom=False)
    assert len(parsed.objects) == len(_objects(data))
    assert StixExporter().validate(data) == []


def test_validation_includes_the_library_parse() -> None:
    """A hash name the validator allows (``x_`` prefix) but the library refuses is a
    problem, so such a bundle is never written."""
    doc = {
        "type": "bundle",
        "id": "bundle--6d2a6d5e-8a3c-4c8e-9d3b-2f4f4c2b6a10",
        "objects": [
            {"type": "file", "spec_version": "2.1",
             "id": "file--0f1e3f76-5a7c-5c39-9a4b-0d5b5d6bdf31", "hashes": {"x_pdq": PDQ_M1}},
        ],
    }  # fmt: skip
    problems = StixExporter().validate(json.dumps(doc).encode())
    assert [p.message for p in problems if "allow_custom=False" in p.message]


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
    from daybreak.exporters.bundle import OrgSettings

    data = export_case("stix", replace(bundle, org=OrgSettings(tlp=tlp)))
    names = [o["name"] for o in _objects(data) if o["type"] == "marking-definition"]
    assert names == [f"TLP:{'WHITE' if tlp == 'clear' else tlp.upper()}"]
