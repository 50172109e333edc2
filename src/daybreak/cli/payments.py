"""`daybreak payments`: Detect payers and facilitators of live-streamed abuse in transaction data."""

import typer

app = typer.Typer(
    help="Detect payers and facilitators of live-streamed abuse in transaction data.",
    no_args_is_help=True,
)
