"""`daybreak serve`: the HTTP API (tipline intake, media matching) and the console."""

from __future__ import annotations

import typer


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to bind."),
) -> None:
    raise typer.Exit(code=2)  # replaced by the tipline work
