"""Helpers shared by the CLI modules: clear errors, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code`` (2 = bad input)."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def spinner() -> Progress:
    """A spinner with the step's description and elapsed time on stderr, cleared when
    done: for long steps whose length is not known."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn  # when used

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=err, transient=True)  # fmt: skip
