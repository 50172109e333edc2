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
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from daybreak.exporters.base import Exporter, ExportError, ValidationProblem, require_identity
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text
from daybreak.exporters.goaml_profile import GoamlProfile, load_profile, profile_for_schema
from daybreak.exporters.narrative import case_narrative, signals
from daybreak.exporters.parties import (
    HandleKind,
    Party,
    bic_of,
    case_parties,
    handle_kind,
    iban_of,
    reported_accounts,
)
from daybreak.exporters.xmlbuild import ascii_fold, split_phone, sub, to_bytes
from daybreak.exporters.xsd import LoadedSchema, RegexDialect, load_schema
from daybreak.payments.names import split_person_name

# A conservative e-mail shape that every goAML email_address pattern accepts.
_GOAML_EMAIL = re.compile(
    r"^[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,15}$"
)
_MAX_EMAILS = 5
_COMMENT_MAX = 4000
_REASON_MAX = 8000

# How a payment's receiver is reported in <t_to>.
ToForm = Literal["account", "entity", "person"]


def goaml_date(value: datetime, zone: tzinfo | None = None) -> str:
    """goAML ``sql_date``: a dateTime without zone. Instants (payments, submission, IPs
    seen) are given in ``zone``, the FIU's local time; calendar dates (birth, ID
    documents) are passed without a zone and are never shifted."""
    moment = as_utc(value)
    if moment is None:
        raise ValueError("no date")
    if zone is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Payment:
    """One transaction row, checked: what the report states about it."""

    row: Row
    txn_id: str
    channel: str
    currency: str
    amount: float
    when: datetime
    rate: float  # currency -> the institution's local currency (1.0 when the same)

    @property
    def kind(self) -> HandleKind:
        return handle_kind(
            text(self.row.get("receiver_id")),
            channel=self.channel,
            merchant_category=self.row.get("merchant_category"),
        )


def _payment(row: Row, bundle: CaseBundle) -> Payment:
    txn_id = text(row.get("txn_id"))
    currency = text(row.get("currency")).upper()
    try:
        amount = float(row["amount"])
        when = as_utc(row.get("timestamp"))
        if when is None or amount < 0 or amount != amount or len(currency) != 3:
            raise ValueError("expected a timestamp, an amount >= 0 and a currency code")
        rate = bundle.org.to_local(currency)
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"transaction {txn_id}: {exc}") from exc
    return Payment(row, txn_id, text(row.get("channel")), currency, amount, when, rate)


@dataclass(frozen=True)
class PersonName:
    first: str
    last: str
    placeholders: tuple[str, ...]  # fields that hold the profile's placeholder


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
        return [*super().notes(bundle), *self._kyc_notes(bundle), *self._party_notes(bundle)]

    def export(self, bundle: CaseBundle) -> bytes:
        require_identity(bundle.org, self.name)
        p = self.profile
        org = bundle.org
        payments = [_payment(t, bundle) for t in bundle.transactions]
        root = etree.Element("report")
        if p.schema_version:
            sub(root, "schema_version", p.schema_version)
        sub(root, "rentity_id", org.rentity_id)
        if org.rentity_branch:
            sub(root, "rentity_branch", org.rentity_branch)
        sub(root, "submission_code", p.submission_code)
        sub(root, "report_code", p.report_code_transactions if payments else p.report_code_activity)
        sub(root, "entity_reference", bundle.case.case_id[:255])
        sub(root, "submission_date", goaml_date(bundle.generated_at, p.zone))
        sub(root, "currency_code_local", org.local_currency)
        self._reporting_person(root, bundle)
        self._address(sub(root, "location"), org.location.model_dump(), p.address_type_business)
        sub(root, "reason", self._reason(bundle, payments))
        sub(root, "action", self._text(_action(bundle), _REASON_MAX))
        if payments:
            payers, beneficiaries = case_parties(bundle)
            for payment in payments:
                self._transaction(root, bundle, payment, payers, beneficiaries)
        else:
            self._activity(root, bundle)
        indicators = sub(root, "report_indicators")
        codes = p.indicator_codes(signals(bundle))
        if not codes:
            raise ExportError(
                f"goAML profile {p.name} gives no report indicator for this case (signals: "
                f"{', '.join(signals(bundle)) or 'none'}): add the code your FIU expects "
                "under `indicators` in a copy of the profile and pass --profile FILE"
            )
        for code in codes:
            sub(indicators, "indicator", code)
        return to_bytes(root)

    # --- reason: what the report says about itself --------------------------------------

    def _reason(self, bundle: CaseBundle, payments: list[Payment]) -> str:
        """The case narrative (which opens by saying so when the report is a demo),
        followed by what a reader must know to read the report: the exchange rates used
        and the time zone."""
        tail = [x for x in (_fx_sentence(bundle, payments), self._time_sentence(payments)) if x]
        frame = len("\n".join(tail)) + 1
        narrative = self._text(case_narrative(bundle), max(0, _REASON_MAX - frame))
        return self._text("\n".join([narrative, *tail]), _REASON_MAX)

    def _time_sentence(self, payments: list[Payment]) -> str:
        zone = self.profile.timezone
        line = f"Dates and times in this report are {zone} time (goAML dates carry no zone)."
        if payments:
            line += (
                " Statements about night-time payments refer to the payer's local time, "
                "which each transaction_description gives."
            )
        return line

    # --- text and names --------------------------------------------------------------

    def _text(self, value: str, limit: int = _COMMENT_MAX) -> str:
        if self.profile.ascii_text:
            value = ascii_fold(value)
        return value[:limit]

    def _names(self, full: str) -> PersonName:
        """(first_name, last_name) by the comma- and particle-aware parser, cleaned to the
        characters this FIU's schema allows; the profile's placeholder only for a part
        that is not known (both are mandatory in t_person)."""
        p = self.profile
        given, family = split_person_name(full)
        first, last = _clean(given, p.name_chars), _clean(family, p.name_chars)
        if p.last_name_single_word:
            last = re.sub(r"[^A-Za-z]", "", last)
        placeholders = []
        if not first:
            first = p.unknown_first_name
            placeholders.append("first_name")
        if not last:
            last = p.unknown_last_name
            placeholders.append("last_name")
        return PersonName(first, last, tuple(placeholders))

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

    def _kyc_notes(self, bundle: CaseBundle) -> list[str]:
        payers, _ = case_parties(bundle)
        lacking: dict[str, list[str]] = {}
        for party in payers.values():
            missing = self._missing_kyc(party)
            if missing:
                lacking[party.key.removeprefix("customer:")] = missing
        if not lacking:
            return []
        fields = sorted({f for m in lacking.values() for f in m})
        return [
            f"{len(lacking)} of {len(payers)} payer(s) reported as t_from, not "
            f"t_from_my_client: the bundle lacks KYC fields {self.profile.name} requires "
            f"({', '.join(fields)}) for {_shown(list(lacking))}"
        ]

    def _party_notes(self, bundle: CaseBundle) -> list[str]:
        """Where the report holds a placeholder or falls back from the structure an FIU
        matches on, say so (the same decisions :meth:`export` makes)."""
        p = self.profile
        placeholders: list[str] = []
        as_person: list[str] = []
        no_code: list[str] = []
        payers, beneficiaries = case_parties(bundle)
        placeholders += [x.key for x in payers.values() if self._names(x.name).placeholders]
        seen: set[str] = set()
        for row in bundle.transactions:
            found = beneficiaries.get(text(row.get("receiver_id")))
            if found is None or found.key in seen:
                continue
            party = found
            seen.add(party.key)
            kind = handle_kind(
                party.handle,
                channel=text(row.get("channel")),
                merchant_category=row.get("merchant_category"),
            )
            form = self._to_form(kind, party)
            if form == "person" and kind in ("bank_account", "wallet", "crypto"):
                as_person.append(party.handle)
            if form == "account" and self._bic(party, kind) is None:
                no_code.append(party.handle)
            named = not self._names(party.name).placeholders
            if form != "entity" and self._person_needed(form, party) and not named:
                placeholders.append(party.key)
        if not bundle.transactions:
            for report_id in _report_ids(bundle):
                placeholders += [x.key for x in reported_accounts(bundle, report_id).values()]
        out = []
        if placeholders:
            out.append(
                f"{len(placeholders)} person(s) with a name not (fully) known: the schema "
                f"makes first_name and last_name mandatory, so the missing part holds "
                f"{p.name}'s placeholder ({p.unknown_first_name!r} / "
                f"{p.unknown_last_name!r}), as each person's comments say: "
                f"{_shown(placeholders)}"
            )
        if no_code:
            out.append(
                f"{len(no_code)} beneficiary account(s) with institution_code "
                f"{p.unknown_institution_code!r} (unknown): no BIC for their provider in "
                f"the profile's provider_bics: {_shown(no_code)}"
            )
        if as_person:
            out.append(
                f"{len(as_person)} beneficiary account(s) reported as to_person with the "
                f"account in comments: {p.name}'s to_account needs the provider's SWIFT/BIC "
                f"(add it under provider_bics in the profile): {_shown(as_person)}"
            )
        return out

    def _person(
        self, parent: Any, tag: str, party: Party, *, my_client: bool, alias: str = ""
    ) -> None:
        p = self.profile
        row = party.customer or {}
        el = sub(parent, tag)
        gender = text(row.get("gender"))
        if gender in ("M", "F") or my_client:
            sub(el, "gender", gender if gender in ("M", "F") else "-")
        name = self._names(party.name)
        sub(el, "first_name", name.first)
        sub(el, "last_name", name.last)
        if my_client and row.get("birthdate"):
            sub(el, "birthdate", goaml_date(row["birthdate"]))
        if alias:
            sub(el, "alias", self._text(alias, 255))
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
        comment = self._person_comment(party, name, with_handle=tag == "to_person")
        if comment:
            sub(el, "comments", self._text(comment))

    def _person_comment(self, party: Party, name: PersonName, *, with_handle: bool) -> str:
        bits = []
        if name.placeholders:
            fields = " and ".join(name.placeholders)
            bits.append(
                f"Name not known: {fields} hold the placeholder this FIU's schema needs "
                "for a mandatory name, not a name"
            )
        if party.name and f"{name.first} {name.last}" != party.name:
            bits.append(f"Name as recorded: {party.name}")
        if with_handle and party.handle:
            bits.append(f"Payment account/handle: {party.handle}")
        if party.accounts:
            bits.append("Accounts: " + ", ".join(party.accounts[:20]))
        if party.linked_reports:
            bits.append("Named in reports: " + ", ".join(party.linked_reports[:20]))
        return ". ".join(bits)

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
            sub(box, "first_seen_date", goaml_date(first, self.profile.zone))
        if last is not None:
            sub(box, "last_seen_date", goaml_date(last, self.profile.zone))

    def _identification(self, parent: Any, ident: Row) -> None:
        el = sub(parent, "identification")
        kind = text(ident.get("type")) or "other"
        sub(el, "type", self.profile.id_types.get(kind, self.profile.id_types.get("other", "-")))
        sub(el, "number", text(ident.get("number")))
        for key in ("issue_date", "expiry_date"):
            if ident.get(key):
                sub(el, key, goaml_date(ident[key]))
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
        # The settings give the two parts separately: cleaned, never re-split.
        sub(el, "first_name", _clean(rp.first_name, self.profile.name_chars))
        last = _clean(rp.last_name, self.profile.name_chars)
        if self.profile.last_name_single_word:
            last = re.sub(r"[^A-Za-z]", "", last)
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
        pay: Payment,
        payers: dict[str, Party],
        beneficiaries: dict[str, Party],
    ) -> None:
        p = self.profile
        txn, channel, currency = pay.row, pay.channel, pay.currency
        local = bundle.org.local_currency
        payer = payers[text(txn.get("sender_id"))]
        el = sub(root, "transaction")
        sub(el, "transactionnumber", pay.txn_id[:50])
        sub(el, "internal_ref_number", pay.txn_id[:50])
        sub(el, "transaction_location", self._text(f"{channel or 'unknown'} channel", 255))
        sub(el, "transaction_description", self._text(_description(pay, payer)))
        sub(el, "date_transaction", goaml_date(pay.when, p.zone))
        sub(el, "transmode_code", p.transmode.get(channel, p.transmode_default))
        sub(el, "transmode_comment", p.transmode_comment or self._text(channel or "unknown", 50))
        sub(el, "amount_local", f"{pay.amount * pay.rate:.2f}")
        funds = p.funds.get(channel, p.funds_default)
        my_client = not self._missing_kyc(payer)
        side = sub(el, "t_from_my_client" if my_client else "t_from")
        sub(side, "from_funds_code", funds)
        if currency != local:
            self._foreign(side, "from_foreign_currency", pay)
        self._person(side, "from_person", payer, my_client=my_client)
        sub(side, "from_country", text(txn.get("sender_country")) or payer.country or "-")
        beneficiary = beneficiaries[text(txn.get("receiver_id"))]
        to = sub(el, "t_to")
        sub(to, "to_funds_code", funds)
        if currency != local:
            self._foreign(to, "to_foreign_currency", pay)
        kind = pay.kind
        form = self._to_form(kind, beneficiary)
        if form == "entity":
            self._merchant(to, beneficiary, txn)
        elif form == "account":
            self._account(to, beneficiary, kind)
        else:
            self._person(to, "to_person", beneficiary, my_client=False)
        sub(to, "to_country", text(txn.get("receiver_country")) or beneficiary.country or "-")

    def _foreign(self, parent: Any, tag: str, pay: Payment) -> None:
        el = sub(parent, tag)
        sub(el, "foreign_currency_code", pay.currency)
        sub(el, "foreign_amount", f"{pay.amount:.2f}")
        sub(el, "foreign_exchange_rate", f"{pay.rate:.6f}")

    # --- the receiving side ----------------------------------------------------------

    def _bic(self, party: Party, kind: HandleKind) -> str | None:
        if kind == "crypto":
            return None  # a wallet address has no institution
        configured = self.profile.provider_bics.get(party.provider.lower())
        return configured or bic_of(party.provider)

    def _to_form(self, kind: HandleKind, party: Party) -> ToForm:
        """Merchants are entities; bank accounts, e-wallets and crypto wallets are
        accounts when the schema can take the institution (a BIC, or a free-text code
        the profile allows), otherwise persons with the account in comments."""
        if kind == "merchant":
            return "entity"
        if kind == "other":
            return "person"
        if self._bic(party, kind) or self.profile.unknown_institution_code is not None:
            return "account"
        return "person"

    def _person_needed(self, form: ToForm, party: Party) -> bool:
        """An account's holder is reported only when something is known about them:
        a signatory of whom nothing is known would be a person invented."""
        if form == "person":
            return True
        known = (party.phones, party.emails, party.accounts, party.usernames, party.ips)
        return bool(party.name.strip()) or any(known)

    def _account(self, to: Any, party: Party, kind: HandleKind) -> None:
        """``to_account``: institution, account number, IBAN when the number is one,
        the holder as signatory; virtual-asset wallets as accounts of the profile's
        crypto type (the UAE schema's ``virtual_address`` needs the transaction's
        network device and IP, which a payment record does not carry)."""
        p = self.profile
        el = sub(to, "to_account")
        notes = []
        if kind != "crypto" and party.provider:
            sub(el, "institution_name", self._text(party.provider, 255))
        bic = self._bic(party, kind)
        if bic:
            sub(el, "swift", bic)
        else:
            sub(el, "institution_code", p.unknown_institution_code)
            notes.append("Institution code not known")
        if kind in ("wallet", "crypto"):
            sub(el, "non_bank_institution", "true")
        number = party.account_number
        account = re.sub(f"[^{p.account_chars}]", "", number) if p.account_chars else number
        sub(el, "account", account)
        if account != number:
            notes.append(f"Account as recorded: {number}")
        holder = _clean(party.name, p.name_chars)
        if holder:
            sub(el, "account_name", holder)
        elif self._required("t_account", "account_name"):
            sub(el, "account_name", p.unknown_last_name)
            notes.append("Account holder's name not known: account_name is the placeholder")
        iban = iban_of(number)
        if iban:
            sub(el, "iban", iban)
        account_type = p.account_types.get(kind)
        if account_type:
            sub(el, "personal_account_type", account_type)
        if self._person_needed("account", party):
            signatory = sub(el, "signatory")
            self._person(signatory, "t_person", party, my_client=False)
            if p.account_holder_role:
                sub(signatory, "role", p.account_holder_role)
        if kind == "crypto":
            notes.append(f"Virtual-asset wallet ({party.provider.upper()}) address")
        notes.append(f"Payment handle: {party.handle}")
        sub(el, "comments", self._text(". ".join(notes)))

    def _merchant(self, to: Any, party: Party, txn: Row) -> None:
        """``to_entity`` for a card merchant (VPN services, app stores, ...)."""
        p = self.profile
        el = sub(to, "to_entity")
        name = _clean(party.name, p.entity_name_chars)
        sub(el, "name", name or _clean(f"Merchant {party.account_number}", p.entity_name_chars))
        mcc = text(txn.get("merchant_category"))
        sub(el, "business", f"Card merchant, MCC {mcc}" if mcc else "Card merchant")
        country = text(txn.get("receiver_country")) or party.country
        if country:
            sub(el, "incorporation_country_code", country)
        comment = f"Merchant id: {party.handle}"
        if party.name and name != party.name:
            comment += f". Name as recorded: {party.name}"
        sub(el, "comments", self._text(comment))

    def _required(self, type_name: str, element: str) -> bool:
        """Whether this FIU's schema makes ``element`` of ``type_name`` mandatory."""
        xsd_type = self.schema.schema.types.get(type_name)
        content = getattr(xsd_type, "content", None)
        for item in content.iter_elements() if content is not None else ():
            if item.name == element:
                return bool(item.min_occurs)
        return False

    def _activity(self, root: Any, bundle: CaseBundle) -> None:
        parties_el = sub(sub(root, "activity"), "report_parties")
        count = 0
        for report_id in _report_ids(bundle):
            for party in reported_accounts(bundle, report_id).values():
                rp = sub(parties_el, "report_party")
                alias = next(iter([*party.usernames, *party.accounts]), "")
                self._person(rp, "person", party, my_client=False, alias=alias)
                sub(rp, "reason", self._text(f"Named in report {report_id}"))
                count += 1
        if count == 0:
            raise ExportError(
                f"case {bundle.case.case_id}: no transactions and no reported accounts, "
                "so there is nobody to report in goAML"
            )


def _clean(value: str, chars: str) -> str:
    """ASCII-folded, reduced to the characters ``chars`` (a regex class body) allows."""
    kept = re.sub(f"[^{chars}]", "", ascii_fold(value))
    return re.sub(r"\s+", " ", kept).strip()


def _shown(keys: list[str]) -> str:
    return ", ".join(keys[:10]) + (" …" if len(keys) > 10 else "")


def _zone_of(payer: Party) -> tzinfo | None:
    name = text((payer.customer or {}).get("timezone"))
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _description(pay: Payment, payer: Party) -> str:
    """Channel, amount and the payer's local time: the payments detector's night-time
    statements are in the payer's local time, the report's dates in the FIU's."""
    out = f"{pay.channel} payment of {pay.amount:.2f} {pay.currency}"
    zone = _zone_of(payer)
    if zone is not None:
        out += f"; sent {pay.when.astimezone(zone):%Y-%m-%d %H:%M} payer's local time ({zone})"
    reference = text(pay.row.get("reference"))
    if reference:
        out += f"; payment reference: {reference}"
    return out


def _fx_sentence(bundle: CaseBundle, payments: list[Payment]) -> str:
    """The rates behind amount_local and where they come from; empty when no amount
    needed converting (an institution reporting USD in USD gets no conversion)."""
    org = bundle.org
    local = org.local_currency
    rates = {pay.currency: pay.rate for pay in payments if pay.currency != local}
    if not rates:
        return ""
    if not org.fx_source:
        raise ExportError(
            f"amounts in {', '.join(sorted(rates))} are converted to {local} with fx_usd, "
            "but the organisation settings do not say where the rates come from: set fx_source"
        )
    shown = "; ".join(f"1 {cur} = {rate:.6f} {local}" for cur, rate in sorted(rates.items()))
    return (
        f"Amounts are in {local}; foreign amounts were converted at the reporting "
        f"institution's rates ({org.fx_source}): {shown}."
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
