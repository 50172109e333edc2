"""The people and accounts in a case, as every exporter sees them.

Payers are the reporting institution's customers (``transactions.sender_id``) with the
identifiers the institution holds about them (``identifiers`` rows with
``source=customers``). Beneficiaries are ``transactions.receiver_id`` values; what else
is known about a beneficiary comes from the case itself:

* graph neighbours of its node ``payment_handle:<receiver_id>`` in ``case.edges``, and
* the other identifiers of any report that names the same payment handle, except the
  reporter's and the victim's own (``role`` ``reporter``/``victim``).

IP addresses come with the time range they were seen, from the identifiers' ``seen_at``
and from platform events of the linked accounts.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import phonenumbers
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban

from daybreak.exporters.bundle import CaseBundle, Row, as_utc, text, unique

IDENTITY_KINDS = ("phone", "email", "account", "username", "ip", "url", "device", "crypto_wallet")
NOT_THE_SUSPECT = {"reporter", "victim", "reporting_person"}

# What a beneficiary handle (``provider:account``) is, for formats that report accounts
# and merchants differently from people (goAML to_account / to_entity).
HandleKind = Literal["bank_account", "wallet", "crypto", "merchant", "other"]
# Handle providers that are virtual assets (the handle's account is a wallet address).
CRYPTO_ASSETS = frozenset({"btc", "eth", "usdt", "usdc", "trx", "xmr", "ltc", "bnb", "sol", "dai"})
MERCHANT_PROVIDERS = frozenset({"mid"})  # card-acquirer merchant ids
WALLET_CHANNELS = frozenset({"wallet", "p2p"})


def handle_kind(handle: str, *, channel: str = "", merchant_category: object = None) -> HandleKind:
    """What a payment's receiver is, from its handle and the payment itself: a card
    merchant (``mid:`` handle, card channel or a merchant category code), a crypto
    wallet, an e-wallet (the account is a phone number, or a wallet/p2p payment), a
    bank account, or ``other`` (no ``provider:account`` form)."""
    provider, sep, account = handle.partition(":")
    provider = provider.lower()
    if provider in MERCHANT_PROVIDERS or channel == "card" or text(merchant_category):
        return "merchant"
    if not sep or not account:
        return "other"
    if provider in CRYPTO_ASSETS or channel == "crypto":
        return "crypto"
    if _is_phone(account) or channel in WALLET_CHANNELS:
        return "wallet"
    return "bank_account"


def _is_phone(value: str) -> bool:
    if not value.startswith("+"):
        return False
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(value, None)))
    except phonenumbers.NumberParseException:
        return False


def iban_of(value: str) -> str | None:
    """``value`` as a compact IBAN when it is one (country format and mod-97 checksum
    verified by python-stdnum), else None: an account number is never guessed to be one."""
    return str(stdnum_iban.compact(value)) if stdnum_iban.is_valid(value) else None


def bic_of(value: str) -> str | None:
    """``value`` as a BIC when it is written as one (upper case, ISO 9362 format with a
    known country), else None. Lower-case provider names ("landbank") are not read as
    BICs even where their letters happen to fit the format."""
    if value != value.upper() or not stdnum_bic.is_valid(value):
        return None
    return str(stdnum_bic.compact(value))


@dataclass
class IpSeen:
    ip: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    service: str = ""
    event: str = ""  # platform event type (login, stream, ...) when seen in events

    def widen(self, at: datetime | None) -> None:
        if at is None:
            return
        if self.first_seen is None or at < self.first_seen:
            self.first_seen = at
        if self.last_seen is None or at > self.last_seen:
            self.last_seen = at


@dataclass
class Party:
    key: str  # graph node key, e.g. "customer:C001" or "payment_handle:gcash:+63917..."
    role: str  # payer | beneficiary
    name: str
    country: str
    is_client: bool
    handle: str = ""  # receiver_id for beneficiaries
    customer: Row | None = None  # the institution's customer row (KYC) for payers
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)  # "service:id"
    usernames: list[str] = field(default_factory=list)  # "service:name"
    urls: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    ips: dict[str, IpSeen] = field(default_factory=dict)
    linked_reports: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return self.handle.partition(":")[0] if ":" in self.handle else ""

    @property
    def account_number(self) -> str:
        return self.handle.partition(":")[2] if ":" in self.handle else self.handle

    def add(self, kind: str, value: str, seen_at: datetime | None = None) -> None:
        if not value:
            return
        bucket = {
            "phone": self.phones,
            "email": self.emails,
            "account": self.accounts,
            "username": self.usernames,
            "url": self.urls,
            "device": self.devices,
            "crypto_wallet": self.wallets,
        }.get(kind)
        if bucket is not None:
            if value not in bucket:
                bucket.append(value)
        elif kind == "ip":
            self.ips.setdefault(value, IpSeen(value)).widen(seen_at)


def _payer(bundle: CaseBundle, sender_id: str, txn: Row) -> Party:
    row = bundle.customer(sender_id)
    name = text(row.get("name")) if row else ""
    party = Party(
        key=f"customer:{sender_id}",
        role="payer",
        name=name or text(txn.get("sender_name")),
        country=text(row.get("country")) if row else text(txn.get("sender_country")),
        is_client=True,
        customer=row,
    )
    for ident in bundle.identifiers_of("customers", sender_id):
        party.add(text(ident.get("kind")), text(ident.get("value")), as_utc(ident.get("seen_at")))
    return party


def _neighbours(bundle: CaseBundle, key: str) -> list[str]:
    out = []
    for edge in bundle.case.edges:
        if edge.source == key:
            out.append(edge.target)
        elif edge.target == key:
            out.append(edge.source)
    return out


def _beneficiary(bundle: CaseBundle, receiver_id: str, txn: Row) -> Party:
    party = Party(
        key=f"payment_handle:{receiver_id}",
        role="beneficiary",
        name=text(txn.get("receiver_name")),
        country=text(txn.get("receiver_country")),
        is_client=False,
        handle=receiver_id,
    )
    for node in _neighbours(bundle, party.key):
        kind, _, value = node.partition(":")
        if kind in IDENTITY_KINDS:
            party.add(kind, value)
    for hit in bundle.records_with("payment_handle", receiver_id):
        if hit.get("source") != "reports":
            continue
        report_id = text(hit.get("source_id"))
        party.linked_reports = unique([*party.linked_reports, report_id])
        for ident in bundle.identifiers_of("reports", report_id):
            if text(ident.get("role")).lower() in NOT_THE_SUSPECT:
                continue
            party.add(
                text(ident.get("kind")), text(ident.get("value")), as_utc(ident.get("seen_at"))
            )
    _add_event_ips(bundle, party)
    return party


def _add_event_ips(bundle: CaseBundle, party: Party) -> None:
    for account in party.accounts:
        service, _, account_id = account.partition(":")
        for event in bundle.events_of(service, account_id):
            ip = text(event.get("ip"))
            if ip:
                event_type = text(event.get("event_type"))
                seen = party.ips.setdefault(ip, IpSeen(ip, service=service, event=event_type))
                seen.widen(as_utc(event.get("started_at")))
                seen.widen(as_utc(event.get("ended_at")))
            party.add("device", text(event.get("device_id")))


def account_party(bundle: CaseBundle, account: str, role: str = "reported") -> Party:
    """One platform account (``service:account_id``) with the IPs and devices of its
    platform events."""
    party = Party(f"account:{account}", role, "", "", False, accounts=[account])
    _add_event_ips(bundle, party)
    return party


def case_parties(bundle: CaseBundle) -> tuple[dict[str, Party], dict[str, Party]]:
    """(payers by sender_id, beneficiaries by receiver_id) for the case's transactions."""
    payers: dict[str, Party] = {}
    beneficiaries: dict[str, Party] = {}
    for txn in bundle.transactions:
        sender = text(txn.get("sender_id"))
        receiver = text(txn.get("receiver_id"))
        if sender and sender not in payers:
            payers[sender] = _payer(bundle, sender, txn)
        if receiver and receiver not in beneficiaries:
            beneficiaries[receiver] = _beneficiary(bundle, receiver, txn)
    return payers, beneficiaries


def reported_accounts(bundle: CaseBundle, report_id: str) -> dict[str, Party]:
    """The accounts a report is about, each with its own identifiers, keyed by
    ``service:account_id``. Identifiers of the report that name no account attach to
    the first reported account (or to an anonymous party when there is none)."""
    rows = [
        r
        for r in bundle.identifiers_of("reports", report_id)
        if text(r.get("role")).lower() not in NOT_THE_SUSPECT
    ]
    out: dict[str, Party] = {}
    for r in rows:
        if text(r.get("kind")) == "account":
            value = text(r.get("value"))
            out.setdefault(value, Party(f"account:{value}", "reported", "", "", False))
            out[value].accounts = unique([*out[value].accounts, value])
    if not out:
        out[""] = Party(f"report:{report_id}", "reported", "", "", False)
    first = next(iter(out.values()))
    by_kind: defaultdict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_kind[text(r.get("kind"))].append(r)
    for kind, items in by_kind.items():
        if kind == "account":
            continue
        for r in items:
            first.add(kind, text(r.get("value")), as_utc(r.get("seen_at")))
    for party in out.values():
        _add_event_ips(bundle, party)
    return out
