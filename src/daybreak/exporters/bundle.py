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

from daybreak.model.alerts import Alert
from daybreak.model.cases import Case

Row = Mapping[str, Any]

DEFAULT_FX_USD: dict[str, float] = {
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


class OrgSettings(BaseModel):
    """The reporting organisation: who files the report and how it is marked.

    Loaded from YAML (``daybreak export ... --org FILE``); every field has a neutral
    default so that a demo export works out of the box."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "Daybreak Demo Reporting Entity"
    # Defaults match the default synthetic world, whose institution is Australian.
    country: str = Field(default="AU", min_length=2, max_length=2)
    currency_local: str = Field(default="AUD", min_length=3, max_length=3)
    rentity_id: int = Field(default=1, ge=1, description="goAML reporting-entity id")
    rentity_branch: str | None = None
    reporting_person: Contact = Contact(
        first_name="Compliance", last_name="Officer", email="mlro@example.org"
    )
    address: Address = Address(address="1 Example Street", city="Sydney", state="NSW", country="AU")
    esp_service: str = Field(
        default="Daybreak", description="the service named as reporter in CyberTipline XML"
    )
    website: str = "https://example.org"
    tlp: str = Field(default="amber", pattern="^(clear|white|green|amber|red)$")
    # Units of USD per unit of each currency, to state foreign amounts in the local
    # currency (goAML amount_local). Approximate defaults: an institution sets its own.
    fx_usd: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_FX_USD))

    def to_local(self, currency: str) -> float:
        """Exchange rate from ``currency`` to ``currency_local``."""
        cur, local = currency.upper(), self.currency_local.upper()
        if cur == local:
            return 1.0
        missing = [c for c in (cur, local) if c not in self.fx_usd]
        if missing:
            raise ValueError(
                f"no exchange rate for {', '.join(missing)}: add it under fx_usd in the "
                "organisation settings (units of USD per unit)"
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

    def alerted_subjects(self) -> set[str]:
        return {a.subject_id for a in self.alerts}

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
