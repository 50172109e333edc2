"""What an exporter reads: one case, the records behind it, and who is reporting.

A :class:`CaseBundle` is plain data, no I/O: the loader (:mod:`daybreak.exporters.loader`)
or a test builds it, every exporter only reads it. Rows are plain dicts keyed by the
public column names of :mod:`daybreak.schema.columns`, so a bundle can come from the
synthetic world, the store or a hand-written test alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from daybreak.model.alerts import Alert, HashMatch
from daybreak.model.cases import Case

Row = Mapping[str, Any]

# An optional reports column: the NCMEC CyberTipline report id of an earlier report
# about the same matter (CyberTipline priorCTReports; --check asks for it).
CYBERTIP_ID_COLUMN = "cybertip_report_id"

# Approximate rates for the demo's identity only (OrgSettings.demo_identity).
DEMO_FX_USD: dict[str, float] = {
    "USD": 1.0, "AUD": 0.66, "NZD": 0.60, "CAD": 0.73, "GBP": 1.27, "EUR": 1.08,
    "CHF": 1.13, "SEK": 0.095, "NOK": 0.094, "DKK": 0.145, "JPY": 0.0067, "SGD": 0.74,
    "HKD": 0.128, "PHP": 0.0175, "THB": 0.028, "COP": 0.00025, "DOP": 0.0168,
    "MXN": 0.055, "IDR": 0.000063, "VND": 0.00004, "INR": 0.012, "KES": 0.0077,
    "NGN": 0.00065, "BRL": 0.18, "AED": 0.272, "LKR": 0.0033, "KHR": 0.00025,
}  # fmt: skip


class Address(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    city: str
    state: str = ""
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    zip: str = ""


class IdDocument(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["passport", "national_id", "driving_licence", "other"]
    number: str = Field(min_length=1)
    issue_date: date | None = None
    expiry_date: date | None = None
    issue_country: str = Field(min_length=2, max_length=2)


class Kyc(BaseModel):
    """What the institution knows about its own customer beyond the public
    ``customers`` columns; goAML requires it to report a customer as "my client"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str = Field(min_length=1)
    birthdate: date | None = None
    id_number: str | None = None
    nationality: str | None = Field(default=None, min_length=2, max_length=2)
    identifications: list[IdDocument] = Field(default_factory=list)
    tax_reg_number: str | None = None
    address: Address | None = None
    occupation: str | None = None

    def merged_into(self, row: Row) -> dict[str, Any]:
        extra = self.model_dump(exclude_none=True, exclude={"customer_id"})
        if not extra.get("identifications"):
            extra.pop("identifications", None)
        return {**row, **extra}


class Contact(BaseModel):
    """A person of the reporting organisation (MLRO, trust & safety lead)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_name: str
    last_name: str
    email: str
    phone: str | None = Field(default=None, description="E.164")
    occupation: str = "Compliance officer"
    gender: str | None = Field(default=None, pattern="^[MFX]$")
    nationality: str | None = None


# Fields a receiver needs to know who is reporting, per format. Without them goAML and
# CyberTipline exports are refused: a report from a placeholder identity is no report.
IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "goaml": ("name", "rentity_id", "currency_local", "reporting_person", "address"),
    "cybertip": ("name", "esp_service", "reporting_person"),
}


class OrgSettings(BaseModel):
    """The reporting organisation: who files the report and how it is marked.

    Loaded from YAML (``daybreak export ... --org-file FILE``). Nothing about the reporter's
    identity is defaulted: goAML and CyberTipline refuse to export until the fields
    they need are set (:meth:`missing_for`). ``daybreak demo`` uses :meth:`demo`, an
    identity that says in its name that it is a demonstration."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, min_length=1)
    # True only for the demo's own identity; receivers must never get such a report.
    demo: bool = False
    country: str | None = Field(default=None, min_length=2, max_length=2)
    currency_local: str | None = Field(default=None, min_length=3, max_length=3)
    rentity_id: int | None = Field(default=None, ge=1, description="goAML reporting-entity id")
    rentity_branch: str | None = None
    reporting_person: Contact | None = None
    address: Address | None = None
    esp_service: str | None = Field(
        default=None, description="the service named as reporter in CyberTipline XML"
    )
    website: str | None = None
    tlp: str = Field(default="amber", pattern="^(clear|white|green|amber|red)$")
    # Units of USD per unit of each currency, to state foreign amounts in the local
    # currency (goAML amount_local). No built-in rates: an institution gives its own,
    # and says where they come from (``fx_source``), which the reports state.
    fx_usd: dict[str, float] = Field(default_factory=dict)
    fx_source: str | None = None
    # CyberTipline: estimate a reported user's country from their IPs with the offline
    # GeoIP table (off unless the organisation allows it).
    ip_geolocation: bool = False
    # CyberTipline: the organisation's intake tells reporters that what they write is
    # passed to NCMEC, so report descriptions may be sent (never assumed).
    share_report_descriptions: bool = False

    @classmethod
    def demo_identity(cls) -> OrgSettings:
        """The clearly marked identity ``daybreak demo`` reports under."""
        return cls(
            name="DEMO ONLY - Daybreak synthetic reporting entity (not a real report)",
            demo=True,
            country="AU",
            currency_local="AUD",
            rentity_id=1,
            reporting_person=Contact(
                first_name="Demo", last_name="Officer", email="demo-only@example.org"
            ),
            address=Address(address="1 Example Street", city="Sydney", state="NSW", country="AU"),
            esp_service="Daybreak demo",
            website="https://example.org",
            fx_usd=dict(DEMO_FX_USD),
            fx_source="approximate demo rates built into Daybreak (not for real reports)",
        )

    @property
    def contact(self) -> Contact:
        """The reporting person (exporters call :func:`require_identity` first)."""
        if self.reporting_person is None:
            raise ValueError("no reporting_person in the organisation settings")
        return self.reporting_person

    @property
    def location(self) -> Address:
        if self.address is None:
            raise ValueError("no address in the organisation settings")
        return self.address

    @property
    def local_currency(self) -> str:
        if not self.currency_local:
            raise ValueError("no currency_local in the organisation settings")
        return self.currency_local.upper()

    def missing_for(self, fmt: str) -> list[str]:
        """The identity fields ``fmt`` needs that are not set (empty: all set)."""
        return [f for f in IDENTITY_FIELDS.get(fmt, ()) if getattr(self, f) in (None, "")]

    def to_local(self, currency: str) -> float:
        """Exchange rate from ``currency`` to ``currency_local``."""
        cur, local = currency.upper(), self.local_currency
        if cur == local:
            return 1.0
        missing = [c for c in (cur, local) if c not in self.fx_usd]
        if missing:
            raise ValueError(
                f"no exchange rate for {', '.join(missing)}: add it under fx_usd in the "
                "organisation settings (units of USD per unit), with fx_source saying "
                "where the rates come from"
            )
        return self.fx_usd[cur] / self.fx_usd[local]


@dataclass(frozen=True)
class CaseBundle:
    """A case plus its evidence rows and the reporting organisation's settings."""

    case: Case
    transactions: Sequence[Row] = ()
    customers: Sequence[Row] = ()
    reports: Sequence[Row] = ()
    identifiers: Sequence[Row] = ()
    platform_events: Sequence[Row] = ()
    media_sightings: Sequence[Row] = ()
    alerts: Sequence[Alert] = ()
    org: OrgSettings = field(default_factory=OrgSettings)
    # Remarks from whoever built the bundle (e.g. rows capped by the loader).
    notes: tuple[str, ...] = ()
    # When the export was made; fixed by tests so that output is reproducible.
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def from_frames(cls, case: Case, **tables: Any) -> CaseBundle:
        """A bundle from polars DataFrames (or row sequences) keyed by table name;
        other keyword arguments (alerts, org, generated_at, notes) pass through."""
        converted = {
            name: value.to_dicts() if hasattr(value, "to_dicts") else value
            for name, value in tables.items()
        }
        return cls(case=case, **converted)

    # --- look-ups shared by the exporters -------------------------------------------

    def customer(self, customer_id: str) -> Row | None:
        for row in self.customers:
            if row.get("customer_id") == customer_id:
                return row
        return None

    def identifiers_of(self, source: str, source_id: str) -> list[Row]:
        """Identifiers carried by one record (e.g. a report's reported accounts)."""
        return [
            r
            for r in self.identifiers
            if r.get("source") == source and r.get("source_id") == source_id
        ]

    def records_with(self, kind: str, value: str) -> list[Row]:
        """Identifier rows anywhere in the bundle with this kind and value."""
        return [r for r in self.identifiers if r.get("kind") == kind and r.get("value") == value]

    def events_of(self, service: str, account_id: str) -> list[Row]:
        return [
            e
            for e in self.platform_events
            if e.get("service") == service and e.get("account_id") == account_id
        ]

    def hash_matches(self) -> dict[str, list[HashMatch]]:
        """Sighting id -> the matches against lists of known material that the case's
        alerts carry. Only these sightings may be called known material."""
        out: dict[str, list[HashMatch]] = {}
        for alert in self.alerts:
            for match in alert.hash_matches:
                found = out.setdefault(match.sighting_id, [])
                if match not in found:
                    found.append(match)
        return out

    def matched_sightings(self) -> list[tuple[Row, list[HashMatch]]]:
        """(sighting row, its matches) for each of the bundle's sightings that matched."""
        matches = self.hash_matches()
        return [
            (row, matches[sid])
            for row in self.media_sightings
            if (sid := str(row.get("sighting_id"))) in matches
        ]

    def typologies(self) -> list[str]:
        seen: dict[str, None] = {}
        for a in self.alerts:
            for t in a.typologies:
                seen.setdefault(t, None)
        return list(seen)


def as_utc(value: Any) -> datetime | None:
    """A timestamp cell as an aware UTC datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    if not text:
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def text(value: Any) -> str:
    """A cell as stripped text; None and NaN become ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return str(value).strip()


def unique(values: Iterable[str]) -> list[str]:
    """Order-preserving de-duplication, dropping empties."""
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return list(seen)
