"""CyberTipline XML import: safe parsing, XSD validation, mapping, and a round trip
through the CyberTipline exporter, validated against NCMEC's XSD in ../shared."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daybreak.model.cases import Case, Tier
from daybreak.tipline.intake import report_identifiers
from daybreak.tipline.ncmec_import import NcmecImportError, import_report, parse_safely
from daybreak.tipline.rows import report_rows

pytestmark = pytest.mark.shared

FULL = b"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
    <platform>ExampleStream</platform>
    <escalateToHighPriority>live call scheduled tonight</escalateToHighPriority>
    <incidentDateTime>2026-11-27T21:15:00+08:00</incidentDateTime>
  </incidentSummary>
  <internetDetails>
    <webPageIncident><url>https://example.com/live/room-9</url></webPageIncident>
  </internetDetails>
  <reporter>
    <reportingPerson><firstName>Sam</firstName><email>safety@example.com</email></reportingPerson>
  </reporter>
  <personOrUserReported>
    <espIdentifier>u-1001</espIdentifier>
    <espService>examplestream</espService>
    <screenName>night_owl</screenName>
    <ipCaptureEvent>
      <ipAddress>49.145.0.1</ipAddress><eventName>Login</eventName>
      <dateTime>2026-11-27T13:00:00Z</dateTime><port>443</port>
    </ipCaptureEvent>
    <ipCaptureEvent><ipAddress>203.0.113.9</ipAddress></ipCaptureEvent>
    <deviceId><idType>imei</idType><idValue>356938035643809</idValue></deviceId>
    <estimatedLocation><countryCode>PH</countryCode></estimatedLocation>
  </personOrUserReported>
  <victim>
    <victimPerson><age>11</age></victimPerson>
    <estimatedLocation><countryCode>PH</countryCode></estimatedLocation>
  </victim>
  <additionalInfo>Synthetic test report.</additionalInfo>
</report>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<report><incidentSummary><incidentType>&xxe;</incidentType></incidentSummary></report>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<report>&lol3;</report>"""


@pytest.fixture(scope="module")
def xsd(shared_dir: Path) -> Path:
    return shared_dir / "standards" / "ncmec" / "cybertipline_report.xsd"


def test_the_ncmec_example_imports(shared_dir: Path, xsd: Path) -> None:
    data = (shared_dir / "standards/ncmec/examples/minimal_report.from_ncmec_docs.xml").read_bytes()
    r = import_report(data, xsd)
    assert r.incident_type.value == "sextortion"  # the example carries <sextortion/>
    assert r.reporter.email == "jsmith@example.com"
    assert r.urls == ["http://badsite.com/baduri.html"]
    assert r.occurred_at == datetime(2012, 10, 15, 15, 0, tzinfo=UTC)


def test_full_report_maps_every_section(xsd: Path) -> None:
    r = import_report(FULL, xsd)
    acc = r.reported_accounts[0]
    assert (acc.service, acc.account_id, acc.username, acc.country) == (
        "examplestream",
        "u-1001",
        "night_owl",
        "PH",
    )
    assert acc.ip_events[0].ip == "49.145.0.1" and acc.ip_events[0].port == 443
    assert acc.device_ids == ["356938035643809"]
    assert r.victim is not None and (r.victim.age_estimate, r.victim.country) == (11, "PH")
    assert r.escalation == "live call scheduled tonight"
    # The IP without a time is kept as a plain identifier, not dropped.
    assert "ip:203.0.113.9" in {i.key for i in report_identifiers(r)}


@pytest.mark.parametrize("payload", [XXE, BOMB], ids=["xxe", "entity-bomb"])
def test_dtds_and_entities_are_refused(payload: bytes, xsd: Path) -> None:
    with pytest.raises(NcmecImportError, match="unsafe XML refused"):
        import_report(payload, xsd)


def test_malformed_and_invalid_xml_are_named(xsd: Path) -> None:
    with pytest.raises(NcmecImportError, match="malformed XML"):
        import_report(b"<report><incidentSummary>", xsd)
    with pytest.raises(NcmecImportError, match=r"incidentType|incidentSummary") as info:
        import_report(
            b"<report><incidentSummary><incidentType>Nope</incidentType></incidentSummary></report>",
            xsd,
        )
    assert info.value.problems
    too_big = b"<report>" + b" " * (6 * 1024 * 1024) + b"</report>"
    with pytest.raises(NcmecImportError, match="larger than"):
        parse_safely(too_big)


def test_round_trip_through_the_cybertip_exporter(xsd: Path) -> None:
    exporters = pytest.importorskip("daybreak.exporters.cybertip")
    first = import_report(FULL, xsd)
    received = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    row, idents, sightings = report_rows("R-1", received, first)
    from daybreak.exporters.bundle import CaseBundle, Contact, OrgSettings

    case = Case(
        case_id="C-1", title="t", priority=0.9, tier=Tier.LIVE_OR_IMMEDIATE_RISK, report_ids=["R-1"]
    )
    org = OrgSettings(
        name="Example Platform",
        esp_service="Example App",
        reporting_person=Contact(first_name="Sam", last_name="Lee", email="safety@example.com"),
    )
    bundle = CaseBundle(
        case=case, reports=[row], identifiers=idents, media_sightings=sightings, org=org
    )
    exporter = exporters.CybertipExporter(xsd)
    xml = exporter.export(bundle)
    assert exporter.validate(xml) == []
    again = import_report(xml, xsd)
    keys = {i.key for i in report_identifiers(first)}
    back = {i.key for i in report_identifiers(again)}
    assert {k for k in keys if k.startswith(("account:", "ip:49", "device:"))} <= back
    assert again.victim is not None and again.victim.country == "PH"
    assert again.escalation  # the tier-1 escalation survives
