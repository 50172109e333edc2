"""`daybreak admin`: users, API keys, retention, database migrations and key generation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from daybreak.cli._store import AllOrgs, DataDir, DbUrl, Dev, Org, err, known_org, open_store
from daybreak.store import SYSTEM, Actor, AuthError, Role, TiplineStore
from daybreak.store.auth import admin_of
from daybreak.store.rotation import RotationRefused

app = typer.Typer(help="Manage users, API keys, retention and the database.", no_args_is_help=True)
users = typer.Typer(help="Analyst accounts.", no_args_is_help=True)
keys = typer.Typer(help="API keys for reporting platforms.", no_args_is_help=True)
orgs = typer.Typer(help="Organisations this deployment serves.", no_args_is_help=True)
teams = typer.Typer(help="Teams of analysts and their inboxes.", no_args_is_help=True)
app.add_typer(users, name="users")
app.add_typer(teams, name="teams")
app.add_typer(keys, name="keys")
app.add_typer(orgs, name="orgs")
out = Console()


NewPassword = typer.Option(
    ...,
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="DAYBREAK_NEW_PASSWORD",
    help="At least 12 characters, not a common password, a run or one character repeated.",
)


@contextmanager
def _admin(data_dir: Path, db: str | None, dev: bool) -> Iterator[TiplineStore]:
    """The store, with a refused request (bad password, unknown user, a rotation that
    may not start) as exit code 1."""
    with open_store(data_dir, db, dev) as store:
        try:
            yield store
        except (AuthError, RotationRefused) as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(code=1) from exc


@users.command("create")
def create_user(
    username: str,
    role: Role = typer.Option(Role.ANALYST, help="analyst, supervisor or admin."),
    org: str = Org,
    password: str = NewPassword,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Create an analyst/supervisor/admin account (argon2id password hash)."""
    with _admin(data_dir, db, dev) as store:
        store.accounts.create(username, password, role, org_id=org)
    out.print(f"created {role.value} {username} in {org}")


def _acting(store: TiplineStore, org: str, all_orgs: bool = False) -> Actor:
    """Who a command acts as: the operator as an admin of --org (that organisation's
    accounts, keys and rows only), or with --all-orgs the operator of every one."""
    return SYSTEM if all_orgs else admin_of(known_org(store, org))


@users.command("list")
def list_users(
    org: str = Org,
    all_orgs: bool = AllOrgs,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """The accounts of --org (or of every organisation) with their role and state
    (active, disabled, locked until when)."""
    now = datetime.now(UTC)
    with open_store(data_dir, db, dev) as store:
        for account in store.accounts.listing(_acting(store, org, all_orgs)):
            state = "disabled" if account.disabled else "active"
            if account.locked_until is not None and account.locked_until > now:
                state += f", locked until {account.locked_until:%Y-%m-%d %H:%M:%S} UTC"
            out.print(f"{account.username}\t{account.role.value}\t{state}\t{account.org_id}")


def _user_change(
    username: str,
    done: str,
    change: Callable[[TiplineStore, Actor], object],
    where: tuple[Path, str | None, bool],
    org: str,
) -> None:
    """Change an account of --org (an account of another organisation is unknown)."""
    with _admin(*where) as store:
        change(store, _acting(store, org))
    out.print(f"{done} {username}")


@users.command("disable")
def disable_user(
    username: str,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Disable an account: it cannot sign in, its sessions end and the API keys it owns
    are refused, in every server process at once. `enable` undoes it."""
    _user_change(
        username,
        "disabled",
        lambda s, a: s.accounts.set_disabled(username, True, a),
        (data_dir, db, dev),
        org,
    )


@users.command("enable")
def enable_user(
    username: str,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Enable a disabled account; also lifts a sign-in lock."""
    _user_change(
        username,
        "enabled",
        lambda s, a: s.accounts.set_disabled(username, False, a),
        (data_dir, db, dev),
        org,
    )


@users.command("reset-password")
def reset_password(
    username: str,
    password: str = NewPassword,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Set a new password (the policy applies); lifts a sign-in lock and ends every
    session of the account."""
    _user_change(
        username,
        "password reset for",
        lambda s, a: s.accounts.set_password(username, password, a),
        (data_dir, db, dev),
        org,
    )


@users.command("set-role")
def set_role(
    username: str,
    role: Role = typer.Argument(..., help="analyst, supervisor or admin."),
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Change an account's role; its sessions end so no page keeps the old role."""
    _user_change(
        username,
        f"role {role.value} for",
        lambda s, a: s.accounts.set_role(username, role, a),
        (data_dir, db, dev),
        org,
    )


@users.command("revoke")
def revoke_user(
    username: str,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """End every session of the account and revoke every API key it owns (--owner),
    in every server process at once. The account itself stays (see `disable`)."""
    with _admin(data_dir, db, dev) as store:
        ended, revoked = store.accounts.revoke(username, _acting(store, org))
    out.print(f"revoked {username}: {ended} session(s) ended, {revoked} key(s) revoked")


@teams.command("add")
def add_to_team(
    team: str = typer.Argument(..., help="The team: 1-40 of a-z, 0-9 and - (e.g. payments)."),
    username: str = typer.Argument(..., help="An account of --org."),
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Put an analyst in a team of --org (a team exists while it has members); they see
    its inbox: the cases sent to the team that no one has taken."""
    with _admin(data_dir, db, dev) as store:
        store.teams.add(team, username, _acting(store, org))
    out.print(f"added {username} to team {team} in {org}")


@teams.command("remove")
def remove_from_team(
    team: str,
    username: str,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Take an analyst out of a team of --org (the team's cases stay in its inbox)."""
    with _admin(data_dir, db, dev) as store:
        store.teams.remove(team, username, _acting(store, org))
    out.print(f"removed {username} from team {team} in {org}")


@teams.command("list")
def list_teams(
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Every team of --org with its members."""
    with open_store(data_dir, db, dev) as store:
        for team, members in store.teams.listing(_acting(store, org)).items():
            out.print(f"{team}\t{', '.join(members)}")


def _expiry(text: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time with a zone."""
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{text!r} is not a date: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM+00:00"
        ) from exc
    if when.tzinfo is None and len(text) > 10:
        raise typer.BadParameter(f"{text!r}: give a time zone, e.g. +00:00")
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@keys.command("create")
def create_key(
    name: str = typer.Argument(..., help="Who the key is for, e.g. the platform's name."),
    role: Role = typer.Option(Role.PLATFORM, help="Usually platform."),
    rate: int = typer.Option(6000, help="Requests per minute (0 = unlimited)."),
    expires: str | None = typer.Option(
        None,
        "--expires",
        help="Refuse the key from this date (YYYY-MM-DD, midnight UTC) or time on.",
    ),
    owner: str | None = typer.Option(
        None, "--owner", help="The user the key acts for: `users revoke`/`disable` reach it."
    ),
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Create an API key; the secret is printed once and stored only as a hash."""
    expires_at = _expiry(expires)
    with _admin(data_dir, db, dev) as store:
        secret = store.api_keys.create(
            name, role, rate, expires_at=expires_at, owner=owner, org_id=org
        )
    out.print(secret)
    err.print("store this key now: it cannot be shown again")


@keys.command("revoke")
def revoke_key(
    key_id: str,
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Revoke an API key of --org, at once in every server process."""
    with open_store(data_dir, db, dev) as store:
        done = store.api_keys.revoke(key_id, _acting(store, org))
    if not done:
        err.print(f"[red]error:[/red] no key {key_id!r} in organisation {org!r}")
        raise typer.Exit(code=1)
    out.print(f"revoked {key_id}")


@app.command()
def retention(
    days: int = typer.Option(..., min=1, help="Keep reports and closed cases this many days."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only, delete nothing."),
    org: str = Org,
    all_orgs: bool = AllOrgs,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Delete reports of --org (or of every organisation) older than --days (unless an
    open case uses them) and closed cases untouched for --days. The audit log (ids
    only) is kept."""
    with open_store(data_dir, db, dev) as store:
        result = store.retention.apply(days, _acting(store, org, all_orgs), dry_run=dry_run)
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


def _new_key(env: str) -> bytes:
    from daybreak.store.keys import KeyError_, key_from_env

    try:
        found = key_from_env(env)
    except KeyError_ as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    if found is None:
        err.print(
            f"[red]error:[/red] {env} (or {env}_FILE) is not set: give the new key "
            "(from `daybreak admin keygen`) through the environment or a file, never "
            "on the command line"
        )
        raise typer.Exit(code=2)
    return found


@app.command("rotate-field-key")
def rotate_field_key(data_dir: Path = DataDir, db: str | None = DbUrl) -> None:
    """Move the store to a new field key: every ciphertext re-encrypted and every blind
    index recomputed (every organisation's keys follow the field key), in one
    transaction, after the audit trail verified. The current key in DAYBREAK_FIELD_KEY,
    the new one in DAYBREAK_NEW_FIELD_KEY (or DAYBREAK_NEW_FIELD_KEY_FILE). Stop every
    server and worker first; afterwards only the new key opens the store."""
    from daybreak.store.keys import NEW_FIELD_ENV_VAR

    raw = _new_key(NEW_FIELD_ENV_VAR)
    with _admin(data_dir, db, False) as store:
        counts = store.rotate_field_key(store.keys.with_field_key(raw))
    out.print("field key rotated: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    out.print("set DAYBREAK_FIELD_KEY to the new key everywhere before starting anything")


@app.command("rotate-audit-key")
def rotate_audit_key(data_dir: Path = DataDir, db: str | None = DbUrl) -> None:
    """Re-key the audit chain, its head and every row MAC under a new audit key, after
    they and the checkpoints verified; the checkpoint file is set aside and a new one
    starts with the hand-over. The current key in DAYBREAK_AUDIT_KEY(_FILE), the new one
    in DAYBREAK_NEW_AUDIT_KEY (or DAYBREAK_NEW_AUDIT_KEY_FILE). Stop every server and
    worker first."""
    from daybreak.store.keys import NEW_AUDIT_ENV_VAR

    raw = _new_key(NEW_AUDIT_ENV_VAR)
    with _admin(data_dir, db, False) as store:
        done = store.rotate_audit_key(store.keys.with_audit_key(raw))
    out.print(
        f"audit key rotated: entries 1-{done['verified_until']} verified under the old key, "
        f"hand-over at entry {done['seq']}"
    )
    if done["checkpoints_kept"]:
        out.print(
            f"checkpoints signed with the old key kept in {done['checkpoints_kept']}: verify "
            "them with DAYBREAK_PREVIOUS_AUDIT_KEY set to the old key"
        )
    out.print("set DAYBREAK_AUDIT_KEY to the new key everywhere before starting anything")


@orgs.command("create")
def create_org(
    org_id: str = typer.Argument(..., help="Short slug: 1-40 of a-z, 0-9 and -."),
    name: str = typer.Option(..., "--name", help="What the organisation is called."),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Create an organisation (the deployment's operator only: this CLI)."""
    with _admin(data_dir, db, dev) as store:
        store.organisations.create(org_id, name)
    out.print(f"created organisation {org_id}")


@orgs.command("list")
def list_orgs(data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev) -> None:
    """Every organisation with its name and when it was created."""
    with open_store(data_dir, db, dev) as store:
        for org in store.organisations.listing():
            out.print(f"{org.org_id}\t{org.name}\t{org.created_at:%Y-%m-%d %H:%M} UTC")
