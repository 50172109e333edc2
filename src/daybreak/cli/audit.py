"""`daybreak audit`: verify the tamper-evident audit log."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from daybreak.cli._store import DataDir, DbUrl, Dev, err, open_store

app = typer.Typer(help="Verify the tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev) -> None:
    """Recompute the keyed hash chain; exit 1 and name each broken entry if tampered."""
    with open_store(data_dir, db, dev) as store:
        result = store.verify_audit()
    if result.ok:
        Console().print(f"[green]audit chain intact[/green]: {result.entries} entries")
        return
    for problem in result.problems:
        err.print(f"[red]{problem}[/red]")
    err.print(f"audit chain BROKEN ({result.entries} entries checked)")
    raise typer.Exit(code=1)
