"""The configuration of ``daybreak stream`` (``stream.yaml``), validated with pydantic.

Every error names the file and the field (``inbound.batch``) and says what was
expected; unknown fields are refused, so a misspelt option does not silently fall back
to its default. docs/operations.md ("Streaming") documents each field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# The record kinds a stream carries, each stored its own way (reports through the
# store's intake, the others as Parquet files of their public table).
KINDS = ("transactions", "platform_events", "reports")
Kind = Literal["transactions", "platform_events", "reports"]

_TOKEN = r"[A-Za-z0-9_\-]+"
SUBJECT = rf"^(?:{_TOKEN}|\*)(?:\.(?:{_TOKEN}|\*))*(?:\.>)?$|^>$"
LITERAL_SUBJECT = rf"^{_TOKEN}(?:\.{_TOKEN})*$"


class StreamConfigError(ValueError):
    """``stream.yaml`` is unreadable or does not fit; the message names each field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NatsSettings(_Strict):
    url: str = Field("nats://127.0.0.1:4222", pattern=r"^(nats|tls)://")
    connect_timeout_seconds: float = Field(5.0, gt=0)


class StoreSettings(_Strict):
    """Where the case store is (as the CLI's ``--data-dir``, ``--db``, ``--dev``)."""

    data_dir: Path = Path("daybreak-data")
    db: str | None = None
    dev: bool = False


class Subjects(_Strict):
    """The subject (wildcards ``*`` and ``>`` allowed) each kind arrives on; leave one
    out to not consume that kind."""

    transactions: str | None = Field(None, pattern=SUBJECT)
    platform_events: str | None = Field(None, pattern=SUBJECT)
    reports: str | None = Field(None, pattern=SUBJECT)

    def by_kind(self) -> dict[Kind, str]:
        given: dict[Kind, str | None] = {
            "transactions": self.transactions,
            "platform_events": self.platform_events,
            "reports": self.reports,
        }
        return {kind: subject for kind, subject in given.items() if subject is not None}


class DetectorSettings(_Strict):
    """A stream detector (``daybreak.stream_detectors`` entry point) and its options."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    options: dict[str, Any] = {}  # passed to its factory as keywords


class InboundSettings(_Strict):
    stream: str = Field("DAYBREAK_IN", pattern=r"^[A-Za-z0-9_\-]+$")
    create_stream: bool = True  # create (or widen) the stream on start
    durable: str = Field("daybreak", pattern=r"^[A-Za-z0-9_\-]+$")
    subjects: Subjects
    dead_letter_subject: str = Field("daybreak.dead", pattern=LITERAL_SUBJECT)
    output_dir: Path  # transactions/ and platform_events/ Parquet files go here
    batch: int = Field(256, ge=1, le=10_000)  # messages fetched at a time
    # How long a batch not yet full waits for more messages: fewer, fuller batches
    # when messages trickle in (a file and its fsyncs per batch), at that much latency.
    linger_ms: int = Field(100, ge=0, le=5_000)
    max_in_flight: int = Field(1024, ge=1, le=100_000)  # unacknowledged messages, at most
    ack_wait_seconds: float = Field(30.0, gt=0)
    submitted_by: str = Field("stream", min_length=1, max_length=80)  # reports' principal
    # Stream detectors fed each durable batch of transactions and platform events.
    detectors: list[DetectorSettings] = []
    alerts_to_store: bool = True  # their alerts also in the store's audit trail (relayed)
    organisation: str = Field("default", pattern=r"^[a-z0-9-]{1,40}$")  # whose alerts

    @model_validator(mode="after")
    def _consistent(self) -> InboundSettings:
        subjects = self.subjects.by_kind()
        if not subjects:
            raise ValueError("subjects: name at least one of " + ", ".join(KINDS))
        for kind, pattern in subjects.items():
            if subject_matches(pattern, self.dead_letter_subject):
                raise ValueError(
                    f"dead_letter_subject {self.dead_letter_subject!r} matches "
                    f"subjects.{kind} {pattern!r}: dead letters would be consumed again"
                )
        names = [d.name for d in self.detectors]
        if len(set(names)) != len(names):
            raise ValueError(f"detectors: a name given twice in {names}")
        if self.batch > self.max_in_flight:
            raise ValueError(f"batch ({self.batch}) must not exceed max_in_flight")
        return self


class WebhookSettings(_Strict):
    url: str = Field(pattern=r"^https?://")
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")  # the signing secret's variable


class OutboundSettings(_Strict):
    # Whose events this relay sends: one relay per organisation, so one organisation's
    # events never reach another's receivers.
    organisation: str = Field("default", pattern=r"^[a-z0-9-]{1,40}$")
    subject_prefix: str | None = Field("daybreak.out", pattern=LITERAL_SUBJECT)
    webhooks: list[WebhookSettings] = []
    actions: list[str] = Field(
        default_factory=lambda: [
            "case.create",
            "case.transition",
            "case.update",
            "case.label",
            "case.tier_override",
            "report.create",
            "alert.raise",
            "alert.withdraw",
        ]
    )
    max_attempts: int = Field(6, ge=1, le=30)
    backoff_initial_seconds: float = Field(0.5, gt=0)
    backoff_max_seconds: float = Field(60.0, gt=0)
    timeout_seconds: float = Field(10.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    batch: int = Field(200, ge=1, le=10_000)


class StreamConfig(_Strict):
    nats: NatsSettings = NatsSettings()
    store: StoreSettings = StoreSettings()
    inbound: InboundSettings | None = None
    outbound: OutboundSettings | None = None


def load_stream_config(path: Path) -> StreamConfig:
    """Read and validate ``path``; :class:`StreamConfigError` names every bad field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StreamConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise StreamConfigError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return StreamConfig.model_validate(data if data is not None else {})
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        ]
        raise StreamConfigError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(lines)) from exc


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` one or more."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)
