"""`daybreak share`: identifier sharing between organisations.

Keyed hashes (`keygen`, `export`, `match`) within a group that trusts every member, and
a private set intersection (`psi request|respond|finish`) that members cannot test
guesses against. Both share the identifiers of chosen cases unless told otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from daybreak.cli.common import err, fail, out
from daybreak.cli.graph import user_errors
from daybreak.model import DEFAULT_ORG

if TYPE_CHECKING:
    from daybreak.sharing.sources import Selection

app = typer.Typer(
    help="Identifier sharing between organisations: keyed hashes or private set intersection.",
    no_args_is_help=True,
)
psi_app = typer.Typer(
    help="Private set intersection (X25519): learn the overlap, nothing members can test "
    "guesses against.",
    no_args_is_help=True,
)
app.add_typer(psi_app, name="psi")

SECRET_ENV = "DAYBREAK_SHARE_SECRET"
SECRET_HELP = f"File holding the group secret (default: ${SECRET_ENV})."

CaseIds = typer.Option([], "--case", help="Id of a case whose identifiers to use (repeatable).")
CasesFile = typer.Option(None, "--cases", help="Cases as JSON lines (`daybreak cases build`).")
DbUrl = typer.Option(None, "--db", help="Read the cases from the store (SQLAlchemy URL).")
DataDir = typer.Option(Path("daybreak-data"), "--data-dir", help="Store folder for --db.")
Dev = typer.Option(False, "--dev", help="With --db: use the dev field key in --data-dir.")
Org = typer.Option(DEFAULT_ORG, "--org", help="With --db: the organisation whose cases these are.")
World = typer.Option(
    Path("world"),
    "--world",
    "-w",
    help="World folder: tells your customers' own identifiers apart; with "
    "--all-identifiers, the identifiers themselves.",
)
InputCsv = typer.Option(
    None, "--input", "-i", help="CSV with columns kind,value: exactly these identifiers."
)
AllIdentifiers = typer.Option(
    False,
    "--all-identifiers",
    help="Every identifier of --world instead of chosen cases (prints what that includes).",
)
WithCustomers = typer.Option(
    False,
    "--include-customer-identifiers",
    help="Also use your own customers' e-mails, phones and accounts (KYC); left out by default.",
)
Region = typer.Option(
    None,
    "--default-region",
    help="ISO 3166 alpha-2 region of phone numbers written without a country code, e.g. AU.",
)
SOURCE_HINT = (
    "say what to share: --case ID (repeatable) with --cases FILE or --db URL, "
    "--input CSV, or --all-identifiers (every identifier of --world)"
)


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


def _write_private(path: Path, text: str, what: str) -> None:
    """Create ``path`` readable by its owner only; never overwrite (a secret lost that
    way cannot be recovered)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fail(f"{path} exists; refusing to overwrite {what}")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path, what: str) -> str:
    if not path.is_file():
        fail(f"{path}: {what} not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{path}: not a text file ({exc.reason} at byte {exc.start}); expected {what}")


def _select(
    case_ids: Sequence[str],
    cases_file: Path | None,
    db: str | None,
    data_dir: Path,
    dev: bool,
    org: str,
    world: Path,
    input_csv: Path | None,
    all_identifiers: bool,
    include_customers: bool,
    default_region: str | None,
    doing: str,
) -> Selection:
    """The identifiers to use, from exactly one source, reported by :func:`_report`."""
    from daybreak.sharing import check_region
    from daybreak.sharing.sources import (
        csv_identifiers,
        customer_identifiers,
        select,
        world_identifiers,
    )

    by_case = bool(case_ids) or cases_file is not None or db is not None
    if by_case + (input_csv is not None) + all_identifiers != 1:
        fail(SOURCE_HINT)
    if by_case and not case_ids:
        fail("--cases/--db: name at least one --case ID")
    if by_case and (cases_file is None) == (db is None):
        fail("--case: give exactly one of --cases FILE or --db URL")
    with user_errors():
        region = check_region(default_region)
        if input_csv is not None:
            selection = select(csv_identifiers(input_csv), region)
        else:
            pairs, skipped = (
                _case_identifiers(case_ids, cases_file, db, data_dir, dev, org)
                if by_case
                else world_identifiers(world)
            )
            withhold = frozenset() if include_customers else customer_identifiers(world, region)
            selection = select(pairs, region, withhold=withhold, skipped=skipped)
    _report(selection, world if all_identifiers else None, doing)
    return selection


def _case_identifiers(
    case_ids: Sequence[str],
    cases_file: Path | None,
    db: str | None,
    data_dir: Path,
    dev: bool,
    org: str,
) -> tuple[list[tuple[str, str]], list[str]]:
    from daybreak.cli.export import read_cases
    from daybreak.exporters import ExportError
    from daybreak.sharing.sources import case_identifiers

    try:
        cases = read_cases(case_ids, cases_file, db, data_dir, dev, "cli:share", org)
    except ExportError as exc:
        fail(str(exc))
    return case_identifiers(cases), []


def _report(selection: Selection, whole_world: Path | None, doing: str) -> None:
    """Say on stderr every value skipped, how many customers' own identifiers were
    withheld and, for a whole world, what it includes."""
    from daybreak.sharing.sources import kind_counts

    for problem in selection.skipped:
        err.print(f"skipped (does not normalise): {problem}", markup=False)
    if selection.withheld:
        err.print(f"left out {selection.withheld} identifier(s) of your own customers "
                  "(--include-customer-identifiers uses them)")  # fmt: skip
    if whole_world is not None:
        err.print(
            f"[yellow]warning:[/] --all-identifiers: {doing} every identifier of {whole_world}, "
            f"not only those of cases: {len(selection.identifiers)} "
            f"({kind_counts(selection.identifiers)})"
        )


@app.command()
def keygen(
    out_file: Path = typer.Option(..., "--out", "-o", help="Where to write the new secret."),
) -> None:
    """Create a random 32-byte group secret (hex); share it only inside the group."""
    _write_private(out_file, secrets.token_hex(32) + "\n", "a group secret")
    out.print(f"Wrote a new group secret to {out_file} (mode 600).")


@app.command()
def export(
    out_file: Path = typer.Option(..., "--out", "-o", help="Share file to write (JSON lines)."),
    group: str = typer.Option(..., "--group", help="Name of the sharing group."),
    case_ids: list[str] = CaseIds,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    org: str = Org,
    world: Path = World,
    input_csv: Path | None = InputCsv,
    all_identifiers: bool = AllIdentifiers,
    include_customers: bool = WithCustomers,
    default_region: str | None = Region,
    secret_file: Path | None = typer.Option(None, "--secret-file", help=SECRET_HELP),
) -> None:
    """Publish keyed hashes (HMAC-SHA256) of the chosen cases' identifiers, no values."""
    from daybreak.sharing import export_lines

    secret = _secret(secret_file)
    selection = _select(case_ids, cases_file, db, data_dir, dev, org, world, input_csv,
                        all_identifiers, include_customers, default_region,
                        "publishing keyed hashes of")  # fmt: skip
    with user_errors():
        lines, _ = export_lines(secret, group, selection.identifiers)
    _write(out_file, lines)
    out.print(f"Wrote {len(lines) - 1} keyed hash(es) to {out_file}; "
              f"{len(selection.skipped)} skipped.")  # fmt: skip


@app.command()
def match(
    theirs: Path = typer.Option(..., "--theirs", help="The other member's share file."),
    case_ids: list[str] = CaseIds,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    org: str = Org,
    world: Path = World,
    input_csv: Path | None = InputCsv,
    all_identifiers: bool = AllIdentifiers,
    include_customers: bool = WithCustomers,
    default_region: str | None = Region,
    secret_file: Path | None = typer.Option(None, "--secret-file", help=SECRET_HELP),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Which of your identifiers the other member also holds (shown in clear: yours)."""
    from daybreak.sharing import match as run_match
    from daybreak.sharing import parse_lines

    secret = _secret(secret_file)
    text = _read(theirs, "share file")
    with user_errors():
        other = parse_lines(text.splitlines(), str(theirs))
    selection = _select(case_ids, cases_file, db, data_dir, dev, org, world, input_csv,
                        all_identifiers, include_customers, default_region,
                        "comparing")  # fmt: skip
    with user_errors():
        common, _ = run_match(secret, selection.identifiers, other)
    _show_common(common, other.group, f"with {theirs.name}", as_json)
    err.print(f"{len(selection.identifiers)} identifier(s) compared; "
              f"{len(selection.skipped)} skipped (listed above).")  # fmt: skip


def _show_common(common: Sequence[tuple[str, str]], group: str, where: str, as_json: bool) -> None:
    if as_json:
        for kind, value in common:
            typer.echo(json.dumps({"kind": kind, "value": value, "group": group}))
        return
    table = Table(title=f"{len(common)} identifier(s) in common {where}")
    table.add_column("kind")
    table.add_column("value")
    for kind, value in common:
        table.add_row(kind, value)
    out.print(table)


@psi_app.command("request")
def psi_request(
    out_file: Path = typer.Option(..., "--out", "-o", help="Request file to send (blinded)."),
    state_file: Path = typer.Option(
        ..., "--state", help="Where to keep this session's secret until `finish` (mode 600)."
    ),
    group: str = typer.Option(
        ..., "--group", help="Your organisation, as the other side knows it."
    ),
    size_only: bool = typer.Option(False, "--size-only", help="Ask only how many are shared."),
    case_ids: list[str] = CaseIds,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    org: str = Org,
    world: Path = World,
    input_csv: Path | None = InputCsv,
    all_identifiers: bool = AllIdentifiers,
    include_customers: bool = WithCustomers,
    default_region: str | None = Region,
) -> None:
    """Round 1: blind your identifiers under a fresh session scalar."""
    from daybreak.sharing.psi import Mode, start

    selection = _select(case_ids, cases_file, db, data_dir, dev, org, world, input_csv,
                        all_identifiers, include_customers, default_region,
                        "asking about")  # fmt: skip
    if state_file.exists():
        fail(f"{state_file} exists: finish or delete that exchange first")
    request, state = start(
        selection.identifiers, group, Mode.SIZE if size_only else Mode.INTERSECTION
    )
    _write_private(state_file, state.text() + "\n", "a PSI state")
    try:
        _write(out_file, request.lines())
    except OSError as exc:
        state_file.unlink()
        fail(f"cannot write {out_file}: {exc.strerror}")
    out.print(
        f"Wrote a PSI request ({request.mode.value}) of {len(request.values)} blinded identifier(s) "
        f"to {out_file} (session {request.session}); send it to the other member. "
        f"{state_file} holds this session's secret (mode 600) until `share psi finish`."
    )


@psi_app.command("respond")
def psi_respond(
    request_file: Path = typer.Option(..., "--request", help="The other member's request file."),
    out_file: Path = typer.Option(..., "--out", "-o", help="Response file to send back."),
    group: str = typer.Option(
        ..., "--group", help="Your organisation, as the other side knows it."
    ),
    peer: str = typer.Option(
        ..., "--peer", help="Who sent the request (as you know them): for the log and limits."
    ),
    log_file: Path = typer.Option(
        ..., "--log", help="JSON-lines log of answered and refused requests (appended)."
    ),
    max_request: int = typer.Option(
        10_000, "--max-request", min=1, help="Refuse requests with more identifiers."
    ),
    max_per_day: int = typer.Option(
        10_000, "--max-per-day", min=1, help="Identifiers answered per peer in any 24 hours."
    ),
    size_only: bool = typer.Option(
        False, "--size-only", help="Reveal only how many are shared, even if asked which."
    ),
    case_ids: list[str] = CaseIds,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    org: str = Org,
    world: Path = World,
    input_csv: Path | None = InputCsv,
    all_identifiers: bool = AllIdentifiers,
    include_customers: bool = WithCustomers,
    default_region: str | None = Region,
) -> None:
    """Round 2: answer a request within your limits; you learn nothing from it."""
    from datetime import UTC, datetime

    from daybreak.sharing.psi import parse_request, respond
    from daybreak.sharing.psilog import Limits, Refused, check, read_log, record

    text = _read(request_file, "PSI request")
    now = datetime.now(UTC)
    with user_errors():
        request = parse_request(text, str(request_file))
        log = read_log(log_file)
    try:
        check(log, request, peer, Limits(max_request, max_per_day), now)
    except Refused as exc:
        record(log_file, request, peer, f"refused: {exc}", now)
        fail(f"{request_file}: refused (logged in {log_file}): {exc}")
    selection = _select(case_ids, cases_file, db, data_dir, dev, org, world, input_csv,
                        all_identifiers, include_customers, default_region,
                        "answering with")  # fmt: skip
    with user_errors():
        response = respond(request, selection.identifiers, group, size_only=size_only)
    _write(out_file, response.lines())
    record(log_file, request, peer, "answered", now, own=len(response.own))
    out.print(
        f"Answered session {request.session} of {peer} ({response.mode.value}): "
        f"{len(response.replies)} of their values and {len(response.own)} of yours, blinded, "
        f"in {out_file}; logged in {log_file}. Send the file back."
    )


@psi_app.command("finish")
def psi_finish(
    response_file: Path = typer.Option(..., "--response", help="The other member's response."),
    state_file: Path = typer.Option(..., "--state", help="The state `psi request` wrote."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
) -> None:
    """Round 3: the identifiers (or their number) you share with the responder; deletes
    the state, and with it the session's secret."""
    from daybreak.sharing.psi import Mode, finish, parse_response, parse_state

    state_text = _read(state_file, "PSI state")
    response_text = _read(response_file, "PSI response")
    with user_errors():
        state = parse_state(state_text, str(state_file))
        response = parse_response(response_text, str(response_file))
        result = finish(state, response, str(response_file))
    state_file.unlink()
    if result.mode is Mode.SIZE:
        summary = {"in_common": result.size, "mode": "size", "group": result.responder,
                   "requested": result.mine, "theirs": result.theirs}  # fmt: skip
        if as_json:
            typer.echo(json.dumps(summary))
        else:
            out.print(
                f"{result.size} of your {result.mine} identifier(s) are also held by "
                f"{result.responder} (size only: which ones is not revealed; they put in "
                f"{result.theirs})."
            )
    else:
        assert result.common is not None
        _show_common(result.common, result.responder, f"with {result.responder}", as_json)
    err.print(f"Deleted {state_file} (this session's secret).")
