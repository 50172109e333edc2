"""`daybreak validate`: check a file against its public schema."""

from __future__ import annotations

from pathlib import Path

import typer

from daybreak.cli.common import fail, out
from daybreak.schema import TABLES, SchemaError, read_table


def validate(
    file: Path = typer.Argument(..., help="CSV or Parquet file."),
    table: str = typer.Option(
        ..., "--table", "-t", help=f"Which public schema: {', '.join(TABLES)}."
    ),
    quarantine: Path | None = typer.Option(
        None, help="Write bad rows with their reasons here instead of failing."
    ),
) -> None:
    if table not in TABLES:
        fail(f"unknown table '{table}': expected one of {', '.join(TABLES)}")
    try:
        result = read_table(file, table, quarantine=quarantine)
    except SchemaError as exc:
        fail(f"{file} does not fit the '{table}' schema: {exc}")
    out.print(f"{file}: {result.frame.height} valid row(s) in the '{table}' schema")
    if result.rejected:
        out.print(f"{result.rejected} row(s) quarantined in {result.quarantine_file}")
