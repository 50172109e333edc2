"""`daybreak export`: Export a case as goAML, CyberTipline XML, STIX 2.1 or FollowTheMoney."""

import typer

app = typer.Typer(
    help="Export a case as goAML, CyberTipline XML, STIX 2.1 or FollowTheMoney.",
    no_args_is_help=True,
)
