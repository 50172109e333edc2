"""Entity identifiers and their normalisation.

Identifiers link exactly across sources only after normalisation: a phone typed as
``0917 123 4567`` in a hotline form and ``+639171234567`` in a platform event are the
same phone. Every source and every exporter goes through :func:`normalize`, which first
applies Unicode NFKC (full-width ``ｎｉｇｈｔ`` is ``night``) and removes invisible
characters (zero-width and bidirectional controls), so ``night\u200bowl`` is
``nightowl`` and cannot slip past a search or a cluster.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

import phonenumbers


class IdentifierKind(StrEnum):
    ACCOUNT = "account"  # an account id on a service (value is "service:id")
    USERNAME = "username"  # a screen name on a service (value is "service:name")
    EMAIL = "email"
    PHONE = "phone"  # E.164
    IP = "ip"
    PAYMENT_HANDLE = "payment_handle"  # wallet / P2P handle, e.g. "gcash:09171234567"
    BANK_ACCOUNT = "bank_account"  # IBAN or institution account number
    CRYPTO_WALLET = "crypto_wallet"
    URL = "url"
    DEVICE = "device"
    CUSTOMER = "customer"  # an institution's customer id (sender_id)
    BENEFICIARY = "beneficiary"  # a payment receiver id (receiver_id)


# A payment receiver's id (``beneficiary``, ``transactions.receiver_id``) is the payment
# handle it was paid to: the one node, the one shared value and the one search key.
ALIASES: dict[IdentifierKind, IdentifierKind] = {
    IdentifierKind.BENEFICIARY: IdentifierKind.PAYMENT_HANDLE
}
# Ids of an institution's own records rather than identifiers a person or account
# carries: a world's identifiers table holds every other kind.
RECORD_ID_KINDS = frozenset({IdentifierKind.CUSTOMER, IdentifierKind.BENEFICIARY})


def canonical_kind(kind: IdentifierKind | str) -> IdentifierKind:
    """The kind an identifier is keyed, shared and searched under (aliases resolved);
    raises ValueError for an unknown kind."""
    k = IdentifierKind(kind)
    return ALIASES.get(k, k)


class IdentifierError(ValueError):
    """A value that cannot be read as an identifier of the stated kind."""


@dataclass(frozen=True, slots=True)
class Identifier:
    kind: IdentifierKind
    value: str

    @property
    def key(self) -> str:
        """A stable string key, ``kind:value``, used as a graph node id."""
        return f"{self.kind.value}:{self.value}"

    @classmethod
    def of(cls, kind: IdentifierKind | str, raw: str, *, region: str | None = None) -> Identifier:
        k = IdentifierKind(kind)
        return cls(k, normalize(k, raw, region=region))


# Characters that show as nothing: zero-width spaces and joiners, word joiner, BOM,
# soft hyphen, Mongolian vowel separator, and the bidirectional marks, embeddings,
# overrides and isolates (Trojan Source). Anywhere in an identifier they only hide it.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_text(raw: str) -> str:
    """NFKC, then without invisible characters: what every identifier is read as."""
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", raw))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WS = re.compile(r"\s+")
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}$")


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form; ``region`` (ISO alpha-2) reads national numbers."""
    try:
        parsed = phonenumbers.parse(raw, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        raise IdentifierError(f"not a phone number: {raw!r} ({exc})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise IdentifierError(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    value = raw.strip().lower()
    if not _EMAIL.match(value):
        raise IdentifierError(f"not an e-mail address: {raw!r}")
    return value


def normalize_ip(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError as exc:
        raise IdentifierError(f"not an IP address: {raw!r}") from exc


def normalize_url(raw: str) -> str:
    """Canonical URL: lower-case scheme and host, no default port, no fragment,
    no trailing slash on the path."""
    value = raw.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if not parts.hostname:
        raise IdentifierError(f"not a URL: {raw!r}")
    host = parts.hostname.lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    scheme = parts.scheme.lower()
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, host, path, parts.query, ""))


def normalize_scoped(raw: str) -> str:
    """``service:id`` values (accounts, usernames, handles): service lower-cased,
    white space removed; usernames are compared case-insensitively."""
    value = _WS.sub("", raw.strip())
    if not value:
        raise IdentifierError("empty identifier")
    if ":" in value:
        service, _, ident = value.partition(":")
        if not service or not ident:
            raise IdentifierError(f"expected 'service:id', got {raw!r}")
        return f"{service.lower()}:{ident}"
    return value


def normalize(kind: IdentifierKind, raw: str, *, region: str | None = None) -> str:
    if raw is None or not str(raw).strip():
        raise IdentifierError(f"empty {kind.value}")
    raw = clean_text(str(raw))
    if not raw.strip():
        raise IdentifierError(f"empty {kind.value} (only invisible characters)")
    match kind:
        case IdentifierKind.PHONE:
            return normalize_phone(raw, region)
        case IdentifierKind.EMAIL:
            return normalize_email(raw)
        case IdentifierKind.IP:
            return normalize_ip(raw)
        case IdentifierKind.URL:
            return normalize_url(raw)
        case IdentifierKind.USERNAME:
            return normalize_scoped(raw).lower()
        case IdentifierKind.BANK_ACCOUNT:
            value = _WS.sub("", raw).upper()
            if value[:2].isalpha() and not _IBAN.match(value):
                raise IdentifierError(f"not an IBAN: {raw!r}")
            return value
        case IdentifierKind.CRYPTO_WALLET:
            value = raw.strip()
            # Ethereum-style addresses are case-insensitive; others are not.
            return value.lower() if value.lower().startswith("0x") else value
        case _:
            return normalize_scoped(raw)
