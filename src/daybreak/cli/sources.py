"""`daybreak sources`: the registered readers of other formats (``daybreak.sources``).

A source turns a file in someone else's format (ISO 20022 pacs.008 XML, a plug-in's
ledger export) into one of the public schemas. `daybreak sources list` names what is
installed; `daybreak sources convert NAME FILE --out OUT.parquet` loads a file with one
into a checked Parquet file any command reads; `daybreak validate FILE --source NAME`
checks one without writing it.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from daybreak.cli.common import fail, out
from daybreak.plugins import PluginError, sources
from daybreak.schema.source_read import SourceReadError, read_via_source, source_named

app = typer.Typer(
    help="Registered readers of other formats (Daybreak's own and plug-ins'): "
    "`daybreak sources list`, `daybreak sources convert NAME FILE --out OUT.parquet`.",
    no_args_is_help=True,
)


@app.command("list")
def list_sources() -> None:
    """List the registered sources: name, what they read, the schema they produce."""
    try:
        found = sources()
    except PluginError as exc:
        fail(str(exc))
    table = Table(title="Sources", title_justify="left", expand=True)
    for column in ("source", "label", "reads", "into", "what it reads"):
        table.add_column(column, overflow="fold")
    for info in found.values():
        reads = ", ".join(info.suffixes) or "-"
        table.add_row(info.name, info.label, reads, info.table, info.description)
    out.print(table)


@app.command("convert")
def convert(
    name: str = typer.Argument(..., help="A registered source (`daybreak sources list`)."),
    file: Path = typer.Argument(..., help="The file to read."),
    out_file: Path = typer.Option(
        ..., "--out", "-o", help="Parquet file in the source's public schema."
    ),
    quarantine: Path | None = typer.Option(
        None, help="Write bad rows with their reasons here instead of failing."
    ),
) -> None:
    """Read FILE with a registered source, check it against the source's public schema,
    and write the valid rows as Parquet (e.g. a world folder's transactions.parquet)."""
    try:
        source = source_named(name)
        result = read_via_source(source, file, quarantine=quarantine)
    except SourceReadError as exc:
        fail(str(exc))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    result.frame.write_parquet(out_file)
    out.print(
        f"{out_file}: {result.frame.height} row(s) in the '{source.table}' schema "
        f"from {file} ({source.label})"
    )
    if result.rejected:
        out.print(f"{result.rejected} row(s) quarantined in {result.quarantine_file}")
