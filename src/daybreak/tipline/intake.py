"""The intake record: what a flag / panic button, a hotline form or a platform sends.

Validation is strict on purpose. A report about a child in danger must be readable by
the officer who receives it, so a bad field is refused at the door (with its name)
instead of being stored half-right: unknown fields and enum values are errors,
timestamps must carry a time zone, phones must be international (E.164) and IPs real.
Nothing here is media: hashes only.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)

from daybreak.model.identifiers import (
    Identifier,
    IdentifierError,
    IdentifierKind,
    identifier_type,
    normalize,
)
from daybreak.plugins import SIGNAL_TYPE_NAMES, signal_type


class ReporterType(StrEnum):
    PLATFORM = "platform"
    PUBLIC = "public"
    HOTLINE = "hotline"
    LAW_ENFORCEMENT = "law_enforcement"


class IncidentType(StrEnum):
    LIVE_STREAMING_ABUSE = "live_streaming_abuse"
    CHILD_SEXUAL_ABUSE_MATERIAL = "child_sexual_abuse_material"
    ONLINE_ENTICEMENT = "online_enticement"
    SEXTORTION = "sextortion"
    CHILD_SEX_TRAFFICKING = "child_sex_trafficking"
    GROOMING = "grooming"
    OTHER = "other"


class Indicator(StrEnum):
    """What the reporter knows about the danger; each one moves the ICAC-style tier."""

    CHILD_IN_IMMEDIATE_DANGER = "child_in_immediate_danger"
    OFFENDER_HAS_ACCESS_TO_CHILD = "offender_has_access_to_child"
    AGGRESSIVE_SOLICITATION = "aggressive_solicitation"
    HOME_PRODUCED = "home_produced"
    COMMERCIAL = "commercial"
    HIGH_VOLUME = "high_volume"


def _registered_hash_type(value: str) -> str:
    if value not in SIGNAL_TYPE_NAMES:
        names = list(SIGNAL_TYPE_NAMES)
        raise ValueError(f"Input should be {', '.join(map(repr, names[:-1]))} or {names[-1]!r}")
    return value


def _list_hash_types(schema: dict[str, Any]) -> None:
    schema["enum"] = list(SIGNAL_TYPE_NAMES)  # at schema time: plug-ins are listed too


# A registered signal type's canonical name (daybreak.model.signal_types, plug-ins).
HashType = Annotated[
    str, AfterValidator(_registered_hash_type), Field(json_schema_extra=_list_hash_types)
]


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
    return code


def _checked(kind: IdentifierKind) -> AfterValidator:
    def check(value: str) -> str:
        try:
            return normalize(kind, value)
        except IdentifierError as exc:
            raise ValueError(str(exc)) from exc

    return AfterValidator(check)


_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _date_time_text(value: object) -> object:
    """Times come as ISO 8601 text. Pydantic, even in strict mode, reads a number (and a
    string of digits) as seconds since 1970, so ``occurred_at: 123`` became 1970."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE_TIME.match(value.strip()):
        return value
    if isinstance(value, bool):
        given = "true or false"
    elif isinstance(value, int | float):
        given = "a number"
    else:  # the value itself is not echoed: it may be anything a reporter typed
        given = "text in another form"
    raise ValueError(
        f"expected an ISO 8601 date-time with a time zone (e.g. 2026-11-28T08:00:00Z), not {given}"
    )


# Strict: JSON true is not 1 and 9.5 is not 9; "true" and 1 are not booleans.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
Country = Annotated[str, AfterValidator(_country)]
Phone = Annotated[str, Field(max_length=40), _checked(IdentifierKind.PHONE)]
Email = Annotated[str, Field(max_length=320), _checked(IdentifierKind.EMAIL)]
IP = Annotated[str, Field(max_length=64), _checked(IdentifierKind.IP)]
Url = Annotated[str, Field(max_length=2048), _checked(IdentifierKind.URL)]
ShortText = Annotated[str, Field(min_length=1, max_length=256)]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Reporter(BaseModel):
    model_config = _STRICT

    type: ReporterType
    name: ShortText | None = None
    organisation: ShortText | None = None
    email: Email | None = None
    phone: Phone | None = None


class IPEvent(BaseModel):
    """An IP capture event: an IP is only actionable with its time (and port)."""

    model_config = _STRICT

    ip: IP
    at: Timestamp
    port: StrictInt | None = Field(default=None, ge=0, le=65535)
    event: Literal["login", "registration", "upload", "stream", "purchase", "other"] = "other"


class ReportedAccount(BaseModel):
    model_config = _STRICT

    service: ShortText
    account_id: ShortText | None = None
    username: ShortText | None = None
    profile_url: Url | None = None
    ip_events: list[IPEvent] = Field(default_factory=list, max_length=100)
    device_ids: list[ShortText] = Field(default_factory=list, max_length=50)
    emails: list[Email] = Field(default_factory=list, max_length=20)
    phones: list[Phone] = Field(default_factory=list, max_length=20)
    country: Country | None = Field(default=None, description="estimated location")

    @model_validator(mode="after")
    def _names_someone(self) -> ReportedAccount:
        if not (self.account_id or self.username or self.profile_url):
            raise ValueError("a reported account needs account_id, username or profile_url")
        return self


class Victim(BaseModel):
    model_config = _STRICT

    age_estimate: StrictInt | None = Field(default=None, ge=0, le=120)
    country: Country | None = None
    region: ShortText | None = None
    city: ShortText | None = None
    phone: Phone | None = None


class PaymentIdentifier(BaseModel):
    model_config = _STRICT

    kind: Literal["payment_handle", "bank_account", "crypto_wallet"]
    value: Annotated[str, Field(min_length=1, max_length=256)]

    @model_validator(mode="after")
    def _normalised(self) -> PaymentIdentifier:
        try:
            object.__setattr__(self, "value", normalize(IdentifierKind(self.kind), self.value))
        except IdentifierError as exc:
            raise ValueError(str(exc)) from exc
        return self


class MediaHash(BaseModel):
    model_config = _STRICT

    type: HashType
    value: Annotated[str, Field(min_length=32, max_length=64)]

    @model_validator(mode="after")
    def _hex(self) -> MediaHash:
        kind = signal_type(self.type)
        try:
            value = kind.normalize(self.value)
        except ValueError:
            raise ValueError(f"{kind.name} hash must be {kind.hex_length} hex digits") from None
        object.__setattr__(self, "value", value)
        return self


class ExtraIdentifier(BaseModel):
    """Any other identifier in Daybreak's vocabulary, normalised like every source."""

    model_config = _STRICT

    kind: IdentifierKind
    value: Annotated[str, Field(min_length=1, max_length=512)]
    role: ShortText | None = None

    @model_validator(mode="after")
    def _normalised(self) -> ExtraIdentifier:
        try:
            object.__setattr__(self, "value", normalize(self.kind, self.value))
        except IdentifierError as exc:
            raise ValueError(str(exc)) from exc
        return self


class ReportIn(BaseModel):
    """One report as received. ``POST /v1/reports`` takes exactly this JSON."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        frozen=True,
        json_schema_extra={
            "example": {
                "reporter": {"type": "platform", "organisation": "ExampleStream"},
                "incident_type": "live_streaming_abuse",
                "is_live": True,
                "occurred_at": "2026-11-28T08:00:00Z",
                "service": "examplestream",
                "reported_accounts": [
                    {
                        "service": "examplestream",
                        "account_id": "u123",
                        "ip_events": [{"ip": "203.0.113.7", "at": "2026-11-28T07:59:00Z"}],
                    }
                ],
                "victim": {"age_estimate": 9, "country": "PH"},
            }
        },
    )

    reporter: Reporter
    incident_type: IncidentType
    occurred_at: Timestamp | None = None
    is_live: StrictBool = Field(default=False, description="a live stream is in progress now")
    service: ShortText | None = None
    reported_accounts: list[ReportedAccount] = Field(default_factory=list, max_length=50)
    victim: Victim | None = None
    payment_identifiers: list[PaymentIdentifier] = Field(default_factory=list, max_length=50)
    urls: list[Url] = Field(default_factory=list, max_length=100)
    media_hashes: list[MediaHash] = Field(default_factory=list, max_length=200)
    identifiers: list[ExtraIdentifier] = Field(default_factory=list, max_length=200)
    indicators: list[Indicator] = Field(default_factory=list, max_length=6)
    escalation: Annotated[str, Field(max_length=2000)] | None = Field(
        default=None, description="why the reporter asks for high priority (NCMEC escalate)"
    )
    description: Annotated[str, Field(max_length=20000)] | None = None
    external_ref: ShortText | None = Field(
        default=None, description="the reporter's own reference, e.g. its ticket id"
    )


class ReportIdentifier(BaseModel):
    """A normalised identifier carried by a report, with its role in the report."""

    model_config = ConfigDict(frozen=True)

    kind: str  # an IdentifierKind value, or "hash" for media hashes ("md5:<hex>")
    value: str
    role: str
    seen_at: datetime | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


def report_identifiers(report: ReportIn) -> list[ReportIdentifier]:
    """Every identifier a report carries, normalised, deduplicated, in a stable order.

    The reporter's own contact details are left out: they say who reported, not who
    or what the report is about, and would join every report of one hotline."""
    out: dict[tuple[str, str, str], ReportIdentifier] = {}

    def add(kind: str, value: str, role: str, seen_at: datetime | None = None) -> None:
        out.setdefault(
            (kind, value, role),
            ReportIdentifier(kind=kind, value=value, role=role, seen_at=seen_at),
        )

    k = IdentifierKind
    for acc in report.reported_accounts:
        service = acc.service.lower()
        if acc.account_id:
            add(
                k.ACCOUNT,
                Identifier.of(k.ACCOUNT, f"{service}:{acc.account_id}").value,
                "reported_account",
            )
        if acc.username:
            add(
                k.USERNAME,
                Identifier.of(k.USERNAME, f"{service}:{acc.username}").value,
                "reported_account",
            )
        if acc.profile_url:
            add(k.URL, acc.profile_url, "reported_account")
        for ev in acc.ip_events:
            add(k.IP, ev.ip, "reported_account", ev.at)
        for dev in acc.device_ids:
            add(k.DEVICE, Identifier.of(k.DEVICE, dev).value, "reported_account")
        for email in acc.emails:
            add(k.EMAIL, email, "reported_account")
        for phone in acc.phones:
            add(k.PHONE, phone, "reported_account")
    if report.victim and report.victim.phone:
        add(k.PHONE, report.victim.phone, "victim")
    for pay in report.payment_identifiers:
        add(pay.kind, pay.value, "payment")
    for url in report.urls:
        add(k.URL, url, "reported_url")
    for h in report.media_hashes:
        add("hash", f"{h.type}:{h.value}", "media")
    for extra in report.identifiers:
        # Keyed under its canonical kind (a beneficiary is a payment handle), the key
        # the graph, the cases and the search use.
        add(identifier_type(extra.kind).node_kind, extra.value, extra.role or "reported")
    return list(out.values())
