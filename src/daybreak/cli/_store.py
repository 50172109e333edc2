"""Opening the store from CLI options (shared by the reports, audit and admin groups)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from daybreak.model import DEFAULT_ORG
from daybreak.store import TiplineStore
from daybreak.store.keys import KeyError_

err = Console(stderr=True)
DataDir = typer.Option(Path("daybreak-data"), help="Folder of the SQLite database (and dev key).")
DbUrl = typer.Option(None, "--db", help="SQLAlchemy URL (default: SQLite in --data-dir).")
Dev = typer.Option(False, "--dev", help="Use/generate dev field and audit keys in --data-dir.")
Org = typer.Option(
    DEFAULT_ORG,
    "--org",
    help="The organisation whose data the command reads or writes (`daybreak admin orgs list`).",
)
AllOrgs = typer.Option(False, "--all-orgs", help="Every organisation's, instead of --org's.")


def open_store(data_dir: Path, db: str | None, dev: bool) -> TiplineStore:
    try:
        return TiplineStore.open(data_dir, url=db, dev=dev)
    except KeyError_ as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def known_org(store: TiplineStore, org: str) -> str:
    """``org`` when the deployment has it, else exit 2 naming the ones it has."""
    known = [o.org_id for o in store.organisations.listing()]
    if org not in known:
        err.print(f"[red]error:[/red] no organisation {org!r} (there are: {', '.join(known)})")
        raise typer.Exit(code=2)
    return org
