"""`daybreak media`: Hash media and match it against hash lists of known material."""

import typer

app = typer.Typer(
    help="Hash media and match it against hash lists of known material.", no_args_is_help=True
)
