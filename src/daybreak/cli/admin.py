"""`daybreak admin`: users, API keys, retention and database migrations."""

import typer

app = typer.Typer(help="Manage users, API keys, retention and the database.", no_args_is_help=True)
