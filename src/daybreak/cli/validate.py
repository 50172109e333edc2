"""`daybreak validate`: check a file against its public schema, directly (CSV, Parquet)
or through a registered source (`daybreak sources list`) that reads another format."""

from __future__ import annotations

from pathlib import Path

import typer

from daybreak.cli.common import fail, out
from daybreak.plugins import SourceInfo, source_for
from daybreak.schema import TABLES, SchemaError, ValidationResult, read_table
from daybreak.schema.source_read import SourceReadError, read_via_source, source_named


def validate(
    file: Path = typer.Argument(..., help="CSV or Parquet file, or a file a source reads."),
    table: str | None = typer.Option(
        None,
        "--table",
        "-t",
        help=f"Which public schema: {', '.join(TABLES)} (default: the source's table).",
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        "-s",
        help="Read the file with this registered source (`daybreak sources list`); "
        "without it a source is chosen by the file's suffix, else CSV/Parquet.",
    ),
    quarantine: Path | None = typer.Option(
        None, help="Write bad rows with their reasons here instead of failing."
    ),
) -> None:
    reader = _reader_of(file, table, source)
    table = reader.table if reader is not None else table
    if table is None:
        fail("--table is required unless --source names a registered source")
    if table not in TABLES:
        fail(f"unknown table '{table}': expected one of {', '.join(TABLES)}")
    result = _read(file, table, reader, quarantine)
    via = f" (read by source '{reader.name}')" if reader is not None else ""
    out.print(f"{file}: {result.frame.height} valid row(s) in the '{table}' schema{via}")
    if result.rejected:
        out.print(f"{result.rejected} row(s) quarantined in {result.quarantine_file}")


def _reader_of(file: Path, table: str | None, name: str | None) -> SourceInfo | None:
    """The source named, or the one registered for the file's suffix and table."""
    if name is None:
        return source_for(file, table) if table is not None else None
    try:
        reader = source_named(name)
    except SourceReadError as exc:
        fail(str(exc))
    if table is not None and table != reader.table:
        fail(f"source '{name}' reads the '{reader.table}' schema, not '{table}'")
    return reader


def _read(
    file: Path, table: str, reader: SourceInfo | None, quarantine: Path | None
) -> ValidationResult:
    try:
        if reader is not None:
            return read_via_source(reader, file, quarantine=quarantine)
        return read_table(file, table, quarantine=quarantine)
    except (SchemaError, SourceReadError) as exc:
        fail(f"{file} does not fit the '{table}' schema: {exc}")
