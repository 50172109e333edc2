"""`daybreak cases`: Build and list cases from alerts."""

import typer

app = typer.Typer(help="Build and list cases from alerts.", no_args_is_help=True)
