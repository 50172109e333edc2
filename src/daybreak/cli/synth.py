"""`daybreak synth`: write a deterministic synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer


def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the world into."),
    customers: int = typer.Option(5000, help="Number of the institution's customers."),
    months: int = typer.Option(12, help="Months of activity."),
    seed: int = typer.Option(7, help="Random seed; the same seed gives the same world."),
    profile: str = typer.Option("default", help="World profile (see `docs/synthetic-world.md`)."),
) -> None:
    raise typer.Exit(code=2)  # filled by the synthetic world work
