"""Helpers shared by the CLI modules: clear errors, never a traceback."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (2 = bad input)."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)
