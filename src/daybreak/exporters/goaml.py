"""goAML STR/SAR XML for financial intelligence units.

The FIU's own XSD is loaded at run time (:mod:`daybreak.exporters.xsd`) and every
document is validated against it before it is handed out. Codes (report code,
indicators, transmode, funds, contact types) come from a per-FIU profile
(:mod:`daybreak.exporters.goaml_profile`); by default the first built-in profile whose
codes all appear in the schema's code lists.

Element order follows the goAML 4.x/5.x ``t_person`` / ``transaction`` sequences, which
both schemas under ``../shared/standards/goaml`` share; elements newer than 4.x
(social media accounts, network devices) are emitted only when the profile lists them.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from daybreak.exporters.base import Exporter, ExportError, ValidationProblem, require_identity
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text
from daybreak.exporters.goaml_profile import GoamlProfile, load_profile, profile_for_schema
from daybreak.exporters.narrative import case_narrative, signals
from daybreak.exporters.parties import Party, case_parties, reported_accounts
from daybreak.exporters.xmlbuild import ascii_fold, split_phone, sub, to_bytes
from daybreak.exporters.xsd import LoadedSchema, RegexDialect, load_schema

# A conservative e-mail shape that every goAML email_address pattern accepts.
_GOAML_EMAIL = re.compile(
    r"^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,15}$"
)
_MAX_EMAILS = 5
_COMMENT_MAX = 4000


def goaml_date(value: datetime) -> str:
    """goAML ``sql_date``: a dateTime without zone; Daybreak's times are UTC."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S")  # type: ignore[union-attr]


class GoamlExporter(Exporter):
    name = "goaml"
    media_type = "application/xml"
    suffix = "xml"

    def __init__(
        self,
        xsd: Path | str,
        *,
        profile: GoamlProfile | str | Path | None = None,
        regex_dialect: RegexDialect | str = RegexDialect.AUTO,
    ) -> None:
        self.schema: LoadedSchema = load_schema(xsd, regex_dialect)
        if profile is None:
            self.profile = profile_for_schema(self.schema.enumeration)
        elif isinstance(profile, GoamlProfile):
            self.profile = profile
        else:
            self.profile = load_profile(profile)
        self.validates_against = self.schema.label

    # --- interface -----------------------------------------------------------------

    def validate(self, data: bytes) -> list[ValidationProblem]:
        return self.schema.validate(data)

    def notes(self, bundle: CaseBundle) -> list[str]:
        payers, _ = case_parties(bundle)
        lacking: dict[str, list[str]] = {}
        for party in payers.values():
            missing = self._missing_kyc(party)
            if missing:
                lacking[party.key.removeprefix("customer:")] = missing
        if not lacking:
            return super().notes(bundle)
        fields = sorted({f for m in lacking.values() for f in m})
        shown = ", ".join(list(lacking)[:10]) + (" …" if len(lacking) > 10 else "")
        return [
            *super().notes(bundle),
            f"{len(lacking)} of {len(payers)} payer(s) reported as t_from, not "
            f"t_from_my_client: the bundle lacks KYC fields {self.profile.name} requires "
            f"({', '.join(fields)}) for {shown}",
        ]

    def export(self, bundle: CaseBundle) -> bytes:
        require_identity(bundle.org, self.name)
        p = self.profile
        org = bundle.org
        root = etree.Element("report")
        if p.schema_version:
            sub(root, "schema_version", p.schema_version)
        sub(root, "rentity_id", org.rentity_id)
        if org.rentity_branch:
            sub(root, "rentity_branch", org.rentity_branch)
        sub(root, "submission_code", p.submission_code)
        has_txns = bool(bundle.transactions)
        sub(root, "report_code", p.report_code_transactions if has_txns else p.report_code_activity)
        sub(root, "entity_reference", bundle.case.case_id[:255])
        sub(root, "submission_date", goaml_date(bundle.generated_at))
        sub(root, "currency_code_local", org.local_currency)
        self._reporting_person(root, bundle)
        self._address(sub(root, "location"), org.location.model_dump(), p.address_type_business)
        sub(root, "reason", self._text(case_narrative(bundle), 8000))
        sub(root, "action", self._text(_action(bundle), 8000))
        if has_txns:
            payers, beneficiaries = case_parties(bundle)
            for txn in bundle.transactions:
                self._transaction(root, bundle, txn, payers, beneficiaries)
        else:
            self._activity(root, bundle)
        indicators = sub(root, "report_indicators")
        codes = p.indicator_codes(signals(bundle))
        if not codes:
            raise ExportError(f"goAML profile {p.name} gives no report indicator for this case")
        for code in codes:
            sub(indicators, "indicator", code)
        return to_bytes(root)

    # --- text and names --------------------------------------------------------------

    def _text(self, value: str, limit: int = _COMMENT_MAX) -> str:
        if self.profile.ascii_text:
            value = ascii_fold(value)
        return value[:limit]

    def _names(self, full: str) -> tuple[str, str]:
        """(first_name, last_name) cleaned to the characters this FIU's schema allows."""
        allowed = re.compile(f"[^{self.profile.name_chars}]")
        cleaned = re.sub(r"\s+", " ", allowed.sub("", ascii_fold(full))).strip()
        tokens = cleaned.split(" ") if cleaned else []
        unknown = self.profile.unknown_name
        if not tokens:
            return unknown, unknown
        if len(tokens) == 1:
            return unknown, tokens[0]
        first, last = " ".join(tokens[:-1]), tokens[-1]
        if self.profile.last_name_single_word:
            last = re.sub(r"[^A-Za-z]", "", last) or unknown
        return first, last

    # --- parties ---------------------------------------------------------------------

    def _missing_kyc(self, party: Party) -> list[str]:
        row = party.customer or {}
        fields = {
            "gender": text(row.get("gender")) in ("M", "F"),
            "birthdate": bool(row.get("birthdate")),
            "id_number": bool(text(row.get("id_number"))),
            "nationality": bool(text(row.get("nationality"))),
            "identifications": bool(row.get("identifications")),
            "tax_reg_number": bool(text(row.get("tax_reg_number"))),
            "address": bool(row.get("address")),
            "occupation": bool(text(row.get("occupation"))),
        }
        return [f for f in self.profile.my_client_requires if not fields.get(f, False)]

    def _person(self, parent: Any, tag: str, party: Party, *, my_client: bool) -> None:
        p = self.profile
        row = party.customer or {}
        el = sub(parent, tag)
        gender = text(row.get("gender"))
        if gender in ("M", "F") or my_client:
            sub(el, "gender", gender if gender in ("M", "F") else "-")
        first, last = self._names(party.name)
        sub(el, "first_name", first)
        sub(el, "last_name", last)
        if my_client and row.get("birthdate"):
            sub(el, "birthdate", goaml_date(as_utc(row["birthdate"])))  # type: ignore[arg-type]
        if my_client and text(row.get("id_number")):
            sub(el, "id_number", text(row.get("id_number")))
        nationality = text(row.get("nationality"))
        if nationality:
            sub(el, "nationality1", nationality)
        if party.country:
            sub(el, "residence", party.country)
        phones = [ph for ph in (split_phone(x) for x in party.phones) if ph is not None]
        if phones or my_client:
            box = sub(el, "phones")
            for prefix, number in phones:
                ph = sub(box, "phone")
                sub(ph, "tph_contact_type", p.contact_type_private)
                sub(ph, "tph_communication_type", p.communication_mobile)
                sub(ph, "tph_country_prefix", prefix)
                sub(ph, "tph_number", number)
        address = row.get("address") if my_client else None
        if isinstance(address, dict):
            self._address(sub(sub(el, "addresses"), "address"), address, p.contact_type_private)
        if p.has("network_devices") and party.ips:
            devices = sub(el, "network_devices")
            for seen in party.ips.values():
                self._network_device(devices, seen.ip, seen.first_seen, seen.last_seen)
        for email in [e for e in party.emails if _GOAML_EMAIL.match(e)][:_MAX_EMAILS]:
            sub(el, "email", email)
        accounts = [a for a in (*party.accounts, *party.usernames) if ":" in a]
        if p.has("social_media") and accounts:
            box = sub(el, "social_media")
            for acc in accounts:
                service, _, user = acc.partition(":")
                sa = sub(box, "social_account")
                sub(sa, "platform", service[:255])
                sub(sa, "user_name", user[:255])
        if my_client and text(row.get("occupation")):
            sub(el, "occupation", text(row.get("occupation")))
        if my_client:
            for ident in row.get("identifications") or []:
                self._identification(el, ident)
        if my_client and text(row.get("tax_reg_number")):
            sub(el, "tax_reg_number", text(row.get("tax_reg_number")))
        comment = _person_comment(party, first, last)
        if comment:
            sub(el, "comments", self._text(comment))

    def _network_device(
        self, parent: Any, ip: str, first: datetime | None, last: datetime | None
    ) -> None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return
        dev = sub(parent, "network_device")
        box = sub(dev, "ip_address")
        sub(box, "ipv4" if addr.version == 4 else "ipv6", addr.exploded)
        if first is not None:
            sub(box, "first_seen_date", goaml_date(first))
        if last is not None:
            sub(box, "last_seen_date", goaml_date(last))

    def _identification(self, parent: Any, ident: Row) -> None:
        el = sub(parent, "identification")
        kind = text(ident.get("type")) or "other"
        sub(el, "type", self.profile.id_types.get(kind, self.profile.id_types.get("other", "-")))
        sub(el, "number", text(ident.get("number")))
        for key in ("issue_date", "expiry_date"):
            if ident.get(key):
                sub(el, key, goaml_date(as_utc(ident[key])))  # type: ignore[arg-type]
        sub(el, "issue_country", text(ident.get("issue_country")))

    def _address(self, el: Any, address: Row, address_type: str) -> None:
        sub(el, "address_type", address_type)
        sub(el, "address", self._text(text(address.get("address")), 255))
        sub(el, "city", self._text(text(address.get("city")), 255))
        if text(address.get("zip")):
            sub(el, "zip", text(address.get("zip")))
        sub(el, "country_code", text(address.get("country")))
        state = text(address.get("state"))
        if state or self.profile.address_requires_state:
            sub(el, "state", self._text(state or text(address.get("city")), 255))

    def _reporting_person(self, root: Any, bundle: CaseBundle) -> None:
        rp = bundle.org.contact
        el = sub(root, "reporting_person")
        if rp.gender in ("M", "F"):
            sub(el, "gender", rp.gender)
        first, last = self._names(f"{rp.first_name} {rp.last_name}")
        sub(el, "first_name", first)
        sub(el, "last_name", last)
        if rp.nationality:
            sub(el, "nationality1", rp.nationality)
        phone = split_phone(rp.phone) if rp.phone else None
        if phone:
            ph = sub(sub(el, "phones"), "phone")
            sub(ph, "tph_contact_type", self.profile.contact_type_business)
            sub(ph, "tph_communication_type", self.profile.communication_mobile)
            sub(ph, "tph_country_prefix", phone[0])
            sub(ph, "tph_number", phone[1])
        if _GOAML_EMAIL.match(rp.email):
            sub(el, "email", rp.email)
        sub(el, "occupation", self._text(rp.occupation, 255))

    # --- transactions and activity -----------------------------------------------------

    def _transaction(
        self,
        root: Any,
        bundle: CaseBundle,
        txn: Row,
        payers: dict[str, Party],
        beneficiaries: dict[str, Party],
    ) -> None:
        p = self.profile
        txn_id = text(txn.get("txn_id"))
        channel = text(txn.get("channel"))
        currency = text(txn.get("currency")).upper()
        try:
            amount = float(txn["amount"])
            when = as_utc(txn.get("timestamp"))
            if when is None or amount < 0 or amount != amount or len(currency) != 3:
                raise ValueError("expected a timestamp, an amount >= 0 and a currency code")
            rate = bundle.org.to_local(currency)
        except (KeyError, TypeError, ValueError) as exc:
            raise ExportError(f"transaction {txn_id}: {exc}") from exc
        el = sub(root, "transaction")
        sub(el, "transactionnumber", txn_id[:50])
        sub(el, "internal_ref_number", txn_id[:50])
        sub(el, "transaction_location", self._text(f"{channel or 'unknown'} channel", 255))
        description = f"{channel} payment of {amount:.2f} {currency}"
        reference = text(txn.get("reference"))
        if reference:
            description += f"; payment reference: {reference}"
        sub(el, "transaction_description", self._text(description))
        sub(el, "date_transaction", goaml_date(when))
        sub(el, "transmode_code", p.transmode.get(channel, p.transmode_default))
        sub(el, "transmode_comment", p.transmode_comment or self._text(channel or "unknown", 50))
        sub(el, "amount_local", f"{amount * rate:.2f}")
        funds = p.funds.get(channel, p.funds_default)
        payer = payers[text(txn.get("sender_id"))]
        my_client = not self._missing_kyc(payer)
        side = sub(el, "t_from_my_client" if my_client else "t_from")
        sub(side, "from_funds_code", funds)
        if currency != bundle.org.local_currency:
            self._foreign(side, "from_foreign_currency", currency, amount, rate)
        self._person(side, "from_person", payer, my_client=my_client)
        sub(side, "from_country", text(txn.get("sender_country")) or payer.country or "-")
        beneficiary = beneficiaries[text(txn.get("receiver_id"))]
        to = sub(el, "t_to")
        sub(to, "to_funds_code", funds)
        if currency != bundle.org.local_currency:
            self._foreign(to, "to_foreign_currency", currency, amount, rate)
        self._person(to, "to_person", beneficiary, my_client=False)
        sub(to, "to_country", text(txn.get("receiver_country")) or beneficiary.country or "-")

    def _foreign(self, parent: Any, tag: str, currency: str, amount: float, rate: float) -> None:
        el = sub(parent, tag)
        sub(el, "foreign_currency_code", currency)
        sub(el, "foreign_amount", f"{amount:.2f}")
        sub(el, "foreign_exchange_rate", f"{rate:.6f}")

    def _activity(self, root: Any, bundle: CaseBundle) -> None:
        parties_el = sub(sub(root, "activity"), "report_parties")
        count = 0
        for report_id in _report_ids(bundle):
            for party in reported_accounts(bundle, report_id).values():
                rp = sub(parties_el, "report_party")
                self._person(rp, "person", party, my_client=False)
                sub(rp, "reason", self._text(f"Named in report {report_id}"))
                count += 1
        if count == 0:
            raise ExportError(
                f"case {bundle.case.case_id}: no transactions and no reported accounts, "
                "so there is nobody to report in goAML"
            )


def _report_ids(bundle: CaseBundle) -> list[str]:
    ids = [text(r.get("report_id")) for r in bundle.reports]
    return [i for i in ids if i] or list(bundle.case.report_ids)


def _action(bundle: CaseBundle) -> str:
    case = bundle.case
    parts = [f"Daybreak case {case.case_id} ({case.status.value})"]
    if case.routed_agency:
        parts.append(f"routed to {case.routed_agency}")
    if case.outcome:
        parts.append(f"outcome: {case.outcome.value}")
    return "; ".join(parts) + "."


def _person_comment(party: Party, first: str, last: str) -> str:
    bits = []
    if party.name and f"{first} {last}" != party.name:
        bits.append(f"Name as recorded: {party.name}")
    if party.handle:
        bits.append(f"Payment account/handle: {party.handle}")
    if party.accounts:
        bits.append("Accounts: " + ", ".join(party.accounts[:20]))
    if party.linked_reports:
        bits.append("Named in reports: " + ", ".join(party.linked_reports[:20]))
    return ". ".join(bits)
