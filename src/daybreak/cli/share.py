"""`daybreak share`: Privacy-preserving identifier sharing between organisations (keyed hashes)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import typer
from rich.table import Table

from daybreak.cli.common import err, fail, out
from daybreak.cli.graph import user_errors

app = typer.Typer(
    help="Privacy-preserving identifier sharing between organisations (keyed hashes).",
    no_args_is_help=True,
)

SECRET_ENV = "DAYBREAK_SHARE_SECRET"
SECRET_HELP = f"File holding the group secret (default: ${SECRET_ENV})."
WORLD_HELP = "World folder whose identifiers to use."
INPUT_HELP = "CSV with columns kind,value (alternative to --world)."


def _secret(path: Path | None) -> bytes:
    from daybreak.sharing import ShareError
    from daybreak.sharing.keyed import check_secret

    if path is not None:
        if not path.exists():
            fail(f"{path}: secret file not found")
        value = path.read_bytes().strip()
    else:
        env = os.environ.get(SECRET_ENV)
        if not env:
            fail(f"no group secret: pass --secret-file or set {SECRET_ENV}")
        value = env.strip().encode()
    try:
        return check_secret(value)
    except ShareError as exc:
        fail(f"{path or SECRET_ENV}: {exc}")


def _identifiers(world: Path | None, input_csv: Path | None) -> list[tuple[str, str]]:
    from daybreak.sharing.sources import csv_identifiers, world_identifiers

    if (world is None) == (input_csv is None):
        fail("give exactly one of --world or --input")
    if world is not None:
        return world_identifiers(world)
    assert input_csv is not None
    return csv_identifiers(input_csv)


@app.command()
def keygen(
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write the new secret."),
) -> None:
    """Create a random 32-byte group secret (hex); share it only inside the group."""
    if out_file.exists():
        fail(f"{out_file} exists; refusing to overwrite a group secret")
    out_file.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    out_file.chmod(0o600)
    out.print(f"Wrote a new group secret to {out_file} (mode 600).")


@app.command()
def export(
    out_file: Path = typer.Option(..., "--out", "-o", help="Share file to write (JSON lines)."),
    group: str = typer.Option(..., "--group", help="Name of the sharing group."),
    world: Path | None = typer.Option(None, "--world", "-w", help=WORLD_HELP),
    input_csv: Path | None = typer.Option(None, "--input", "-i", help=INPUT_HELP),
    secret_file: Path | None = typer.Option(None, "--secret-file", help=SECRET_HELP),
) -> None:
    """Publish keyed hashes (HMAC-SHA256) of your normalised identifiers, no values."""
    from daybreak.sharing import export_lines

    secret = _secret(secret_file)
    with user_errors():
        lines, problems = export_lines(secret, group, _identifiers(world, input_csv))
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for p in problems[:20]:
        err.print(f"skipped (does not normalise): {p}")
    if len(problems) > 20:
        err.print(f"... and {len(problems) - 20} more")
    out.print(f"Wrote {len(lines) - 1} keyed hash(es) to {out_file}; {len(problems)} skipped.")


@app.command()
def match(
    theirs: Path = typer.Option(..., "--theirs", help="The other member's share file."),
    world: Path | None = typer.Option(None, "--world", "-w", help=WORLD_HELP),
    input_csv: Path | None = typer.Option(None, "--input", "-i", help=INPUT_HELP),
    secret_file: Path | None = typer.Option(None, "--secret-file", help=SECRET_HELP),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Which of your identifiers the other member also holds (shown in clear: yours)."""
    from daybreak.sharing import match as run_match
    from daybreak.sharing import parse_lines

    secret = _secret(secret_file)
    if not theirs.is_file():
        fail(f"{theirs}: share file not found")
    with user_errors():
        other = parse_lines(theirs.read_text(encoding="utf-8").splitlines(), str(theirs))
        common = run_match(secret, _identifiers(world, input_csv), other)
    if as_json:
        for kind, value in common:
            typer.echo(json.dumps({"kind": kind, "value": value, "group": other.group}))
        return
    table = Table(title=f"{len(common)} identifier(s) in common with {theirs.name}")
    table.add_column("kind")
    table.add_column("value")
    for kind, value in common:
        table.add_row(kind, value)
    out.print(table)
