"""`daybreak demo`: build a small world, run every stage, show the result."""

from __future__ import annotations

from pathlib import Path

import typer


def demo(
    workdir: Path = typer.Option(Path("demo-output"), help="Folder for the world and results."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Print the summary and exit."),
) -> None:
    raise typer.Exit(code=2)
