"""`daybreak audit`: verify the tamper-evident audit log; write checkpoints; read an
organisation's trail. The chain, its head and its checkpoints are one for the whole
deployment (every organisation's entries are links of it), so `verify` and `checkpoint`
have no --org; `trail` reads one organisation's entries."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from daybreak.cli._store import AllOrgs, DataDir, DbUrl, Dev, Org, err, known_org, open_store
from daybreak.store.keys import PREVIOUS_AUDIT_ENV_VAR, KeyError_, Keyring, key_from_env

app = typer.Typer(help="Verify the tamper-evident audit log.", no_args_is_help=True)
out = Console()


@app.command()
def verify(
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
    checkpoints: Path | None = typer.Option(
        None,
        "--checkpoints",
        help="Checkpoint file to check against (e.g. the copy kept off the machine); "
        "default: the store's own.",
    ),
) -> None:
    """Recompute the keyed hash chain, its head, the checkpoints and every row MAC;
    exit 1 and name each broken entry, checkpoint or row if tampered. Checkpoints
    written before the last `admin rotate-audit-key` are checked when the audit key of
    before is in DAYBREAK_PREVIOUS_AUDIT_KEY (or DAYBREAK_PREVIOUS_AUDIT_KEY_FILE)."""
    if checkpoints is not None and not checkpoints.is_file():
        err.print(f"[red]error:[/red] --checkpoints {checkpoints}: no such file")
        raise typer.Exit(code=2)
    with open_store(data_dir, db, dev) as store:
        result = store.audit.verify(checkpoints, _previous(store.keys))
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    if result.ok:
        out.print(
            f"[green]audit chain intact[/green]: {result.entries} entries, "
            f"{result.checkpoints} checkpoint(s) match, {result.rows} row MAC(s) match"
        )
        return
    for problem in result.problems:
        err.print(f"[red]{problem}[/red]")
    err.print(
        f"audit chain BROKEN ({result.entries} entries, {result.checkpoints} checkpoint(s), "
        f"{result.rows} rows checked; {result.bad_rows} row(s) changed outside Daybreak)"
    )
    raise typer.Exit(code=1)


def _previous(keys: Keyring) -> Keyring | None:
    try:
        raw = key_from_env(PREVIOUS_AUDIT_ENV_VAR)
    except KeyError_ as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    return None if raw is None else keys.with_audit_key(raw)


@app.command()
def checkpoint(data_dir: Path = DataDir, db: str | None = DbUrl, dev: bool = Dev) -> None:
    """Append the audit head (seq, hash, time, MAC) to the checkpoint file now."""
    with open_store(data_dir, db, dev) as store:
        point = store.audit.checkpoint()
        path = store.audit.checkpoint_path
    if point is None:
        err.print(
            "[red]error:[/red] no checkpoint written: "
            + (
                "no checkpoint file is configured (set DAYBREAK_AUDIT_CHECKPOINTS)"
                if path is None
                else "the audit head failed its checks; run `daybreak audit verify`"
            )
        )
        raise typer.Exit(code=1)
    out.print(f"checkpoint at entry {point.seq} written to {path}")


@app.command()
def trail(
    object_id: str | None = typer.Option(
        None, "--object", help="Only the entries about this case, report, user or key."
    ),
    last: int = typer.Option(50, "--last", min=1, help="Show the newest this many entries."),
    org: str = Org,
    all_orgs: bool = AllOrgs,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """The audit entries of --org (or of every organisation), oldest first: sequence
    number, time, who, what, on which object, and the organisation."""
    from daybreak.store import SYSTEM
    from daybreak.store.auth import admin_of

    with open_store(data_dir, db, dev) as store:
        reader = SYSTEM if all_orgs else admin_of(known_org(store, org))
        entries = store.audit.trail(reader, object_id)[-last:]
    for e in entries:  # tab-separated, one entry a line (no wrapping): for grep and cut
        typer.echo(
            f"{e.seq}\t{e.at:%Y-%m-%d %H:%M:%S}\t{e.actor}\t{e.action}\t"
            f"{e.object_type}:{e.object_id}\t{e.org_id}"
        )
