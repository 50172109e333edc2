"""goAML against both FIU schemas in ../shared/standards/goaml, loaded at run time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from daybreak.exporters import ExportError, ExportValidationError, export_case
from daybreak.exporters.bundle import Address, CaseBundle
from daybreak.exporters.goaml import GoamlExporter
from daybreak.exporters.goaml_profile import load_profile
from exporters.conftest import TEST_ORG

pytestmark = pytest.mark.shared


def _xml(data: bytes) -> etree._Element:
    return etree.fromstring(data)


def test_uae_schema_is_validated_with_xsd_11(uae_xsd: Path, srilanka_xsd: Path) -> None:
    assert GoamlExporter(uae_xsd).schema.xsd_version == "1.1"
    assert GoamlExporter(srilanka_xsd).schema.xsd_version == "1.0"


def test_pristine_uae_strict_rejects_names_and_says_why(bundle: CaseBundle, uae_xsd: Path) -> None:
    strict = GoamlExporter(uae_xsd, regex_dialect="xsd")
    with pytest.raises(ExportValidationError) as info:
        strict.render(bundle)
    problems = info.value.problems
    # Only the FIU's ECMAScript-style name patterns fail, each named by element path.
    assert {p.where.rsplit("/", 1)[-1] for p in problems} == {"first_name", "last_name"}
    assert "/report/reporting_person/first_name" in {p.where for p in problems}
    assert all("--regex-dialect" in p.message for p in problems)


def test_pristine_uae_passes_when_anchors_read_as_the_portal_does(
    bundle: CaseBundle, uae_xsd: Path
) -> None:
    exporter = GoamlExporter(uae_xsd)  # auto
    assert exporter.schema.rewritten_patterns == 26
    data = exporter.render(bundle)
    assert exporter.validate(data) == []
    # the same document is valid against the FIU-patched schema with a strict processor
    assert (
        GoamlExporter(
            uae_xsd.with_name("goAMLSchema.strict-xsd10-patched.xsd"), regex_dialect="xsd"
        ).validate(data)
        == []
    )


def test_str_content_uae(bundle: CaseBundle, uae_xsd: Path) -> None:
    root = _xml(export_case("goaml", bundle, uae_xsd))
    assert root.findtext("report_code") == "STR"
    assert root.findtext("entity_reference") == "CASE-TEST-1"
    assert [t.findtext("transactionnumber") for t in root.findall("transaction")] == ["T1", "T2"]
    t1, t2 = root.findall("transaction")
    # C1 has full KYC: reported as my client, with identification and phone split
    person = t1.find("t_from_my_client/from_person")
    assert person is not None and person.findtext("identification/type") == "PASSP"
    assert person.findtext("phones/phone/tph_country_prefix") == "61"
    assert person.findtext("phones/phone/tph_number") == "412345678"
    assert person.findtext("email") == "john@example.com"
    # C2 has no KYC: t_from, not t_from_my_client
    assert t2.find("t_from/from_person") is not None and t2.find("t_from_my_client") is None
    # the institution reports in AUD: PHP 60 at 0.0175/0.66 USD -> AUD
    assert t1.findtext("amount_local") == "45.00"
    assert t1.find("t_from_my_client/from_foreign_currency") is None
    assert t2.findtext("amount_local") == f"{60 * 0.0175 / 0.66:.2f}"
    assert t2.findtext("t_from/from_foreign_currency/foreign_currency_code") == "PHP"
    assert t2.findtext("t_from/from_foreign_currency/foreign_amount") == "60.00"
    # beneficiary: the report's account, username and IP (with time) attach to the handle
    to = t1.find("t_to/to_person")
    assert to is not None
    assert (to.findtext("first_name"), to.findtext("last_name")) == ("Maria de la", "Cruz")
    assert {s.findtext("user_name") for s in to.iter("social_account")} == {"u123", "coolguy"}
    assert to.findtext("network_devices/network_device/ip_address/ipv4") in {
        "203.0.113.5",
        "198.51.100.7",
    }
    assert to.findtext("network_devices/network_device/ip_address/first_seen_date") is not None
    assert "gcash:+639171234567" in (to.findtext("comments") or "")
    assert to.findtext("email") == "seller@example.net"
    assert (
        "reporter@example.net" not in etree.tostring(root).decode()
    )  # the reporter is not the suspect
    assert [i.text for i in root.iter("indicator")] == ["CSAM1", "FOWNB"]
    assert "live stream" in (root.findtext("reason") or "")


def test_srilanka_codes_and_names(bundle: CaseBundle, srilanka_xsd: Path) -> None:
    exporter = GoamlExporter(srilanka_xsd)
    assert exporter.profile.name == "srilanka-2.0"
    root = _xml(exporter.render(bundle))
    assert root.find("schema_version") is None
    assert root.findtext("transaction/transmode_code") == "INTR"
    assert [i.text for i in root.iter("indicator")] == ["OTH"]
    # SL last names are one word of letters; the recorded name is kept in comments
    person = root.find("transaction/t_from_my_client/from_person")
    assert person is not None and person.findtext("last_name") == "OBrien"
    assert "Name as recorded: John O'Brien" in (person.findtext("comments") or "")
    assert root.find(".//social_media") is None  # not in this FIU's schema


def test_sar_with_report_parties_when_no_transactions(
    reports_only_bundle: CaseBundle, uae_xsd: Path, srilanka_xsd: Path
) -> None:
    uae = _xml(export_case("goaml", reports_only_bundle, uae_xsd))
    assert uae.findtext("report_code") == "SAR" and uae.find("transaction") is None
    party = uae.find("activity/report_parties/report_party/person")
    assert party is not None
    assert {s.findtext("user_name") for s in party.iter("social_account")} == {"u123", "coolguy"}
    sl = _xml(export_case("goaml", reports_only_bundle, srilanka_xsd))
    assert sl.findtext("report_code") == "STR" and sl.find("activity") is not None


def test_without_kyc_every_payer_is_t_from_and_noted(
    no_kyc_bundle: CaseBundle, uae_xsd: Path
) -> None:
    exporter = GoamlExporter(uae_xsd)
    root = _xml(exporter.render(no_kyc_bundle))
    assert root.find(".//t_from_my_client") is None
    notes = exporter.notes(no_kyc_bundle)
    assert len(notes) == 1 and "2 of 2 payer(s)" in notes[0] and "birthdate" in notes[0]


def test_invalid_settings_fail_naming_the_element(bundle: CaseBundle, uae_xsd: Path) -> None:
    org = TEST_ORG.model_copy(
        update={"address": Address(address="1 Street", city="Manila", state="MM", country="ZZ")}
    )
    with pytest.raises(ExportValidationError) as info:
        export_case("goaml", replace(bundle, org=org), uae_xsd)
    assert [p.where for p in info.value.problems] == ["/report/location/country_code"]
    assert "goAMLSchema.xsd" in str(info.value)


def test_profile_that_does_not_fit_the_schema_is_refused(bundle: CaseBundle, uae_xsd: Path) -> None:
    exporter = GoamlExporter(uae_xsd, profile="srilanka-2.0")
    with pytest.raises(ExportValidationError) as info:
        exporter.render(bundle)
    assert any(p.where.endswith("/transmode_code") for p in info.value.problems)


def test_custom_profile_from_yaml(bundle: CaseBundle, uae_xsd: Path, tmp_path: Path) -> None:
    text = (
        Path(__file__).parents[2] / "src/daybreak/exporters/goaml_profiles/uae-5.0.2.yaml"
    ).read_text()
    custom = tmp_path / "fiu.yaml"
    custom.write_text(text.replace("default: [CSAM1]", "default: [CSAM1, CSEWA]"))
    root = _xml(export_case("goaml", bundle, uae_xsd, profile=custom))
    assert [i.text for i in root.iter("indicator")] == ["CSAM1", "CSEWA", "FOWNB"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nreport_code_transactions: 7\n")
    with pytest.raises(ExportError, match="contact_type_private"):
        load_profile(bad)


def test_missing_or_broken_xsd_is_a_clear_error(bundle: CaseBundle, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="XSD file not found"):
        export_case("goaml", bundle, tmp_path / "nope.xsd")
    broken = tmp_path / "broken.xsd"
    broken.write_text("<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'><xs:element name=")
    with pytest.raises(ExportError, match=r"broken\.xsd"):
        export_case("goaml", bundle, broken)


def test_unknown_currency_names_the_transaction(bundle: CaseBundle, uae_xsd: Path) -> None:
    txns = [dict(bundle.transactions[0], currency="XTS"), *bundle.transactions[1:]]
    with pytest.raises(ExportError, match="transaction T1: no exchange rate for XTS"):
        export_case("goaml", replace(bundle, transactions=txns), uae_xsd)


@pytest.mark.parametrize(
    ("field", "value"), [("amount", None), ("amount", -5.0), ("timestamp", None), ("currency", "")]
)
def test_bad_transaction_rows_are_named(
    bundle: CaseBundle, uae_xsd: Path, field: str, value: object
) -> None:
    txns = [dict(bundle.transactions[0], **{field: value}), *bundle.transactions[1:]]
    with pytest.raises(ExportError, match="transaction T1: "):
        export_case("goaml", replace(bundle, transactions=txns), uae_xsd)
