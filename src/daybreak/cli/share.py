"""`daybreak share`: Privacy-preserving identifier sharing between organisations (keyed hashes)."""

import typer

app = typer.Typer(
    help="Privacy-preserving identifier sharing between organisations (keyed hashes).",
    no_args_is_help=True,
)
