"""The platform detectors' inputs: public tables, read and validated from a world."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.detectors import DetectorError
from daybreak.schema import TABLES, SchemaError, read_table, world_file
from daybreak.schema.world import no_world_file

REQUIRED = ("platform_events", "identifiers", "transactions")


@dataclass(frozen=True)
class StreamPaymentInput:
    """Public tables; ``customers`` (for the payer's time zone) may be absent, and then
    night is counted in UTC."""

    platform_events: pl.DataFrame
    identifiers: pl.DataFrame
    transactions: pl.DataFrame
    customers: pl.DataFrame | None = None

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "platform_events": self.platform_events,
            "identifiers": self.identifiers,
            "transactions": self.transactions,
            "customers": self.customers if self.customers is not None else empty("customers"),
        }


def empty(table: str) -> pl.DataFrame:
    """A header-only frame of a public table (string columns; enough for SQL joins)."""
    return pl.DataFrame(schema={c: pl.String() for c in TABLES[table].names})


def stream_payment_input(world: Path) -> StreamPaymentInput:
    """A world folder's platform events, identifiers, transactions and customers,
    validated against the public schema; a missing required table is a DetectorError."""
    return StreamPaymentInput(**_read(world, (*REQUIRED, "customers"), REQUIRED))


def reference_tables(world: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A world folder's ``identifiers`` (required) and ``customers`` (optional): what the
    stream-payment detector needs besides the streamed events and payments."""
    frames = _read(world, ("identifiers", "customers"), ("identifiers",))
    return frames["identifiers"], frames.get("customers")


def _read(
    world: Path, tables: tuple[str, ...], required: tuple[str, ...]
) -> dict[str, pl.DataFrame]:
    """Validated frames of ``tables`` from a world folder; a missing ``required`` one is a
    DetectorError, a missing optional one is left out."""
    frames: dict[str, pl.DataFrame] = {}
    for table in tables:
        path = world_file(world, table)
        if path is None:
            if table in required:
                raise DetectorError(no_world_file(world, table))
            continue
        try:
            frames[table] = read_table(path, table).frame
        except SchemaError as exc:
            raise DetectorError(str(exc)) from exc
    return frames


GROOMING_TABLES = ("platform_events", "platform_accounts")


@dataclass(frozen=True)
class GroomingInput:
    """Who contacted whom (events) and what the platform knows about each account."""

    platform_events: pl.DataFrame
    platform_accounts: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "platform_events": self.platform_events,
            "platform_accounts": self.platform_accounts,
        }


def grooming_input(world: Path) -> GroomingInput:
    """A world folder's platform events and platform accounts, validated against the
    public schema; both are required (without ages nobody is known to be a minor)."""
    return GroomingInput(**_read(world, GROOMING_TABLES, GROOMING_TABLES))


SEXTORTION_TABLES = ("platform_events", "platform_accounts", "identifiers", "transactions")


@dataclass(frozen=True)
class SextortionInput:
    """Contacts (events), who is a minor (accounts), which customer a minor's account is
    tied to (identifiers) and that customer's payments (transactions)."""

    platform_events: pl.DataFrame
    platform_accounts: pl.DataFrame
    identifiers: pl.DataFrame
    transactions: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "platform_events": self.platform_events,
            "platform_accounts": self.platform_accounts,
            "identifiers": self.identifiers,
            "transactions": self.transactions,
        }


def sextortion_input(world: Path) -> SextortionInput:
    """A world folder's four input tables, validated against the public schema; all are
    required."""
    return SextortionInput(**_read(world, SEXTORTION_TABLES, SEXTORTION_TABLES))


@dataclass(frozen=True)
class AdsInput:
    """Job and model ads and profiles: contact details and photo hashes."""

    platform_ads: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {"platform_ads": self.platform_ads}


def ads_input(world: Path) -> AdsInput:
    """A world folder's ``platform_ads``, validated against the public schema."""
    return AdsInput(**_read(world, ("platform_ads",), ("platform_ads",)))


__all__ = [
    "GROOMING_TABLES",
    "REQUIRED",
    "SEXTORTION_TABLES",
    "AdsInput",
    "GroomingInput",
    "SextortionInput",
    "StreamPaymentInput",
    "ads_input",
    "empty",
    "grooming_input",
    "reference_tables",
    "sextortion_input",
    "stream_payment_input",
]
