"""CyberTipline XML against NCMEC's XSD (../shared/standards/ncmec)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from daybreak.exporters import ExportError, export_case, get_exporter, unavailable_reason
from daybreak.exporters.bundle import CaseBundle, OrgSettings
from daybreak.exporters.cybertip import CSAM, ENTICEMENT, TRAFFICKING, CybertipExporter
from daybreak.model.cases import CaseStatus, GraphEdge, Tier
from exporters.conftest import HANDLE, TEST_ORG

pytestmark = pytest.mark.shared


def test_report_content(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    root = etree.fromstring(export_case("cybertip", bundle, ncmec_xsd))
    assert root.tag == "report"
    # a live stream of abuse is CSAM production/distribution, not trafficking by itself
    assert root.findtext("incidentSummary/incidentType") == CSAM
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T21:00:00Z"
    escalate = root.findtext("incidentSummary/escalateToHighPriority") or ""
    assert "live stream in progress" in escalate and "tier 1" in escalate
    assert root.findtext("internetDetails/webPageIncident/url") == "https://chatapp.example/u/u123"
    assert root.findtext("internetDetails/chatImIncident/chatClient") == "chatapp"
    assert root.findtext("reporter/reportingPerson/email") == "mlro@example.com"
    user = root.find("personOrUserReported")
    assert user is not None
    assert (user.findtext("espService"), user.findtext("espIdentifier")) == ("chatapp", "u123")
    assert user.findtext("screenName") == "coolguy"
    assert user.findtext("personOrUserReportedPerson/email") == "seller@example.net"
    events = {e.findtext("ipAddress"): e for e in user.findall("ipCaptureEvent")}
    assert set(events) == {"203.0.113.5", "198.51.100.7"}
    assert events["198.51.100.7"].findtext("eventName") == "Login"
    assert events["203.0.113.5"].findtext("dateTime") == "2026-03-01T21:00:00Z"
    assert user.findtext("deviceId/idValue") == "dev-1"
    assert root.findtext("victim/victimPerson/age") == "11"
    assert root.findtext("victim/estimatedLocation/countryCode") == "PH"
    # the reporter's own e-mail is never sent as the suspect's
    assert "reporter@example.net" not in etree.tostring(root).decode()


def test_severity_and_annotations_across_reports(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    second = dict(bundle.reports[0], report_id="R2", incident_type="sextortion", is_live=False)
    calm = replace(
        bundle,
        reports=[dict(bundle.reports[0], incident_type="grooming", is_live=False), second],
        case=bundle.case.model_copy(update={"tier": Tier.OTHER}),
        alerts=(),  # no matched media: the report categories decide
    )
    root = etree.fromstring(export_case("cybertip", calm, ncmec_xsd))
    assert root.findtext("incidentSummary/incidentType") == (
        "Online Enticement of Children for Sexual Acts"
    )
    assert root.find("incidentSummary/escalateToHighPriority") is None
    assert root.find("incidentSummary/reportAnnotations/sextortion") is not None
    assert root.find("lawEnforcement") is None


def test_referred_case_names_the_agency(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    referred = replace(bundle, case=bundle.case.model_copy(update={"status": CaseStatus.REFERRED}))
    root = etree.fromstring(export_case("cybertip", referred, ncmec_xsd))
    assert root.findtext("lawEnforcement/agencyName") == "PNP-WCPC"


def test_case_without_reports_or_matched_media_is_refused(
    bundle: CaseBundle, ncmec_xsd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBREAK_NCMEC_XSD", str(ncmec_xsd))
    nothing = replace(bundle, reports=(), alerts=())  # sightings left, none matched
    assert unavailable_reason("cybertip", nothing) == (
        "the case has no tipline reports and no media that matched a known-material list"
    )
    with pytest.raises(ExportError, match="no tipline reports and no media that matched"):
        export_case("cybertip", nothing, ncmec_xsd)


def test_incident_mapping_must_fit_the_schema(ncmec_xsd: Path) -> None:
    with pytest.raises(ExportError, match=r"not in cybertipline_report\.xsd"):
        CybertipExporter(ncmec_xsd, incident_types={"other": "Something Else"})


def test_missing_schema_is_explained(bundle: CaseBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAYBREAK_NCMEC_XSD", raising=False)
    monkeypatch.delenv("DAYBREAK_STANDARDS_DIR", raising=False)
    with pytest.raises(ExportError, match="--xsd FILE"):
        export_case("cybertip", bundle)


def test_schema_from_standards_dir(
    bundle: CaseBundle, standards: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAYBREAK_NCMEC_XSD", raising=False)
    monkeypatch.setenv("DAYBREAK_STANDARDS_DIR", str(standards))
    assert etree.fromstring(export_case("cybertip", bundle)).tag == "report"


def test_validation_never_expands_entities(ncmec_xsd: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    doc = (
        f'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<report><incidentSummary><incidentType>&x;</incidentType></incidentSummary></report>"
    ).encode()
    problems = CybertipExporter(ncmec_xsd).validate(doc)
    assert problems
    assert not any("TOP-SECRET-VALUE" in str(p) for p in problems)


def _xml(data: bytes) -> str:
    return data.decode("utf-8")


def _with(bundle: CaseBundle, *identifiers: dict[str, object], **changes: object) -> CaseBundle:
    rows = [*bundle.identifiers, *identifiers]
    return replace(bundle, identifiers=rows, **changes)  # type: ignore[arg-type]


def _ident(
    kind: str, value: str, role: str = "reported_account", rid: str = "R1"
) -> dict[str, object]:
    return {
        "source": "reports",
        "source_id": rid,
        "kind": kind,
        "value": value,
        "role": role,
        "seen_at": None,
    }


# --- defect 6 / 1: incident type ---------------------------------------------------------


def test_other_is_never_mapped_to_enticement(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    other = replace(bundle, reports=[dict(bundle.reports[0], incident_type="other")], alerts=())
    with pytest.raises(ExportError, match="--incident-type") as err:
        export_case("cybertip", other, ncmec_xsd)
    assert TRAFFICKING in str(err.value) and ENTICEMENT in str(err.value)
    chosen = etree.fromstring(export_case("cybertip", other, ncmec_xsd, incident_type=TRAFFICKING))
    assert chosen.findtext("incidentSummary/incidentType") == TRAFFICKING
    assert "chosen by the analyst" in (chosen.findtext("additionalInfo") or "")


def test_other_reports_do_not_set_the_type_beside_mapped_ones(
    bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    reports = [
        dict(bundle.reports[0], incident_type="grooming", is_live=False),
        dict(bundle.reports[0], report_id="R2", incident_type="other", is_live=False),
    ]
    mixed = replace(bundle, reports=reports, alerts=())
    root = etree.fromstring(export_case("cybertip", mixed, ncmec_xsd))
    assert root.findtext("incidentSummary/incidentType") == ENTICEMENT
    notes = get_exporter("cybertip", ncmec_xsd).notes(mixed)
    assert any("R2" in n and "'other'" in n for n in notes)


def test_analyst_incident_type_is_checked_against_the_xsd(ncmec_xsd: Path) -> None:
    with pytest.raises(ExportError, match="Child Sex Tourism"):
        CybertipExporter(ncmec_xsd, incident_type="Trafficking-ish")


# --- media-only cases ------------------------------------------------------------------


def test_media_only_case_reports_matched_hashes_only(
    bundle: CaseBundle, ncmec_xsd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAYBREAK_NCMEC_XSD", str(ncmec_xsd))
    media = list(bundle.media_sightings)
    media[1] = dict(media[1], location="https://chatapp.example/m/2")  # M2: unmatched
    only_media = replace(bundle, reports=(), transactions=(), customers=(), media_sightings=media)
    assert unavailable_reason("cybertip", only_media) is None
    data = export_case("cybertip", only_media, ncmec_xsd)
    root = etree.fromstring(data)
    assert root.findtext("incidentSummary/incidentType") == CSAM
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T20:00:00Z"
    assert root.findtext("personOrUserReported/espIdentifier") == "u123"
    info = root.findtext("additionalInfo") or ""
    assert "f" * 64 in info and "known-list" in info and "distance 1" in info
    # unmatched hashes and their URLs are never sent as known material
    assert "a" * 64 not in _xml(data) and "b" * 32 not in _xml(data)
    assert [u.text for u in root.iter("url")] == ["https://chatapp.example/m/1"]


def test_unmatched_sighting_urls_are_not_reported(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    media = [
        dict(m, location=f"https://chatapp.example/m/{m['sighting_id']}")
        for m in bundle.media_sightings
    ]
    data = export_case("cybertip", replace(bundle, media_sightings=media), ncmec_xsd)
    assert "https://chatapp.example/m/M1" in _xml(data)
    assert "/m/M2" not in _xml(data) and "/m/M3" not in _xml(data)


# --- descriptions, facilitator identifiers, partner safety -----------------------------


def test_descriptions_only_with_the_organisations_consent(
    bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    assert "neutral test text" not in _xml(export_case("cybertip", bundle, ncmec_xsd))
    consented = replace(bundle, org=TEST_ORG.model_copy(update={"share_report_descriptions": True}))
    root = etree.fromstring(export_case("cybertip", consented, ncmec_xsd))
    shared = root.findtext("internetDetails/chatImIncident/additionalInfo") or ""
    assert "Report R1" in shared and "neutral test text" in shared


def test_facilitator_phones_and_payment_handles(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    edge = GraphEdge(
        source=f"payment_handle:{HANDLE}", target="phone:+639179999999", relation="same_person"
    )
    case = bundle.case.model_copy(update={"edges": [*bundle.case.edges, edge]})
    b = _with(bundle, _ident("phone", "+639170000001"), case=case)
    root = etree.fromstring(export_case("cybertip", b, ncmec_xsd))
    phones = [p.text for p in root.findall("personOrUserReported/personOrUserReportedPerson/phone")]
    assert phones == ["+639170000001", "+639179999999"]
    info = root.findtext("personOrUserReported/additionalInfo") or ""
    assert HANDLE in info


def test_nothing_about_customers_or_payments_reaches_ncmec(
    bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    # the case graph links the handle to a payer's phone: still never sent
    edge = GraphEdge(
        source=f"payment_handle:{HANDLE}", target="phone:+61412345678", relation="same_person"
    )
    case = bundle.case.model_copy(update={"edges": [*bundle.case.edges, edge]})
    xml = _xml(export_case("cybertip", replace(bundle, case=case), ncmec_xsd))
    for value in ("John O'Brien", "Jane Roe", "john@example.com", "+61412345678", "PA1234567"):
        assert value not in xml
    tokens = set(xml.replace("<", " ").replace(">", " ").replace(",", " ").split())
    assert not {"C1", "C2", "T1", "T2"} & tokens
    for amount in ("45.0", "45.00", "60.0", "60.00", "105.00"):
        assert amount not in xml


def test_one_reported_user_with_further_accounts_associated(
    bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    b = _with(bundle, _ident("account", "chatapp:u999"))
    root = etree.fromstring(export_case("cybertip", b, ncmec_xsd))
    users = root.findall("personOrUserReported")
    assert len(users) == 1  # NCMEC: 0|1 outside batched reports
    assert users[0].findtext("espIdentifier") == "u123"
    assoc = users[0].find("associatedAccount")
    assert assoc is not None and assoc.findtext("espIdentifier") == "u999"


# --- one report per service ------------------------------------------------------------


def test_one_report_per_service(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    r2 = dict(
        bundle.reports[0],
        report_id="R2",
        service="otherapp",
        incident_type="grooming",
        is_live=False,
    )
    b = _with(bundle, _ident("account", "otherapp:x7", rid="R2"), reports=[*bundle.reports, r2])
    main = etree.fromstring(export_case("cybertip", b, ncmec_xsd))
    assert main.findtext("incidentSummary/platform") == "chatapp"
    assert "R2" not in _xml(etree.tostring(main)) and "x7" not in _xml(etree.tostring(main))
    notes = get_exporter("cybertip", ncmec_xsd).notes(b)
    assert any("'otherapp'" in n and "--service" in n for n in notes)
    other = etree.fromstring(export_case("cybertip", b, ncmec_xsd, service="otherapp"))
    assert other.findtext("incidentSummary/platform") == "otherapp"
    assert other.findtext("incidentSummary/incidentType") == ENTICEMENT
    assert other.findtext("personOrUserReported/espIdentifier") == "x7"
    assert "u123" not in _xml(etree.tostring(other))
    with pytest.raises(ExportError, match="'chatapp', 'otherapp'"):
        export_case("cybertip", b, ncmec_xsd, service="nope")


# --- estimated location, prior reports, demo -------------------------------------------


def test_location_from_ip_only_when_the_organisation_allows(
    bundle: CaseBundle, ncmec_xsd: Path
) -> None:
    idents = [dict(i, value="49.145.0.1") if i["kind"] == "ip" else i for i in bundle.identifiers]
    b = replace(bundle, identifiers=idents)
    off = etree.fromstring(export_case("cybertip", b, ncmec_xsd))
    assert off.find("personOrUserReported/estimatedLocation") is None
    allowed = replace(b, org=TEST_ORG.model_copy(update={"ip_geolocation": True}))
    on = etree.fromstring(export_case("cybertip", allowed, ncmec_xsd))  # offline GeoIP table
    assert on.findtext("personOrUserReported/estimatedLocation/countryCode") == "PH"
    assert "from IP 49.145.0.1" in (on.findtext("personOrUserReported/additionalInfo") or "")


def test_prior_cybertipline_reports(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    reports = [dict(bundle.reports[0], cybertip_report_id="4564654")]
    b = replace(bundle, reports=reports)
    root = etree.fromstring(export_case("cybertip", b, ncmec_xsd, prior_reports=[123]))
    assert [p.text for p in root.findall("personOrUserReported/priorCTReports")] == [
        "123",
        "4564654",
    ]
    bad = replace(bundle, reports=[dict(bundle.reports[0], cybertip_report_id="CT-9")])
    with pytest.raises(ExportError, match="reports row R1, field cybertip_report_id"):
        export_case("cybertip", bad, ncmec_xsd)


def test_demo_identity_says_it_is_a_demonstration(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    demo = replace(bundle, org=OrgSettings.demo_identity())
    root = etree.fromstring(export_case("cybertip", demo, ncmec_xsd))
    assert "\nDEMONSTRATION ONLY" in (root.findtext("additionalInfo") or "")
    real = etree.fromstring(export_case("cybertip", bundle, ncmec_xsd))
    assert "DEMONSTRATION" not in (real.findtext("additionalInfo") or "")


def test_cli_passes_the_analysts_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ncmec_xsd: Path
) -> None:
    from typer.testing import CliRunner

    from daybreak.cli.export import app
    from exporters.test_exporters_cli import world as world_fixture

    w, cases = world_fixture.__wrapped__(tmp_path, monkeypatch)  # type: ignore[attr-defined]
    out = tmp_path / "ct.xml"
    base = ["cybertip", "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), "--xsd", str(ncmec_xsd), "--out", str(out)]  # fmt: skip
    bad = CliRunner().invoke(app, [*base, "--incident-type", "Bogus"])
    assert bad.exit_code == 2 and "Child Sex Tourism" in bad.output and not out.exists()
    args = [*base, "--incident-type", TRAFFICKING, "--prior-report", "77", "--service", "chatapp"]
    ok = CliRunner().invoke(app, args)
    assert ok.exit_code == 0, ok.output
    root = etree.fromstring(out.read_bytes())
    assert root.findtext("incidentSummary/incidentType") == TRAFFICKING
    assert root.findtext("personOrUserReported/priorCTReports") == "77"
