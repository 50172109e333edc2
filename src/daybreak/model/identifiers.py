"""Entity identifiers and their normalisation.

Identifiers link exactly across sources only after normalisation: a phone typed as
``0917 123 4567`` in a hotline form and ``+639171234567`` in a platform event are the
same phone. Every source and every exporter goes through :func:`normalize`, which first
applies Unicode NFKC (full-width ``ｎｉｇｈｔ`` is ``night``) and removes invisible
characters (zero-width and bidirectional controls), so ``night\u200bowl`` is
``nightowl`` and cannot slip past a search or a cluster.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
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


@dataclass(frozen=True, slots=True)
class E164Rule:
    """When ``normalize_phone`` gives back an E.164 value unchanged, for one country
    calling code: a national significant number (the digits after the code) of one of
    ``lengths`` that does not start with 0 and that ``national_prefix`` (a regular
    expression, None: the code has none) does not match at its start. ``parse`` then
    finds this code (codes are prefix-free), strips no national prefix, reads the number
    as an integer that prints the same, and ``is_possible_number`` (which only looks at
    the length) holds."""

    country_code: str
    lengths: frozenset[int]
    national_prefix: str | None


@functools.cache
def e164_rules() -> dict[str, E164Rule]:
    """:class:`E164Rule` per calling code, read from phonenumbers' own metadata (so it
    follows the installed version). Codes whose national prefix can match nothing at
    all (Argentina's ``0?…``) are left out: there every number may be rewritten."""
    from phonenumbers.phonemetadata import PhoneMetadata

    rules: dict[str, E164Rule] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        meta = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if meta is None:
            continue
        prefix = meta.national_prefix_for_parsing or None
        if prefix is not None and re.compile(prefix).match(""):
            continue
        lengths = frozenset(
            n
            for n in range(2, 18)  # phonenumbers' shortest and longest national number
            if phonenumbers.is_possible_number(
                phonenumbers.PhoneNumber(country_code=code, national_number=int("1" * n))
            )
        )
        rules[str(code)] = E164Rule(str(code), lengths, prefix)
    return rules


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


def normalize_bank_account(raw: str) -> str:
    value = _WS.sub("", raw).upper()
    if value[:2].isalpha() and not _IBAN.match(value):
        raise IdentifierError(f"not an IBAN: {raw!r}")
    return value


def normalize_crypto_wallet(raw: str) -> str:
    value = raw.strip()
    # Ethereum-style addresses are case-insensitive; others are not.
    return value.lower() if value.lower().startswith("0x") else value


def normalize_username(raw: str) -> str:
    return normalize_scoped(raw).lower()


def phone_country(e164: str) -> str | None:
    """The country (ISO alpha-2) a phone number's calling code and range point to."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    # Unassigned or fictional ranges have no region; the calling code still names one
    # (its main country for shared codes such as +1).
    region: str | None = phonenumbers.region_code_for_number(parsed)
    if not region and parsed.country_code:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return region if region and region != "ZZ" else None


@functools.cache
def _geoip() -> Any:
    with warnings.catch_warnings():
        # geoip2fast's source has invalid escape sequences that warn when first compiled.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        from geoip2fast import GeoIP2Fast  # loads a ~2 MB table once, offline

        return GeoIP2Fast(verbose=False)


def ip_country(ip: str) -> str | None:
    """Country of a public IP from the offline GeoIP table shipped in ``geoip2fast`` (no
    network at run time); None for private or unknown addresses."""
    result = _geoip().lookup(ip)
    code = getattr(result, "country_code", "") or ""
    return code if len(code) == 2 and code.isalpha() else None


# --- one type object per kind ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdentifierType:
    """Everything Daybreak knows about one kind of identifier, in one place (the
    followthemoney ``PropertyType`` pattern): how a value is read, which node it is in the
    graph, whether it may be shared or found by a free-text search, and which country it
    hints at. Graph keys, sharing, search and routing all ask this object."""

    kind: IdentifierKind
    label: str
    #: reads one cleaned value (NFKC, no invisible characters); ``region`` reads national
    #: phone numbers and is ignored by every other kind
    reader: Callable[[str, str | None], str]
    #: keyed, shared and searched as this kind (a beneficiary is the payment handle it
    #: was paid to: one node, one shared value, one search key)
    alias_of: IdentifierKind | None = None
    #: an institution's own record id rather than an identifier a person or account
    #: carries: a world's identifiers table holds every other kind
    record_id: bool = False
    #: may be published to a sharing group (an institution's customer ids mean nothing
    #: elsewhere and are never shared)
    shareable: bool = True
    #: whether a free-text query (the console's search box) may be a value of this kind,
    #: so the search also tries it normalised as one; None: never tried
    free_text: Callable[[str], bool] | None = None
    #: says who a person is: two people records sharing one are evidence of one person,
    #: which entity resolution compares (an IP or a URL is shared by many; a payment
    #: handle is the beneficiary record itself)
    identifies_person: bool = False
    #: the country (ISO alpha-2) a normalised value points to, when the kind says one
    country_hint: Callable[[str], str | None] | None = None

    @property
    def canonical(self) -> IdentifierType:
        """The type a value of this kind is keyed, shared and searched under."""
        return TYPES[self.alias_of] if self.alias_of is not None else self

    @property
    def node_kind(self) -> str:
        """The ``kind`` part of this kind's graph node keys."""
        return self.canonical.kind.value

    def normalize(self, raw: str, region: str | None = None) -> str:
        """The one spelling of ``raw`` every source, search and exporter uses (of the
        canonical kind); raises IdentifierError naming the kind."""
        if raw is None or not str(raw).strip():
            raise IdentifierError(f"empty {self.kind.value}")
        cleaned = clean_text(str(raw))
        if not cleaned.strip():
            raise IdentifierError(f"empty {self.kind.value} (only invisible characters)")
        return self.canonical.reader(cleaned, region)

    def node_key(self, raw: str, region: str | None = None) -> str:
        """``kind:value``: the graph node, the search key and the case entity key."""
        return f"{self.node_kind}:{self.normalize(raw, region)}"

    def country_of(self, value: str) -> str | None:
        """The country a normalised value points to, or None (no hint for this kind)."""
        hint = self.canonical.country_hint
        return hint(value) if hint is not None else None


def _any_query(_query: str) -> bool:
    return True


_PHONEISH = re.compile(r"^\+?[\d\s().\-]{7,}$")


def _phoneish(query: str) -> bool:
    return bool(_PHONEISH.match(query))


def _dotted(query: str) -> bool:
    return "." in query


def _plain(read: Callable[[str], str]) -> Callable[[str, str | None], str]:
    return lambda raw, _region: read(raw)


TYPES: dict[IdentifierKind, IdentifierType] = {
    t.kind: t
    for t in (
        IdentifierType(
            IdentifierKind.ACCOUNT, "account", _plain(normalize_scoped), identifies_person=True
        ),
        IdentifierType(
            IdentifierKind.USERNAME,
            "username",
            _plain(normalize_username),
            identifies_person=True,
        ),
        IdentifierType(
            IdentifierKind.EMAIL,
            "e-mail",
            _plain(normalize_email),
            free_text=_any_query,
            identifies_person=True,
        ),
        IdentifierType(
            IdentifierKind.PHONE,
            "phone",
            normalize_phone,
            free_text=_phoneish,
            identifies_person=True,
            country_hint=phone_country,
        ),
        IdentifierType(
            IdentifierKind.IP, "IP address", _plain(normalize_ip), country_hint=ip_country
        ),
        IdentifierType(IdentifierKind.PAYMENT_HANDLE, "payment handle", _plain(normalize_scoped)),
        IdentifierType(
            IdentifierKind.BANK_ACCOUNT,
            "bank account",
            _plain(normalize_bank_account),
            free_text=_any_query,
            identifies_person=True,
        ),
        IdentifierType(
            IdentifierKind.CRYPTO_WALLET,
            "crypto wallet",
            _plain(normalize_crypto_wallet),
            identifies_person=True,
        ),
        IdentifierType(IdentifierKind.URL, "URL", _plain(normalize_url), free_text=_dotted),
        IdentifierType(
            IdentifierKind.DEVICE, "device", _plain(normalize_scoped), identifies_person=True
        ),
        IdentifierType(
            IdentifierKind.CUSTOMER,
            "customer",
            _plain(normalize_scoped),
            record_id=True,
            shareable=False,
        ),
        IdentifierType(
            IdentifierKind.BENEFICIARY,
            "beneficiary",
            _plain(normalize_scoped),
            alias_of=IdentifierKind.PAYMENT_HANDLE,
            record_id=True,
        ),
    )
}


def identifier_type(kind: IdentifierKind | str) -> IdentifierType:
    """The type object of ``kind``; raises ValueError for an unknown kind."""
    return TYPES[IdentifierKind(kind)]


def normalize(kind: IdentifierKind, raw: str, *, region: str | None = None) -> str:
    """``raw`` read as an identifier of ``kind`` (of its canonical kind, for an alias)."""
    return identifier_type(kind).normalize(raw, region)
