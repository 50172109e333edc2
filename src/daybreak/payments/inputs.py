"""Reading and checking the scan's inputs: every problem is a clear error, never a skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from daybreak.detectors import DetectorError
from daybreak.payments.compiler import SPEND_CHANNELS
from daybreak.payments.config import Pack
from daybreak.plugins import SourceInfo, source_for
from daybreak.schema import TABLES, SchemaError, read_table
from daybreak.schema.source_read import SourceReadError, read_via_source

EXIT_CONFIG = 2
EXIT_INPUT = 3
EXIT_NOTHING = 4


class PaymentsInputError(DetectorError):
    """Input the payments detector cannot use; ``exit_code`` is what the CLI returns."""

    def __init__(self, message: str, exit_code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def read_transactions(path: Path) -> pl.DataFrame:
    """CSV or Parquet in the public schema, or a file a registered source
    (``daybreak.sources``) reads into it, such as ISO 20022 pacs.008 XML."""
    source = source_for(path, "transactions")
    if source is not None:
        return _read_source(source, path)
    try:
        frame = read_table(path, "transactions").frame
    except SchemaError as exc:
        raise PaymentsInputError(str(exc)) from exc
    if frame.height == 0:
        raise PaymentsInputError(f"{path}: no transactions in the file (header only)")
    return frame


def _read_source(source: SourceInfo, path: Path) -> pl.DataFrame:
    try:
        return read_via_source(source, path).frame
    except SourceReadError as exc:
        raise PaymentsInputError(str(exc)) from exc


def read_customers(path: Path | None) -> pl.DataFrame:
    if path is None:
        return empty_customers()
    try:
        return read_table(path, "customers").frame
    except SchemaError as exc:
        raise PaymentsInputError(str(exc)) from exc


def empty_customers() -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "customer_id": pl.String(),
        "name": pl.String(),
        "birth_year": pl.Int64(),
        "gender": pl.String(),
        "country": pl.String(),
        "timezone": pl.String(),
        "known_offender": pl.Boolean(),
    }
    assert list(schema) == TABLES["customers"].names
    return pl.DataFrame(schema=schema)


def _refuse_currencies(unknown: list[tuple[str, int]], source: str) -> None:
    if unknown:
        listed = ", ".join(f"{c} ({n} rows)" for c, n in unknown)
        raise PaymentsInputError(
            f"{source}: no exchange rate for currency {listed}; add it under "
            "'fx_to_reference' in a typology pack and pass it with --config"
        )


def _refuse_no_corridor(corridor: int, total: int, pack: Pack, source: str) -> None:
    if corridor == 0:
        raise PaymentsInputError(
            f"{source}: none of the {total} transactions is an outbound payment to a "
            f"corridor country ({', '.join(pack.corridor_countries)}); nothing to score. "
            "Check receiver_country, or set 'corridor_countries' in your typology pack.",
            EXIT_NOTHING,
        )


def currency_counts_sql(fetch: Any, relation: str) -> dict[str | None, int]:
    """Rows per currency, as SQL run by an engine (a cheap group-by)."""
    rows = fetch(f"SELECT currency, count(*) AS n FROM {relation} GROUP BY currency")
    return {r["currency"]: int(r["n"]) for r in rows.to_pylist()}


def refuse_unknown_currencies(counts: dict[str | None, int], pack: Pack, source: str) -> None:
    """Refuse currencies without a rate. (A missing currency is the schema check's.)"""
    unknown = [(c, n) for c, n in counts.items() if c is not None and c not in pack.fx_to_reference]
    _refuse_currencies(sorted(unknown), source)


def refuse_no_corridor(corridor: int, total: int, pack: Pack, source: str) -> None:
    _refuse_no_corridor(corridor, total, pack, source)


def refuse_duplicate_ids(duplicates: list[str], source: str) -> None:
    """Refuse transaction ids seen twice (``duplicates``: a few of them, sorted)."""
    if duplicates:
        raise PaymentsInputError(
            f"{source}, column 'txn_id': duplicate id(s) {', '.join(map(repr, duplicates))}; "
            "every transaction needs a unique txn_id"
        )


def check_against_pack(tx: pl.DataFrame, pack: Pack, source: str) -> int:
    """Refuse currencies the pack cannot convert; return the corridor payment count."""
    unknown = (
        tx.filter(~pl.col("currency").is_in(list(pack.fx_to_reference)))
        .group_by("currency")
        .agg(pl.len().alias("rows"))
        .sort("currency")
    )
    _refuse_currencies([(str(c), int(n)) for c, n in unknown.iter_rows()], source)
    corridor = tx.filter(
        pl.col("receiver_country").is_in(list(pack.corridor_countries))
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & ~pl.col("channel").is_in(SPEND_CHANNELS)
    ).height
    _refuse_no_corridor(corridor, tx.height, pack, source)
    return corridor
