"""The public column schemas of Daybreak's input files.

These names are a published contract: other tools and data sets are written against
them. Change them only with a new schema version. ``docs/data-model.md`` documents them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from daybreak.model.identifiers import TYPES
from daybreak.plugins import SIGNAL_TYPE_NAMES


class ColumnType(StrEnum):
    STRING = "string"
    TIMESTAMP = "timestamp"  # UTC; ISO-8601 with Z in CSV
    DECIMAL = "decimal"  # non-negative amount in currency units
    INTEGER = "integer"
    BOOLEAN = "boolean"
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    CURRENCY = "currency"  # ISO 4217
    TIMEZONE = "timezone"  # IANA name
    ENUM = "enum"
    MCC = "mcc"  # 4-digit merchant category code


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    choices: Sequence[str] = ()
    unique: bool = False
    minimum: int | None = None
    maximum: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    doc: str = ""
    # Columns that together identify a row (each row's combination must be unique), for
    # tables whose id is not a single column; the last one names the problem.
    key: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @cached_property
    def name_set(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    @cached_property
    def required(self) -> frozenset[str]:
        """The columns a row must have a value in."""
        return frozenset(c.name for c in self.columns if not c.nullable)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


CHANNELS = ("wire", "remittance", "card", "p2p", "wallet", "crypto", "cash")
REPORTER_TYPES = ("platform", "public", "hotline", "law_enforcement")
INCIDENT_TYPES = (
    "live_streaming_abuse",
    "child_sexual_abuse_material",
    "online_enticement",
    "sextortion",
    "child_sex_trafficking",
    "grooming",
    "other",
)
EVENT_TYPES = ("login", "call", "stream", "friend_request", "message")
# Declared age bands of platform accounts; the first three are minors.
AGE_BANDS = ("under_13", "13-15", "16-17", "18-24", "25+")
MINOR_AGE_BANDS = AGE_BANDS[:3]
# platform_ads: a short category of the ad or profile (never its text)
AD_CATEGORIES = ("online_job", "model", "travel_job", "domestic_work", "hospitality", "other")
AD_RECORD_TYPES = ("ad", "profile")
HASH_TYPES = SIGNAL_TYPE_NAMES  # registered signal types (daybreak.model.signal_types)
IDENTIFIER_KINDS = tuple(t.kind.value for t in TYPES.values() if not t.record_id)
SOURCES = ("transactions", "customers", "reports", "platform_events", "media_sightings")

S, TS, DEC, INT, BOOL = (
    ColumnType.STRING,
    ColumnType.TIMESTAMP,
    ColumnType.DECIMAL,
    ColumnType.INTEGER,
    ColumnType.BOOLEAN,
)

TRANSACTIONS = Table(
    "transactions",
    (
        Column("txn_id", S, unique=True, doc="unique transaction id"),
        Column("timestamp", TS, doc="UTC time of the payment"),
        Column("sender_id", S, doc="the institution's customer id of the payer"),
        Column("sender_name", S, nullable=True),
        Column("sender_country", ColumnType.COUNTRY),
        Column("receiver_id", S, doc="beneficiary id (account, handle or wallet)"),
        Column("receiver_name", S, nullable=True),
        Column("receiver_country", ColumnType.COUNTRY),
        Column("amount", DEC, doc="amount in currency units, >= 0"),
        Column("currency", ColumnType.CURRENCY),
        Column("channel", ColumnType.ENUM, choices=CHANNELS),
        Column("reference", S, nullable=True, doc="free-text payment reference"),
        Column("merchant_category", ColumnType.MCC, nullable=True, doc="card payments"),
    ),
    "One row per payment.",
)

CUSTOMERS = Table(
    "customers",
    (
        Column("customer_id", S, unique=True),
        Column("name", S),
        Column("birth_year", INT, nullable=True, minimum=1900, maximum=2030),
        Column("gender", ColumnType.ENUM, nullable=True, choices=("M", "F", "X")),
        Column("country", ColumnType.COUNTRY),
        Column("timezone", ColumnType.TIMEZONE),
        Column("known_offender", BOOL, nullable=True),
    ),
    "The institution's customers; transactions.sender_id = customers.customer_id.",
)

REPORTS = Table(
    "reports",
    (
        Column("report_id", S, unique=True),
        Column("received_at", TS),
        Column("reporter_type", ColumnType.ENUM, choices=REPORTER_TYPES),
        Column("incident_type", ColumnType.ENUM, choices=INCIDENT_TYPES),
        Column("occurred_at", TS, nullable=True),
        Column("is_live", BOOL, doc="a live stream in progress when reported"),
        Column("service", S, nullable=True, doc="platform or service the report is about"),
        Column("victim_age_estimate", INT, nullable=True, minimum=0, maximum=120),
        Column("victim_country", ColumnType.COUNTRY, nullable=True),
        Column("description", S, nullable=True),
    ),
    "Flag/panic-button, public and hotline reports. Their identifiers are in identifiers.",
)

PLATFORM_EVENTS = Table(
    "platform_events",
    (
        Column("event_id", S, unique=True),
        Column("service", S),
        Column("event_type", ColumnType.ENUM, choices=EVENT_TYPES),
        Column("account_id", S, doc="account on the service that acted"),
        Column("counterparty_account_id", S, nullable=True),
        Column("started_at", TS),
        Column("ended_at", TS, nullable=True, doc="end of a call or stream"),
        Column("ip", S, nullable=True),
        Column("device_id", S, nullable=True),
        Column("country", ColumnType.COUNTRY, nullable=True),
    ),
    "Metadata of logins, calls, streams, friend requests and messages (no content).",
)

PLATFORM_ACCOUNTS = Table(
    "platform_accounts",
    (
        Column("service", S),
        Column("account_id", S, doc="account on the service (platform_events.account_id)"),
        Column("created_at", TS, doc="when the account was opened"),
        Column(
            "age_band",
            ColumnType.ENUM,
            nullable=True,
            choices=AGE_BANDS,
            doc="the age band the account declared, where the platform knows it",
        ),
        Column("is_minor", BOOL, nullable=True, doc="the platform's minor flag, where known"),
        Column("country", ColumnType.COUNTRY, nullable=True, doc="the account's country"),
        Column("verified", BOOL, doc="identity or notability verified by the platform"),
    ),
    "One row per platform account (service, account_id); no profile content.",
    key=("service", "account_id"),
)

MEDIA_SIGHTINGS = Table(
    "media_sightings",
    (
        Column("sighting_id", S, unique=True),
        Column("seen_at", TS),
        Column("hash_type", ColumnType.ENUM, choices=HASH_TYPES),
        Column("hash_value", S),
        Column("quality", INT, nullable=True, minimum=0, maximum=100),
        Column("service", S, nullable=True),
        Column("account_id", S, nullable=True, doc="account the media was seen with"),
        Column("location", S, nullable=True, doc="URL or place it was seen"),
    ),
    "Hashes of media seen on a service (never the media).",
)

PLATFORM_ADS = Table(
    "platform_ads",
    (
        Column("ad_id", S, unique=True),
        Column("service", S),
        Column("record_type", ColumnType.ENUM, choices=AD_RECORD_TYPES),
        Column(
            "account_id", S, nullable=True, doc="the account that posted the ad or owns the profile"
        ),
        Column("posted_at", TS),
        Column("city", S, nullable=True, doc="city name as the ad gives it"),
        Column("country", ColumnType.COUNTRY),
        Column("category", ColumnType.ENUM, choices=AD_CATEGORIES),
        Column("contact_phone", S, nullable=True, doc="E.164 phone the ad gives"),
        Column("payment_handle", S, nullable=True, doc="<provider>:<account> for fees or deposits"),
        Column("photo_pdq", S, nullable=True, doc="PDQ hash of the ad's photo (64 hex digits)"),
    ),
    "Job and model ads and profiles on a service: contact details and photo hashes only "
    "(never the text or the media).",
)

IDENTIFIERS = Table(
    "identifiers",
    (
        Column("source", ColumnType.ENUM, choices=SOURCES),
        Column("source_id", S, doc="id of the row in the source table"),
        Column("kind", ColumnType.ENUM, choices=IDENTIFIER_KINDS),
        Column("value", S, doc="normalised value (E.164, lower-case e-mail, service:id …)"),
        Column("role", S, nullable=True, doc="reported_account, reporter, victim, payer …"),
        Column("seen_at", TS, nullable=True),
    ),
    "Entity identifiers carried by rows of the other tables.",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        TRANSACTIONS,
        CUSTOMERS,
        REPORTS,
        PLATFORM_EVENTS,
        PLATFORM_ACCOUNTS,
        MEDIA_SIGHTINGS,
        IDENTIFIERS,
        PLATFORM_ADS,
    )
}
