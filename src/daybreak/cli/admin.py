"""`daybreak admin`: users, API keys, retention, database migrations and key generation."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from daybreak.cli._store import DataDir, DbUrl, Dev, err, open_store
from daybreak.store import AuthError, Role

app = typer.Typer(help="Manage users, API keys, retention and the database.", no_args_is_help=True)
users = typer.Typer(help="Analyst accounts.", no_args_is_help=True)
keys = typer.Typer(help="API keys for reporting platforms.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(keys, name="keys")
out = Console()


@users.command("create")
def create_user(
    username: str,
    role: Role = typer.Option(Role.ANALYST, help="analyst, supervisor or admin."),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="DAYBREAK_NEW_PASSWORD",
        help="At least 12 characters.",
    ),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Create an analyst/supervisor/admin account (argon2id password hash)."""
    with open_store(data_dir, db, dev) as store:
        try:
            store.create_user(username, password, role)
        except AuthError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from exc
    out.print(f"created {role.value} {username}")


@users.command("list")
def list_users(data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev) -> None:
    with open_store(data_dir, db, dev) as store:
        for actor in store.users():
            out.print(f"{actor.name}\t{actor.role.value}")


@keys.command("create")
def create_key(
    name: str = typer.Argument(..., help="Who the key is for, e.g. the platform's name."),
    role: Role = typer.Option(Role.PLATFORM, help="Usually platform."),
    rate: int = typer.Option(6000, help="Requests per minute (0 = unlimited)."),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Create an API key; the secret is printed once and stored only as a hash."""
    with open_store(data_dir, db, dev) as store:
        try:
            secret = store.create_api_key(name, role, rate)
        except AuthError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from exc
    out.print(secret)
    err.print("store this key now: it cannot be shown again")


@keys.command("revoke")
def revoke_key(
    key_id: str, data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev
) -> None:
    with open_store(data_dir, db, dev) as store:
        done = store.revoke_api_key(key_id)
    if not done:
        err.print(f"[red]error:[/red] no key {key_id!r}")
        raise typer.Exit(code=1)
    out.print(f"revoked {key_id}")


@app.command()
def retention(
    days: int = typer.Option(..., min=1, help="Keep reports and closed cases this many days."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only, delete nothing."),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Delete reports older than --days (unless an open case uses them) and closed cases
    untouched for --days. The audit log (ids only) is kept."""
    with open_store(data_dir, db, dev) as store:
        result = store.apply_retention(days, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    out.print(
        f"{verb} {result.reports_deleted} report(s) and {result.cases_deleted} closed case(s) "
        f"older than {result.cutoff:%Y-%m-%d %H:%M} UTC"
    )


@app.command()
def migrate(data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev) -> None:
    """Bring the database schema up to date (also done on every start)."""
    from daybreak.store.db import current_revision

    with open_store(data_dir, db, dev) as store:
        out.print(f"schema at revision {current_revision(store.engine)}")


@app.command()
def keygen() -> None:
    """Print a new random key: run it once for DAYBREAK_FIELD_KEY and once more for
    DAYBREAK_AUDIT_KEY (two different keys; the store refuses the same key twice)."""
    from daybreak.store.keys import generate_key

    out.print(generate_key())
