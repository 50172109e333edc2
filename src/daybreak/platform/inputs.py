"""The coincidence detector's input: four public tables, read and validated from a world."""

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
    frames: dict[str, pl.DataFrame] = {}
    for table in (*REQUIRED, "customers"):
        path = world_file(world, table)
        if path is None:
            if table in REQUIRED:
                raise DetectorError(no_world_file(world, table))
            continue
        try:
            frames[table] = read_table(path, table).frame
        except SchemaError as exc:
            raise DetectorError(str(exc)) from exc
    return StreamPaymentInput(**frames)


__all__ = ["REQUIRED", "StreamPaymentInput", "empty", "stream_payment_input"]
