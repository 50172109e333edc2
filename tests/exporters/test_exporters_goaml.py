"""goAML against both FIU schemas in ../shared/standards/goaml, loaded at run time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from daybreak.exporters import ExportError, ExportValidationError, bundle_from_world, export_case
from daybreak.exporters.bundle import Address, CaseBundle, OrgSettings
from daybreak.exporters.goaml import GoamlExporter
from daybreak.exporters.goaml_profile import load_profile
from daybreak.exporters.parties import bic_of, handle_kind, iban_of
from exporters.conftest import TEST_ORG, make_bundle, write_world

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
    # Only the FIU's ECMAScript-style name patterns fail, each named by element path
    # (person names and the beneficiary account's holder name).
    assert {p.where.rsplit("/", 1)[-1] for p in problems} == {
        "first_name",
        "last_name",
        "account_name",
    }
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
    # beneficiary: an e-wallet account whose holder carries the report's account,
    # username and IP (with time)
    account = t1.find("t_to/to_account")
    assert account is not None and account.findtext("account") == "+639171234567"
    to = account.find("signatory/t_person")
    assert to is not None
    assert (to.findtext("first_name"), to.findtext("last_name")) == ("Maria", "de la Cruz")
    assert {s.findtext("user_name") for s in to.iter("social_account")} == {"u123", "coolguy"}
    assert to.findtext("network_devices/network_device/ip_address/ipv4") in {
        "203.0.113.5",
        "198.51.100.7",
    }
    assert to.findtext("network_devices/network_device/ip_address/first_seen_date") is not None
    assert "gcash:+639171234567" not in (to.findtext("comments") or "")  # it is the account
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
    notes = [n for n in exporter.notes(no_kyc_bundle) if "payer(s)" in n]
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
    custom.write_text(text.replace("indicators:\n", "indicators:\n  default: [CSEWA]\n"))
    root = _xml(export_case("goaml", bundle, uae_xsd, profile=custom))
    assert [i.text for i in root.iter("indicator")] == ["CSEWA", "CSAM1", "FOWNB"]
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


# --- issue #14: what the report says -------------------------------------------------


def _payment(
    txn_id: str, receiver: str, name: str, channel: str, **extra: object
) -> dict[str, object]:
    row = dict(make_bundle().transactions[0])
    row.update(txn_id=txn_id, receiver_id=receiver, receiver_name=name, channel=channel)
    row.update(reference=None, merchant_category=None)
    row.update(extra)
    return row


def _with_payments(bundle: CaseBundle, *rows: dict[str, object]) -> CaseBundle:
    return replace(bundle, transactions=[*bundle.transactions, *rows])


def _txn(root: etree._Element, txn_id: str) -> etree._Element:
    found = [t for t in root.findall("transaction") if t.findtext("transactionnumber") == txn_id]
    assert len(found) == 1
    return found[0]


def test_rates_and_their_source_are_stated(bundle: CaseBundle, uae_xsd: Path) -> None:
    """Defect 3: amounts are converted with the org's own rates, and the report says
    which rates and where they come from."""
    root = _xml(export_case("goaml", bundle, uae_xsd))
    reason = root.findtext("reason") or ""
    rate = 0.0175 / 0.66
    assert f"1 PHP = {rate:.6f} AUD" in reason and "test rates 2026-03-01" in reason
    assert _txn(root, "T2").findtext("t_from/from_foreign_currency/foreign_exchange_rate") == (
        f"{rate:.6f}"
    )


def test_usd_institution_reporting_usd_gets_no_conversion(
    bundle: CaseBundle, uae_xsd: Path
) -> None:
    org = TEST_ORG.model_copy(update={"currency_local": "USD", "fx_usd": {}, "fx_source": None})
    txns = [dict(t, currency="USD", amount=12.5) for t in bundle.transactions]
    root = _xml(export_case("goaml", replace(bundle, org=org, transactions=txns), uae_xsd))
    assert root.findtext("currency_code_local") == "USD"
    assert [t.findtext("amount_local") for t in root.findall("transaction")] == ["12.50", "12.50"]
    assert root.find(".//from_foreign_currency") is None
    assert root.find(".//to_foreign_currency") is None
    assert "converted" not in (root.findtext("reason") or "")


def test_conversion_without_a_rate_source_is_refused(bundle: CaseBundle, uae_xsd: Path) -> None:
    org = TEST_ORG.model_copy(update={"fx_source": None})
    with pytest.raises(ExportError, match=r"PHP.*set fx_source"):
        export_case("goaml", replace(bundle, org=org), uae_xsd)
    no_rate = TEST_ORG.model_copy(update={"fx_usd": {"AUD": 0.66}})
    with pytest.raises(ExportError, match=r"transaction T2: no exchange rate for PHP.*fx_usd"):
        export_case("goaml", replace(bundle, org=no_rate), uae_xsd)


def test_demo_identity_says_it_is_not_a_real_report(bundle: CaseBundle, uae_xsd: Path) -> None:
    demo = replace(bundle, org=OrgSettings.demo_identity())
    reason = _xml(export_case("goaml", demo, uae_xsd)).findtext("reason") or ""
    assert reason.startswith("DEMONSTRATION ONLY") and "not a real report" in reason
    real = _xml(export_case("goaml", bundle, uae_xsd)).findtext("reason") or ""
    assert "DEMONSTRATION" not in real


def test_comma_names_are_not_reversed(
    bundle: CaseBundle, uae_xsd: Path, srilanka_xsd: Path
) -> None:
    """Defect 4: "SURNAME, Given" names keep their family name as last_name."""
    customers = [dict(bundle.customers[0], name="STEWART, Matthew"), *bundle.customers[1:]]
    b = _with_payments(
        replace(bundle, customers=customers),
        _payment("T6", "bdo:123456789012", "DE LEON, Maria Magbanua", "remittance"),
    )
    uae = _xml(export_case("goaml", b, uae_xsd))
    payer = _txn(uae, "T1").find("t_from_my_client/from_person")
    assert payer is not None
    assert (payer.findtext("first_name"), payer.findtext("last_name")) == ("Matthew", "STEWART")
    holder = _txn(uae, "T6").find("t_to/to_account/signatory/t_person")
    assert holder is not None
    assert (holder.findtext("first_name"), holder.findtext("last_name")) == (
        "Maria Magbanua",
        "DE LEON",
    )
    # Sri Lanka: last names are one word of letters, so the particle is joined
    sl = _xml(export_case("goaml", b, srilanka_xsd))
    to = _txn(sl, "T6").find("t_to/to_person")
    assert to is not None
    assert (to.findtext("first_name"), to.findtext("last_name")) == ("Maria Magbanua", "DELEON")


def test_no_party_is_called_unknown_unknown(
    bundle: CaseBundle, reports_only_bundle: CaseBundle, uae_xsd: Path, srilanka_xsd: Path
) -> None:
    """Defect 8 (goAML): a name that is not known is never made up. An account holder
    of whom nothing is known is left out; a reported account (a person the schema
    needs a name for) gets the profile's placeholders, its username as alias, and a
    comment and a note saying so."""
    b = _with_payments(bundle, _payment("T7", "bdo:5550001", "", "remittance"))
    exporter = GoamlExporter(uae_xsd)
    account = _txn(_xml(exporter.render(b)), "T7").find("t_to/to_account")
    assert account is not None and account.find("signatory") is None
    assert account.findtext("account_name") == "-"  # mandatory in this schema
    for xsd in (uae_xsd, srilanka_xsd):
        exporter = GoamlExporter(xsd)
        root = _xml(exporter.render(reports_only_bundle))
        person = root.find("activity/report_parties/report_party/person")
        assert person is not None
        names = (person.findtext("first_name"), person.findtext("last_name"))
        assert names == (
            exporter.profile.unknown_first_name,
            exporter.profile.unknown_last_name,
        )
        assert names != ("Unknown", "Unknown")
        assert person.findtext("alias") in {"chatapp:coolguy", "chatapp:u123"}
        assert "Name not known" in (person.findtext("comments") or "")
        assert any("placeholder" in n for n in exporter.notes(reports_only_bundle))


def test_beneficiaries_are_accounts_entities_or_wallets(bundle: CaseBundle, uae_xsd: Path) -> None:
    """Defect 5: bank accounts, e-wallets and crypto wallets are to_account (IBAN only
    when the number is one), merchants to_entity; none of them a to_person."""
    b = _with_payments(
        bundle,
        _payment("T3", "sepa:DE89370400440532013000", "Hans Muller", "wire", receiver_country="DE"),
        _payment("T4", "usdt:TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "", "crypto"),
        _payment("T5", "mid:5968900001", "SecureVPN 001", "card", merchant_category="4816",
                 receiver_country="US"),
        _payment("T6", "bdo:123456789012", "Jose R. Santos", "remittance"),
    )  # fmt: skip
    root = _xml(export_case("goaml", b, uae_xsd))
    assert root.find("transaction/t_to/to_person") is None
    wallet = _txn(root, "T1").find("t_to/to_account")
    assert wallet is not None
    assert wallet.findtext("institution_name") == "gcash"
    assert wallet.findtext("personal_account_type") == "FDWLT"
    assert wallet.findtext("non_bank_institution") == "true"
    bank = _txn(root, "T3").find("t_to/to_account")
    assert bank is not None
    assert bank.findtext("iban") == "DE89370400440532013000"
    assert bank.findtext("institution_name") == "sepa"
    plain = _txn(root, "T6").find("t_to/to_account")
    assert plain is not None and plain.findtext("account") == "123456789012"
    assert plain.find("iban") is None  # twelve digits are not guessed to be an IBAN
    crypto = _txn(root, "T4").find("t_to/to_account")
    assert crypto is not None
    assert crypto.findtext("account") == "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8"
    assert crypto.findtext("personal_account_type") == "CRYWT"
    assert crypto.find("institution_name") is None  # an address has no institution
    assert "USDT" in (crypto.findtext("comments") or "")
    merchant = _txn(root, "T5").find("t_to/to_entity")
    assert merchant is not None
    assert merchant.findtext("name") == "SecureVPN 001"
    assert merchant.findtext("incorporation_country_code") == "US"
    assert "MCC 4816" in (merchant.findtext("business") or "")


def test_srilanka_needs_a_bic_for_an_account(
    bundle: CaseBundle, srilanka_xsd: Path, tmp_path: Path
) -> None:
    """The Sri Lanka schema's to_account needs the institution's SWIFT/BIC: with one in
    the profile the wallet is an account (number reduced to the allowed characters);
    without, a person with a note saying why."""
    exporter = GoamlExporter(srilanka_xsd)
    root = _xml(exporter.render(bundle))
    assert root.find(".//to_account") is None
    assert any("provider_bics" in n for n in exporter.notes(bundle))
    source = Path(__file__).parents[2] / "src/daybreak/exporters/goaml_profiles/srilanka-2.0.yaml"
    custom = tmp_path / "sl.yaml"
    custom.write_text(source.read_text().replace("provider_bics: {}", "provider_bics: {gcash: TESTPHM1XXX}"))  # fmt: skip
    with_bic = GoamlExporter(srilanka_xsd, profile=custom)
    account = _xml(with_bic.render(bundle)).find("transaction/t_to/to_account")
    assert account is not None
    assert account.findtext("swift") == "TESTPHM1XXX"
    assert account.findtext("account") == "639171234567"
    assert "Account as recorded: +639171234567" in (account.findtext("comments") or "")
    assert not any("provider_bics" in n for n in with_bic.notes(bundle))
    custom.write_text(source.read_text().replace("provider_bics: {}", "provider_bics: {gcash: nope}"))  # fmt: skip
    with pytest.raises(ExportError, match=r"provider_bics.*gcash"):
        load_profile(custom)


def test_times_are_the_fius_local_time(
    bundle: CaseBundle, uae_xsd: Path, srilanka_xsd: Path
) -> None:
    """Defect 5: goAML dates have no zone; they are written in the FIU's time zone and
    the payer's local time (what night-time statements refer to) is in the description."""
    uae = _xml(export_case("goaml", bundle, uae_xsd))
    sl = _xml(export_case("goaml", bundle, srilanka_xsd))
    # T1 was paid at 20:00 UTC: 00:00 next day in Dubai, 01:30 in Colombo, 07:00 in Sydney
    assert _txn(uae, "T1").findtext("date_transaction") == "2026-03-02T00:00:00"
    assert _txn(sl, "T1").findtext("date_transaction") == "2026-03-02T01:30:00"
    assert uae.findtext("submission_date") == "2026-03-05T13:00:00"
    description = _txn(uae, "T1").findtext("transaction_description") or ""
    assert "sent 2026-03-02 07:00 payer's local time (Australia/Sydney)" in description
    assert "Asia/Dubai time" in (uae.findtext("reason") or "")
    # calendar dates are not shifted
    assert uae.findtext(".//from_person/birthdate") == "1970-05-01T00:00:00"


def test_profile_time_zone_is_checked(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "src/daybreak/exporters/goaml_profiles/uae-5.0.2.yaml"
    bad = tmp_path / "tz.yaml"
    bad.write_text(source.read_text().replace("timezone: Asia/Dubai", "timezone: Mars/Olympus"))
    with pytest.raises(ExportError, match=r"timezone.*Mars/Olympus"):
        load_profile(bad)


def _payments_only(bundle: CaseBundle) -> CaseBundle:
    evidence = [e for e in bundle.case.evidence if e.source == "transactions"]
    case = bundle.case.model_copy(
        update={
            "sources": ["payments"],
            "report_ids": [],
            "reasons": ["facilitator hub"],
            "evidence": evidence,
        }
    )
    payments_alerts = [a for a in bundle.alerts if a.detector == "payments"]
    return replace(
        bundle, case=case, reports=(), media_sightings=(), platform_events=(),
        identifiers=[i for i in bundle.identifiers if i["source"] == "customers"],
        alerts=payments_alerts,
    )  # fmt: skip


def test_csam_indicator_only_with_reports_or_a_matched_hash(
    bundle: CaseBundle, uae_xsd: Path
) -> None:
    """Indicators: CSAM1 needs tipline reports or a matched hash; payment typologies
    give FOWNB."""
    only_payments = _payments_only(bundle)
    codes = [i.text for i in _xml(export_case("goaml", only_payments, uae_xsd)).iter("indicator")]
    assert codes == ["FOWNB"]
    # unmatched sightings are not known material: still no CSAM1
    unmatched = replace(only_payments, media_sightings=bundle.media_sightings[1:])
    codes = [i.text for i in _xml(export_case("goaml", unmatched, uae_xsd)).iter("indicator")]
    assert codes == ["FOWNB"]
    matched = replace(only_payments, media_sightings=bundle.media_sightings, alerts=bundle.alerts)
    codes = [i.text for i in _xml(export_case("goaml", matched, uae_xsd)).iter("indicator")]
    assert codes == ["CSAM1", "FOWNB"]


def test_payments_only_case_from_the_world_gets_fownb(
    bundle: CaseBundle, uae_xsd: Path, tmp_path: Path
) -> None:
    """The case's own alerts decide its indicators, also when the caller passes none."""
    only_payments = _payments_only(bundle)
    # the world holds a report and sightings too, but nothing links them to this case
    tables = {"reports": bundle.reports, "media_sightings": bundle.media_sightings,
              "platform_events": bundle.platform_events}  # fmt: skip
    world = write_world(replace(only_payments, **tables), tmp_path / "world")
    case = only_payments.case.model_copy(update={"alerts": list(only_payments.alerts)})
    loaded = bundle_from_world(case, world, org=TEST_ORG, generated_at=bundle.generated_at)
    root = _xml(export_case("goaml", loaded, uae_xsd))
    assert [i.text for i in root.iter("indicator")] == ["FOWNB"]


def test_reason_states_each_finding_once_and_only_matched_media(
    bundle: CaseBundle, uae_xsd: Path
) -> None:
    data = export_case("goaml", bundle, uae_xsd)
    reason = _xml(data).findtext("reason") or ""
    for line in bundle.case.reasons:
        assert reason.splitlines().count(f"- {line}") == 1
    for alert in bundle.alerts:
        assert alert.explanation not in reason
    assert "M1: pdq hash matched" in reason
    assert b"M2" not in data and b"M3" not in data
    assert "2 other hash sighting(s)" in reason


@pytest.mark.parametrize(
    ("handle", "channel", "mcc", "kind"),
    [
        ("gcash:+639171234567", "remittance", None, "wallet"),
        ("bdo:123456789012", "remittance", None, "bank_account"),
        ("bdo:123456789012", "wallet", None, "wallet"),
        ("usdt:TJRabPrwbZy45sbavfcjinPJC18kjpRTv8", "wire", None, "crypto"),
        ("mid:5968900001", "card", "5968", "merchant"),
        ("mid:5968900001", "", None, "merchant"),
        ("shop:42", "wire", "5734", "merchant"),
        ("sepa:DE89370400440532013000", "wire", None, "bank_account"),
        ("nohandle", "wire", None, "other"),
    ],
)
def test_handle_kind(handle: str, channel: str, mcc: str | None, kind: str) -> None:
    assert handle_kind(handle, channel=channel, merchant_category=mcc) == kind


def test_iban_and_bic_are_checked_not_guessed() -> None:
    assert iban_of("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert iban_of("DE89370400440532013001") is None  # checksum fails
    assert iban_of("123456789012") is None
    assert bic_of("DEUTDEFF") == "DEUTDEFF"
    assert bic_of("landbank") is None  # a provider name, not a BIC
