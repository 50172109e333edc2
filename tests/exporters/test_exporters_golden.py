"""Golden files: hand-checked exports of two cases, byte for byte.

``make_bundle()`` is the fused case (two payers, a live-stream report, one matched
and two unmatched hash sightings); ``media_only`` is what a platform reports most: a
hash that matched a list, seen on an account, with no tipline report and no payments.
Each file was read line by line against docs/exports.md when it was written (times
in the FIU's zone, amounts at the stated rate, names split as written, only M1 called
known material, no customer data in partner formats). A change to an exporter that
alters them must be read again: set DAYBREAK_UPDATE_GOLDEN=1 to rewrite the files,
then review the diff before committing it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from daybreak.exporters import export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.model.cases import Tier
from exporters.conftest import make_bundle

pytestmark = pytest.mark.shared
GOLDEN = Path(__file__).parent / "golden"
SCHEMAS = {
    "goaml-uae": "goaml/uae_fiu_5.0.2/goAMLSchema.xsd",
    "goaml-srilanka": "goaml/srilanka_fiu_v2.0/goAMLSchema-Version_2.0.xsd",
    "cybertip": "ncmec/cybertipline_report.xsd",
}


def media_only() -> CaseBundle:
    b = make_bundle()
    case = b.case.model_copy(
        update={
            "case_id": "CASE-TEST-MEDIA",
            "title": "Known-list hash seen on chatapp:u123",
            "tier": Tier.COMMERCIAL_OR_VOLUME,
            "priority": 0.6,
            "sources": ["media"],
            "reasons": ["hash match"],
            "report_ids": [],
            "alert_ids": ["A2"],
            "edges": [],
        }
    )
    return replace(
        b,
        case=case,
        transactions=(),
        customers=(),
        reports=(),
        alerts=[a for a in b.alerts if a.alert_id == "A2"],
        identifiers=[i for i in b.identifiers if i["source"] != "customers"],
    )


CASES = {"fused": make_bundle, "media-only": media_only}
FILES = [
    ("fused", "goaml-uae", "xml"),
    ("fused", "goaml-srilanka", "xml"),
    ("fused", "cybertip", "xml"),
    ("fused", "stix", "json"),
    ("fused", "ftm", "jsonl"),
    ("media-only", "cybertip", "xml"),
    ("media-only", "stix", "json"),
    ("media-only", "ftm", "jsonl"),
]


@pytest.mark.parametrize(("case", "variant", "suffix"), FILES)
def test_export_matches_its_golden_file(
    case: str, variant: str, suffix: str, standards: Path
) -> None:
    fmt = variant.split("-")[0]
    xsd = standards / SCHEMAS[variant] if variant in SCHEMAS else None
    data = export_case(fmt, CASES[case](), xsd)
    path = GOLDEN / f"{case}.{variant}.{suffix}"
    if os.environ.get("DAYBREAK_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.is_file(), f"{path.name} missing: run with DAYBREAK_UPDATE_GOLDEN=1 and review it"
    assert data.decode() == path.read_text(encoding="utf-8"), f"{path.name} changed"


# libxml2 (through lxml), independent of the xmlschema package the exporters validate
# with. It is a strict W3C XSD 1.0 processor: for goAML it reads the FIU-patched UAE
# schema (the original uses XSD 1.1 and ECMAScript-style '^...$' patterns).
LIBXML2_SCHEMAS = {
    "goaml-uae": "goaml/uae_fiu_5.0.2/goAMLSchema.strict-xsd10-patched.xsd",
    "cybertip": "ncmec/cybertipline_report.xsd",
}


@pytest.mark.parametrize("name", [f"{c}.{v}.{s}" for c, v, s in FILES if v in LIBXML2_SCHEMAS])
def test_golden_xml_is_valid_for_libxml2(name: str, standards: Path) -> None:
    from lxml import etree

    variant = name.split(".")[1]
    schema = etree.XMLSchema(etree.parse(str(standards / LIBXML2_SCHEMAS[variant])))
    document = etree.parse(str(GOLDEN / name))
    assert schema.validate(document), str(schema.error_log)
