"""`daybreak audit`: Verify the tamper-evident audit log."""

import typer

app = typer.Typer(help="Verify the tamper-evident audit log.", no_args_is_help=True)
