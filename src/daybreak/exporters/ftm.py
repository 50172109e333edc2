"""FollowTheMoney entities for Aleph / OpenAleph, as JSON lines.

People are ``Person`` (``firstName``/``lastName`` split by the payments detector's comma-
and particle-aware parser); merchants (receivers of card or cash payments, or of
payments with a merchant category code) are ``LegalEntity``, since the data does not say
whether a shop is a company, a charity or a sole trader, and their merchant id is no
bank account; payment accounts are ``BankAccount`` (bank accounts and e-money wallets
such as ``gcash:+63…``) or ``CryptoWallet`` (crypto channel); who holds an account is an
``Ownership``; each transaction is a ``Payment`` (payer -> beneficiary); platform
accounts are ``UserAccount`` with their owner, e-mails, phones and IPs; each tipline
report is an ``Event``, linked to the accounts it reports by an ``UnknownLink``; each
hash sighting that matched a list of known material is a ``Note`` on the account it was
seen on, with the match (unmatched sightings are only counted in the case's note);
the case itself is a ``Note`` on its main parties.

Entity ids are ``make_id("daybreak", <node key>)``: the same customer or account gets
the same id in every case's export, so OpenAleph cross-references cases by itself.
"""

from __future__ import annotations

import json
from typing import Any

from followthemoney import model
from followthemoney.exc import InvalidData
from followthemoney.util import make_entity_id

from daybreak.exporters.base import Exporter, ValidationProblem
from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text, unique
from daybreak.exporters.narrative import case_narrative, match_phrase
from daybreak.exporters.parties import Party, case_parties, reported_accounts
from daybreak.model.alerts import HashMatch
from daybreak.payments.compiler import SPEND_CHANNELS
from daybreak.payments.names import split_person_name

GENDERS = {"M": "male", "F": "female", "X": "other"}
CRYPTO_CHANNELS = {"crypto"}


def _id(*parts: str) -> str:
    return str(make_entity_id("daybreak", *parts))


class FtmExporter(Exporter):
    name = "ftm"
    media_type = "application/x-ndjson"
    suffix = "jsonl"
    validates_against = "the followthemoney model"

    def export(self, bundle: CaseBundle) -> bytes:
        build = _Builder(bundle)
        build.run()
        lines = [
            json.dumps(e.to_dict(), sort_keys=True, ensure_ascii=False) for e in build.out.values()
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def validate(self, data: bytes) -> list[ValidationProblem]:
        problems: list[ValidationProblem] = []
        entities: list[tuple[str, dict[str, Any]]] = []
        for n, line in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"line {n}"
            try:
                obj = json.loads(line)
            except ValueError as exc:
                problems.append(ValidationProblem(where, f"not JSON: {exc}"))
                continue
            problems.extend(_check_entity(where, obj))
            entities.append((where, obj))
        schemata = {
            str(obj.get("id")): model.get(str(obj.get("schema", ""))) for _, obj in entities
        }
        for where, obj in entities:
            schema = model.get(obj.get("schema", ""))
            if schema is None:
                continue
            for prop_name, values in (obj.get("properties") or {}).items():
                prop = schema.get(prop_name)
                if prop is not None and prop.type.name == "entity":
                    for ref in values:
                        target = schemata.get(ref)
                        if target is None:
                            msg = f"{prop_name} refers to {ref}, which is not in the export"
                        elif prop.range is not None and not target.is_a(prop.range):
                            msg = (
                                f"{prop_name} refers to a {target.name}, expected {prop.range.name}"
                            )
                        else:
                            continue
                        problems.append(ValidationProblem(f"{where} ({obj.get('id')})", msg))
        return problems


def _check_entity(where: str, obj: Any) -> list[ValidationProblem]:
    if not isinstance(obj, dict):
        return [ValidationProblem(where, "expected a JSON object")]
    schema = model.get(obj.get("schema", ""))
    if schema is None:
        return [ValidationProblem(where, f"unknown schema {obj.get('schema')!r}")]
    where = f"{where} ({schema.name} {obj.get('id')})"
    out = []
    if schema.abstract:
        out.append(ValidationProblem(where, f"schema {schema.name} is abstract"))
    if not obj.get("id"):
        out.append(ValidationProblem(where, "entity without an id"))
    props = obj.get("properties") or {}
    for name in props:
        if schema.get(name) is None:
            out.append(ValidationProblem(where, f"{schema.name} has no property {name!r}"))
    for name in schema.required:
        if not props.get(name):
            out.append(ValidationProblem(where, f"required property {name!r} is missing"))
    try:
        schema.validate(obj)  # type: ignore[arg-type]  # checked to be a dict above
    except InvalidData as exc:
        errors = (exc.errors or {}).get("properties", {})
        for name, msg in errors.items():
            out.append(ValidationProblem(where, f"{name}: {msg}"))
    return out


class _Builder:
    def __init__(self, bundle: CaseBundle) -> None:
        self.b = bundle
        self.out: dict[str, Any] = {}
        self.institution = bundle.org.name or "the reporting institution"

    def make(self, schema: str, *key: str) -> Any:
        eid = _id(schema, *key)
        if eid not in self.out:
            entity = model.make_entity(schema)
            entity.id = eid
            self.out[eid] = entity
        return self.out[eid]

    def person(self, party: Party) -> Any:
        p = self.make("Person", party.key)
        p.add("name", party.name or party.handle or party.key)
        if party.name:  # a handle is no name to split
            given, family = split_person_name(party.name)
            p.add("firstName", given or None)
            p.add("lastName", family or None)
        p.add("country", party.country.lower() or None)
        row = party.customer or {}
        if row.get("birth_year"):
            p.add("birthDate", str(int(row["birth_year"])))
        p.add("gender", GENDERS.get(text(row.get("gender"))))
        p.add("nationality", text(row.get("nationality")).lower() or None)
        p.add("email", party.emails)
        p.add("phone", party.phones)
        # idNumber is a national id (from the institution's KYC); the customer id is
        # only the institution's own reference, so it goes in the notes.
        p.add("idNumber", text(row.get("id_number")) or None)
        if party.customer is not None:
            p.add("notes", f"Customer {text(row.get('customer_id'))} of {self.institution}.")
        for ident in row.get("identifications") or []:
            doc = self.make("Identification", party.key, "id", text(ident.get("number")))
            doc.add("holder", p.id)
            doc.add("number", text(ident.get("number")))
            doc.add("type", text(ident.get("type")))
            doc.add("country", text(ident.get("issue_country")).lower() or None)
        self.user_accounts(party, owner=p.id)
        return p

    def merchant(self, party: Party, categories: list[str]) -> Any:
        """A shop or cash point: its merchant id is the institution's record of the
        acquirer's id, not a bank account, so it is stated, not typed as an account."""
        m = self.make("LegalEntity", party.key)
        m.add("name", party.name or party.handle or party.key)
        m.add("country", party.country.lower() or None)
        m.add("classification", "merchant")
        m.add("sector", [f"MCC {code}" for code in categories])
        m.add(
            "summary", f"Merchant id {party.handle or party.key} (as the institution records it)."
        )
        return m

    def user_account(self, acc: str) -> Any:
        service, _, user = acc.partition(":")
        ua = self.make("UserAccount", f"account:{acc}")
        ua.add("username", user or acc)
        ua.add("service", service or None)
        return ua

    def user_accounts(self, party: Party, owner: str | None) -> list[Any]:
        made = []
        for acc in [*party.accounts, *party.usernames]:
            ua = self.user_account(acc)
            if owner:
                ua.add("owner", owner)
            made.append(ua)
        if made:
            first = made[0]
            first.add("ipAddress", list(party.ips))
            if not owner:
                first.add("email", party.emails)
                first.add("phone", party.phones)
        return made

    def account(self, party: Party, channel: str, holder: str) -> Any:
        if channel in CRYPTO_CHANNELS:
            acct = self.make("CryptoWallet", party.key)
            acct.add("publicKey", party.account_number)
            acct.add("currencySymbol", party.provider.upper() or None)
            acct.add("holder", holder)
            return acct
        acct = self.make("BankAccount", party.key)
        acct.add("accountNumber", party.account_number)
        acct.add("bankName", party.provider or None)
        acct.add("country", party.country.lower() or None)
        own = self.make("Ownership", party.key, "owner")
        own.add("owner", holder)
        own.add("asset", acct.id)
        own.add("role", "account holder")
        return acct

    def run(self) -> None:
        payers, beneficiaries = case_parties(self.b)
        shops = merchants(self.b)
        main: list[str] = []
        for txn in self.b.transactions:
            channel = text(txn.get("channel"))
            receiver = text(txn.get("receiver_id"))
            payer = self.person(payers[text(txn.get("sender_id"))])
            ben_party = beneficiaries[receiver]
            pay = self.make("Payment", "txn", text(txn.get("txn_id")))
            pay.add("payer", payer.id)
            if receiver in shops:
                ben = self.merchant(ben_party, shops[receiver])
            else:
                ben = self.person(ben_party)
                acct = self.account(ben_party, channel, ben.id)
                if acct.schema.name == "BankAccount":
                    pay.add("beneficiaryAccount", acct.id)
            pay.add("beneficiary", ben.id)
            if txn.get("amount") is not None:  # unknown stays unknown, never 0
                pay.add("amount", f"{float(txn['amount']):.2f}")
            pay.add("currency", text(txn.get("currency")).upper())
            when = as_utc(txn.get("timestamp"))
            pay.add("date", when.isoformat(timespec="seconds") if when else None)
            pay.add("transactionNumber", text(txn.get("txn_id")))
            pay.add("purpose", text(txn.get("reference")) or None)
            pay.add("summary", f"{channel} payment")
            main += [payer.id, ben.id]
        for report in self.b.reports:
            report_id = text(report.get("report_id"))
            event = self.make("Event", "report", report_id)
            event.add("name", f"Tipline report {report_id}")
            event.add("summary", text(report.get("incident_type")).replace("_", " "))
            when = as_utc(report.get("occurred_at")) or as_utc(report.get("received_at"))
            event.add("date", when.isoformat(timespec="seconds") if when else None)
            event.add("country", text(report.get("victim_country")).lower() or None)
            event.add("recordId", report_id)
            main.append(event.id)
            for party in reported_accounts(self.b, report_id).values():
                for ua in self.user_accounts(party, owner=None):
                    main.append(ua.id)
                    link = self.make("UnknownLink", ua.id, event.id)
                    link.add("subject", ua.id)
                    link.add("object", event.id)
                    link.add("role", "reported account")
        main += self.hash_matches()
        note = self.make("Note", "case", self.b.case.case_id)
        note.add("name", self.b.case.title or f"Daybreak case {self.b.case.case_id}")
        note.add("description", case_narrative(self.b))
        note.add("entity", [i for i in dict.fromkeys(main) if i])

    def hash_matches(self) -> list[str]:
        """A note per sighting that matched a list of known material, on the account it
        was seen on (ids of the notes and accounts)."""
        made: list[str] = []
        for row, matches in self.b.matched_sightings():
            sighting = text(row.get("sighting_id"))
            note = self.make("Note", "sighting", sighting)
            note.add("name", f"Known-material hash match {sighting}")
            note.add("description", sighting_text(row, matches))
            service, acc = text(row.get("service")), text(row.get("account_id"))
            if acc:
                ua = self.user_account(f"{service}:{acc}" if service else acc)
                note.add("entity", ua.id)
                made.append(ua.id)
            made.append(note.id)
        return made


def sighting_text(row: Row, matches: list[HashMatch]) -> str:
    """One matched sighting in words: the hash, when and where it was seen, and each
    match (list, version, distance, threshold, the listed entry)."""
    hash_type = text(row.get("hash_type")).upper()
    when = as_utc(row.get("seen_at"))
    parts = [f"{hash_type} hash {text(row.get('hash_value'))}"]
    if when:
        parts.append(f"seen {when:%Y-%m-%dT%H:%M:%SZ}")
    service, acc = text(row.get("service")), text(row.get("account_id"))
    if acc:
        parts.append(f"on {service} account {acc}" if service else f"on account {acc}")
    if text(row.get("location")):
        parts.append(f"at {text(row.get('location'))}")
    found = [
        match_phrase(m) + (f" (listed entry {m.listed_hash})" if m.listed_hash else "")
        for m in matches
    ]
    return (
        f"Sighting {text(row.get('sighting_id'))}: {' '.join(parts)}. "
        f"It matched a list of known child sexual abuse material: {'; '.join(found)}. "
        "Daybreak holds the hash only, no media."
    )


def merchants(bundle: CaseBundle) -> dict[str, list[str]]:
    """Receiver id -> its merchant category codes, for every receiver paid by card or
    cash or with a category code (the rule that makes a receiver a shop in the graph)."""
    out: dict[str, list[str]] = {}
    for txn in bundle.transactions:
        mcc = text(txn.get("merchant_category"))
        if text(txn.get("channel")) in SPEND_CHANNELS or mcc:
            receiver = text(txn.get("receiver_id"))
            out[receiver] = unique([*out.get(receiver, []), mcc])
    return out
