"""`daybreak reports`: Import and export tipline reports (NCMEC CyberTipline XML)."""

import typer

app = typer.Typer(
    help="Import and export tipline reports (NCMEC CyberTipline XML).", no_args_is_help=True
)
