"""`daybreak graph`: Build the entity graph across every source."""

import typer

app = typer.Typer(help="Build the entity graph across every source.", no_args_is_help=True)
