"""CyberTipline XML against NCMEC's XSD (../shared/standards/ncmec)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from daybreak.exporters import ExportError, export_case
from daybreak.exporters.bundle import CaseBundle
from daybreak.exporters.cybertip import CybertipExporter
from daybreak.model.cases import CaseStatus, Tier

pytestmark = pytest.mark.shared


def test_report_content(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    root = etree.fromstring(export_case("cybertip", bundle, ncmec_xsd))
    assert root.tag == "report"
    assert root.findtext("incidentSummary/incidentType") == "Child Sex Trafficking"
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


def test_case_without_reports_is_refused(bundle: CaseBundle, ncmec_xsd: Path) -> None:
    with pytest.raises(ExportError, match="has no tipline reports"):
        export_case("cybertip", replace(bundle, reports=()), ncmec_xsd)


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
