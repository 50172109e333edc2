"""The pre-submission check (`daybreak export ... --check`): what a receiver will miss."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daybreak.cli.export import app
from daybreak.exporters import get_exporter
from daybreak.exporters.bundle import CaseBundle, OrgSettings
from daybreak.exporters.check import Finding, check_export, has_blocker
from daybreak.exporters.loader import case_alerts
from exporters.conftest import TEST_ORG, make_bundle, write_world

runner = CliRunner()


def where(findings: list[Finding], severity: str | None = None) -> list[str]:
    return [f.where for f in findings if severity is None or f.severity == severity]


def one(findings: list[Finding], at: str) -> Finding:
    found = [f for f in findings if f.where == at]
    assert len(found) == 1, findings
    return found[0]


# --- identity and defaults -------------------------------------------------------------


def test_a_configured_case_has_no_blocker_and_lists_only_what_is_true(bundle: CaseBundle) -> None:
    xsd = Path("given.xsd")  # the caller names a schema: availability is about the data
    for fmt in ("goaml", "cybertip", "stix", "ftm"):
        findings = check_export(fmt, bundle, xsd=xsd)
        assert not has_blocker(findings), (fmt, findings)
        media = one(findings, "media")
        assert media.severity == "info" and "(M2, M3)" in media.message  # M1 matched
        assert "not be called known material" in media.message


def test_without_a_schema_the_format_cannot_be_made(
    bundle: CaseBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in ("DAYBREAK_GOAML_XSD", "DAYBREAK_STANDARDS_DIR"):
        monkeypatch.delenv(env, raising=False)
    finding = one(check_export("goaml", bundle), "format")
    assert finding.severity == "blocker" and "no goaml schema configured" in finding.message


@pytest.mark.parametrize("fmt", ["goaml", "cybertip"])
def test_missing_reporter_identity_blocks_goaml_and_cybertip(bundle: CaseBundle, fmt: str) -> None:
    b = replace(bundle, org=OrgSettings())
    finding = one(check_export(fmt, b, xsd=Path("x.xsd")), "org")
    assert finding.severity == "blocker"
    for field in OrgSettings().missing_for(fmt):
        assert field in finding.message


def test_stix_without_an_org_name_or_tlp_warns(bundle: CaseBundle) -> None:
    findings = check_export("stix", replace(bundle, org=OrgSettings()))
    assert not has_blocker(findings)
    assert one(findings, "org.name").severity == "warning"
    tlp = one(findings, "org.tlp")
    assert tlp.severity == "warning" and "default (amber)" in tlp.message
    chosen = replace(bundle, org=OrgSettings(**{**TEST_ORG.model_dump(), "tlp": "amber"}))
    assert "org.tlp" not in where(check_export("stix", chosen))  # set on purpose


@pytest.mark.parametrize("fmt", ["goaml", "cybertip", "stix", "ftm"])
def test_the_demo_identity_is_never_a_real_report(bundle: CaseBundle, fmt: str) -> None:
    b = replace(bundle, org=OrgSettings.demo_identity())
    finding = one(check_export(fmt, b, xsd=Path("x.xsd")), "org")
    assert finding.severity == "blocker"
    assert finding.message.startswith("demo identity: not a real report")


# --- claims and evidence --------------------------------------------------------------


def test_media_claimed_without_a_match_is_flagged(bundle: CaseBundle) -> None:
    payments_alert = [a for a in bundle.alerts if not a.hash_matches]
    b = replace(bundle, alerts=payments_alert)
    media = [f for f in check_export("ftm", b) if f.where == "media"]
    assert [f.severity for f in media] == ["warning", "info"]
    assert "none of its alerts carries a hash match" in media[0].message
    assert "3 hash sighting(s) matched no list (M1, M2, M3)" in media[1].message
    # with the match, the claim is backed
    assert "warning" not in [f.severity for f in check_export("ftm", bundle) if f.where == "media"]


def test_a_reason_naming_known_material_needs_a_match(bundle: CaseBundle) -> None:
    case = bundle.case.model_copy(
        update={"sources": ["payments"], "reasons": ["known material seen on the account"]}
    )
    b = replace(bundle, case=case, alerts=[a for a in bundle.alerts if not a.hash_matches])
    claims = [f for f in check_export("stix", b) if f.where == "media"]
    assert [f.severity for f in claims] == ["warning", "info"]
    plain = case.model_copy(update={"reasons": ["facilitator hub"], "explanation": "payments"})
    no_media = replace(b, case=plain, media_sightings=())
    assert "media" not in where(check_export("stix", no_media))


def test_missing_alerts_are_listed_once_with_their_ids(bundle: CaseBundle) -> None:
    own, notes = case_alerts(bundle.case, bundle.alerts[:1])  # A2 is lost
    b = replace(bundle, alerts=own, notes=tuple(notes))
    findings = check_export("ftm", b)
    finding = one(findings, "alerts")  # the loader's note is not repeated under "rows"
    assert finding.severity == "warning" and "(missing: A2)" in finding.message
    assert "rows" not in where(findings)


def test_reports_named_by_the_case_but_not_found(bundle: CaseBundle) -> None:
    case = bundle.case.model_copy(update={"report_ids": ["R1", "R9"]})
    finding = one(check_export("stix", replace(bundle, case=case)), "reports")
    assert "R9" in finding.message and "R1" not in finding.message


def test_capped_rows_are_warnings(bundle: CaseBundle) -> None:
    note = "transactions: only the first 2000 matching rows were read (max_rows)"
    finding = one(check_export("ftm", replace(bundle, notes=(note,))), "rows")
    assert finding == Finding("warning", "rows", note)


# --- CyberTipline ---------------------------------------------------------------------


def test_cybertip_lists_what_makes_a_report_actionable(bundle: CaseBundle) -> None:
    report = {
        **bundle.reports[0],
        "victim_age_estimate": None,
        "victim_country": None,
        "occurred_at": None,
        "incident_type": "other",
        "source": "ncmec",
    }
    idents = [
        {**i, "seen_at": None} if i["kind"] == "ip" else i
        for i in bundle.identifiers
        if i["kind"] not in ("account", "username", "email", "url", "payment_handle")
    ]
    b = replace(bundle, reports=[report], identifiers=idents, platform_events=())
    findings = check_export("cybertip", b, xsd=Path("x.xsd"))
    assert not has_blocker(findings)
    victim = one(findings, "victim").message
    assert "no age estimate in R1" in victim and "no country in R1" in victim
    assert "R1" in one(findings, "incidentDateTime").message
    assert "203.0.113.5" in one(findings, "ipCaptureEvent").message
    assert "R1" in one(findings, "estimatedLocation").message
    assert "R1" in one(findings, "personOrUserReported").message
    assert "'other'" in one(findings, "incidentType").message
    assert "NCMEC imports" in one(findings, "priorCTReports").message
    known = replace(b, reports=[{**report, "cybertip_report_id": "123456"}])
    assert "priorCTReports" not in where(check_export("cybertip", known, xsd=Path("x.xsd")))


def test_cybertip_of_the_full_case_has_none_of_those(bundle: CaseBundle) -> None:
    listed = where(check_export("cybertip", bundle, xsd=Path("x.xsd")))
    for field in ("victim", "incidentDateTime", "ipCaptureEvent", "estimatedLocation"):
        assert field not in listed
    assert "personOrUserReported" not in listed and "priorCTReports" not in listed


def test_cybertip_without_reports_cannot_be_made(reports_only_bundle: CaseBundle) -> None:
    b = replace(reports_only_bundle, reports=())
    finding = one(check_export("cybertip", b, xsd=Path("x.xsd")), "format")
    assert finding.severity == "blocker" and "no tipline reports" in finding.message


# --- goAML ----------------------------------------------------------------------------


def test_goaml_currency_without_rate_blocks_and_rates_need_a_source(bundle: CaseBundle) -> None:
    org = OrgSettings(**{**TEST_ORG.model_dump(), "fx_usd": {"AUD": 0.66}, "fx_source": None})
    findings = check_export("goaml", replace(bundle, org=org), xsd=Path("x.xsd"))
    rate = one(findings, "fx_usd")
    assert rate.severity == "blocker" and rate.message.startswith("PHP: no exchange rate")
    assert "PHP" in one(findings, "fx_source").message
    assert {"fx_usd", "fx_source"}.isdisjoint(where(check_export("goaml", bundle, xsd=Path("x"))))


def test_goaml_beneficiary_without_a_name(bundle: CaseBundle) -> None:
    txns = [{**t, "receiver_name": None} for t in bundle.transactions]
    finding = one(check_export("goaml", replace(bundle, transactions=txns), xsd=Path("x")), "t_to")
    assert "gcash:+639171234567" in finding.message


@pytest.mark.shared
def test_goaml_payers_without_kyc_come_from_the_exporter(
    no_kyc_bundle: CaseBundle, uae_xsd: Path
) -> None:
    exporter = get_exporter("goaml", uae_xsd)
    findings = check_export("goaml", no_kyc_bundle, exporter, uae_xsd)
    from_exporter = [f for f in findings if f.where == "goaml"]
    assert [f.message for f in from_exporter] == exporter.notes(no_kyc_bundle)
    assert any("t_from_my_client" in f.message for f in from_exporter)
    assert "goaml" not in where(check_export("goaml", no_kyc_bundle, xsd=uae_xsd))


def test_blockers_come_first() -> None:
    b = replace(make_bundle(), org=OrgSettings.demo_identity())
    severities = [f.severity for f in check_export("stix", b)]
    assert severities == sorted(severities, key=["blocker", "warning", "info"].index)
    assert severities[0] == "blocker" and severities[-1] == "info"


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    b = make_bundle()
    w = write_world(b, tmp_path / "world")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(b.case.model_copy(update={"alerts": list(b.alerts)}).model_dump_json() + "\n")
    org = tmp_path / "org.yaml"  # TLP not chosen: left at its default
    org.write_text(json.dumps(b.org.model_dump(mode="json", exclude_none=True, exclude={"tlp"})))
    monkeypatch.setenv("DAYBREAK_ORG", str(org))
    return w, cases


def _args(fmt: str, world: tuple[Path, Path], *extra: str) -> list[str]:
    w, cases = world
    return [fmt, "--case", "CASE-TEST-1", "--cases", str(cases), "--world", str(w), *extra]


def test_check_alone_prints_the_findings_and_writes_nothing(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    result = runner.invoke(app, _args("stix", world, "--check"))
    assert result.exit_code == 0, result.output
    assert "org.tlp" in result.output and "media" in result.output
    assert "check stix CASE-TEST-1: 0 blockers, 1 warning, 1 info; no blocker" in result.output
    assert list(tmp_path.glob("*.json")) == []


def test_check_exits_1_on_a_blocker_and_then_writes_nothing(
    world: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / "demo.yaml"
    demo.write_text(json.dumps(OrgSettings.demo_identity().model_dump(mode="json")))
    monkeypatch.setenv("DAYBREAK_ORG", str(demo))
    out = tmp_path / "case.ftm"
    result = runner.invoke(app, _args("ftm", world, "--check", "--out", str(out)))
    assert result.exit_code == 1, result.output
    assert "demo identity" in result.output and "blocked: not a report to send" in result.output
    assert not out.exists()


@pytest.mark.shared
def test_check_with_out_writes_when_nothing_blocks(
    world: tuple[Path, Path], ncmec_xsd: Path, tmp_path: Path
) -> None:
    out = tmp_path / "case.xml"
    args = _args("cybertip", world, "--xsd", str(ncmec_xsd), "--check", "--out", str(out))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "no blocker" in result.output and out.read_bytes().startswith(b"<?xml")


@pytest.mark.shared
def test_goaml_check_lists_the_exporters_kyc_note(
    world: tuple[Path, Path], uae_xsd: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, _args("goaml", world, "--xsd", str(uae_xsd), "--check"))
    assert result.exit_code == 0, result.output
    assert "goaml" in result.output and "t_from_my_client" in result.output.replace("\n", "")
    assert list(tmp_path.glob("*.xml")) == []


def test_export_without_check_prints_warnings_as_notes(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "case.json"
    result = runner.invoke(app, _args("stix", world, "--out", str(out)))
    assert result.exit_code == 0, result.output
    assert "note: org.tlp: TLP left at its default" in result.output
    assert "matched no list" not in result.output  # info stays in --check
    assert out.stat().st_size > 100


def test_out_is_required_without_check(world: tuple[Path, Path]) -> None:
    result = runner.invoke(app, _args("stix", world))
    assert result.exit_code == 2 and "--out FILE" in result.output


def test_finding_reads_as_one_line() -> None:
    assert str(Finding("info", "media", "seen once")) == "info: media: seen once"
