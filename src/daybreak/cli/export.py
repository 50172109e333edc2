"""`daybreak export FORMAT`: a case in any registered format (goAML, CyberTipline XML,
STIX 2.1, FollowTheMoney, or a plug-in's; `daybreak export --list` names them).

One subcommand per format is made from its :class:`~daybreak.exporters.ExporterInfo`:
the options every format shares (below) plus the format's own (``--xsd`` for formats
validated against a receiver's schema, ``--profile``, ``--service`` ...).

Every document is validated (FIU/NCMEC XSD, stix2-validator strict, followthemoney
model) before the file is written; an invalid document is never written and the
command exits 1 naming each invalid element.

``--check`` lists what the receiver will miss (:mod:`daybreak.exporters.check`) and
exits 1 when something blocks a real report; alone it writes nothing, with ``--out``
it writes the document only when nothing blocks it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from daybreak.cli.plugin_options import command_from_options
from daybreak.exporters import (
    ExporterInfo,
    ExportError,
    ExportOption,
    ExportValidationError,
    bundle_from_world,
    exporters,
    find_case,
    get_exporter,
    load_cases,
    load_kyc,
    load_org,
)
from daybreak.exporters.check import Finding, check_export, has_blocker
from daybreak.model import DEFAULT_ORG
from daybreak.model.cases import Case

app = typer.Typer(
    help="Export a case in a registered format (goAML, CyberTipline XML, STIX 2.1, "
    "FollowTheMoney or a plug-in's): `daybreak export FORMAT --case ID`.",
    invoke_without_command=True,
)
err = Console(stderr=True, soft_wrap=True)  # paths and element names stay whole
out = Console(soft_wrap=True)

CaseId = typer.Option(..., "--case", help="Id of the case to export.")
OutFile = typer.Option(
    None, "--out", help="File to write (only written when valid); optional with --check."
)
Check = typer.Option(
    False,
    "--check",
    help="List what the receiver will miss (blockers, warnings, info) and exit 1 when "
    "something blocks a real report. Alone it writes nothing; with --out it writes only "
    "when nothing blocks.",
)
CasesFile = typer.Option(None, "--cases", help="Cases as JSON lines (from `daybreak cases build`).")
DbUrl = typer.Option(None, "--db", help="Read the case from the store (SQLAlchemy URL).")
DataDir = typer.Option(
    Path("daybreak-data"), "--data-dir", help="Store folder (SQLite and field key) for --db."
)
Dev = typer.Option(False, "--dev", help="With --db: use the dev field key in --data-dir.")
World = typer.Option(
    Path("world"), "--world", help="World folder with the case's records (`daybreak synth`)."
)
OrgFile = typer.Option(
    None,
    "--org-file",
    envvar="DAYBREAK_ORG",
    help="Reporting organisation settings (YAML; see docs/exports.md). goAML and "
    "CyberTipline need the reporter's identity from it.",
)
TenantOrg = typer.Option(
    DEFAULT_ORG,
    "--org",
    help="With --db: the organisation whose case it is (`daybreak admin orgs list`).",
)
KycFile = typer.Option(
    None, "--kyc", help="The institution's KYC of its customers (JSON lines; docs/exports.md)."
)


def read_cases(
    case_ids: Sequence[str],
    cases_file: Path | None,
    db: str | None,
    data_dir: Path,
    dev: bool,
    actor: str = "cli:export",
    org: str = DEFAULT_ORG,
) -> list[Case]:
    """The named cases from a JSON-lines file or the store, where they are organisation
    ``org``'s (ExportError if one is missing)."""
    if cases_file is not None:
        cases = load_cases(cases_file)
        return [find_case(cases, case_id, str(cases_file)) for case_id in case_ids]
    if db is not None:
        from daybreak.cli._store import known_org, open_store
        from daybreak.store.auth import Actor, Role

        found = []
        with open_store(data_dir, db, dev) as store:
            reader = Actor(actor, Role.ANALYST, org_id=known_org(store, org))
            for case_id in case_ids:
                # Reading through the store puts this read in the audit trail.
                case = store.cases.get(case_id, reader)
                if case is None:
                    raise ExportError(
                        f"case {case_id!r} not found in organisation {org!r} of the store at {db}"
                    )
                found.append(case)
        return found
    raise ExportError("say where the case is: --cases FILE (JSON lines) or --db URL")


def _run(
    fmt: str,
    case_id: str,
    out_file: Path | None,
    cases_file: Path | None,
    db: str | None,
    data_dir: Path,
    dev: bool,
    world: Path,
    org_file: Path | None,
    kyc_file: Path | None,
    check: bool = False,
    org: str = DEFAULT_ORG,
    **options: Any,
) -> None:
    if out_file is None and not check:
        err.print("[red]error:[/red] say where to write the document (--out FILE) or give --check")
        raise typer.Exit(code=2)
    try:
        (case,) = read_cases([case_id], cases_file, db, data_dir, dev, org=org)
        with err.status(f"reading the records of {case_id} from {world}"):
            bundle = bundle_from_world(case, world, org=load_org(org_file), kyc=load_kyc(kyc_file))
        exporter = get_exporter(fmt, **options)
        findings = check_export(fmt, bundle, exporter, options.get("xsd"))
        if check:
            _print_findings(fmt, case_id, findings)
            if out_file is None or has_blocker(findings):
                raise typer.Exit(code=1 if has_blocker(findings) else 0)
        with err.status(f"building and validating against {exporter.validates_against}"):
            data = exporter.render(bundle)
    except ExportValidationError as exc:
        err.print(
            f"[red]invalid:[/red] the {fmt} document for {case_id} does not validate "
            f"against {exc.against}; nothing written to {out_file}"
        )
        for problem in exc.problems[:50]:
            err.print(f"  - {problem}", markup=False, highlight=False)
        if len(exc.problems) > 50:
            err.print(f"  … and {len(exc.problems) - 50} more")
        raise typer.Exit(code=1) from exc
    except ExportError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(code=2) from exc
    if not check:
        for finding in findings:
            if finding.severity != "info":
                err.print(
                    f"[yellow]note:[/yellow] {finding.where}: {finding.message}", highlight=False
                )
    assert out_file is not None  # checked above: without --check, --out is required
    _write(out_file, data)
    out.print(
        f"{out_file}: {fmt} for case {case_id}, {len(data):,} bytes, "
        f"valid against {exporter.validates_against}",
        highlight=False,
    )


def _write(out_file: Path, data: bytes) -> None:
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_file.with_name(out_file.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out_file)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {out_file}: {exc.strerror}")
        raise typer.Exit(code=2) from exc


SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan"}


def _print_findings(fmt: str, case_id: str, findings: list[Finding]) -> None:
    """The findings as one table, grouped by severity (blockers first), and a count."""
    counts = {s: sum(f.severity == s for f in findings) for s in SEVERITY_STYLE}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items())
    if not findings:
        out.print(f"check {fmt} {case_id}: nothing missing", highlight=False)
        return
    table = Table(title=f"check {fmt} {case_id}: {summary}", title_justify="left", expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("where", no_wrap=True)
    table.add_column("what the receiver will miss", overflow="fold")
    for i, finding in enumerate(findings):
        last_of_group = i + 1 == len(findings) or findings[i + 1].severity != finding.severity
        table.add_row(
            f"[{SEVERITY_STYLE[finding.severity]}]{finding.severity}[/]",
            finding.where,
            finding.message,
            end_section=last_of_group,
        )
    out.print(table)
    verdict = "blocked: not a report to send" if counts["blocker"] else "no blocker"
    out.print(f"check {fmt} {case_id}: {summary}; {verdict}", highlight=False)


@app.callback()
def formats(
    ctx: typer.Context,
    list_formats: bool = typer.Option(
        False, "--list", help="List the registered formats (Daybreak's own and plug-ins')."
    ),
) -> None:
    """Export a case in a registered format: `daybreak export FORMAT --case ID --out FILE`."""
    if ctx.invoked_subcommand is not None:
        return
    if not list_formats:
        out.print(ctx.get_help())
        raise typer.Exit(code=0)
    table = Table(title="Export formats", title_justify="left", expand=True)
    for column in ("format", "label", "media type", "file", "options"):
        table.add_column(column, overflow="fold")
    for info in exporters().values():
        flags = [*(["--xsd"] if info.schema else []), *(o.flag for o in info.options)]
        table.add_row(
            info.name, info.label, info.media_type, f"*.{info.name}.{info.suffix}", " ".join(flags)
        )
    out.print(table)


def _schema_option(info: ExporterInfo) -> list[ExportOption]:
    if info.schema is None:
        return []
    return [
        ExportOption(
            "xsd",
            "--xsd",
            info.schema.help or f"{info.schema.what} (validated against).",
            kind="path",
            required=True,
            envvar=info.schema.envvar,
        )
    ]


def _add_format(info: ExporterInfo) -> None:
    """`daybreak export <name>`: the shared options, then the format's own."""

    def run(
        case_id: str,
        out_file: Path | None,
        cases_file: Path | None,
        db: str | None,
        data_dir: Path,
        dev: bool,
        world: Path,
        org_file: Path | None,
        kyc_file: Path | None,
        check: bool,
        org: str,
        **options: Any,
    ) -> None:
        _run(
            info.name, case_id, out_file, cases_file, db, data_dir, dev, world, org_file,
            kyc_file, check, org, **options,
        )  # fmt: skip

    shared = {
        "case_id": (str, CaseId),
        "out_file": (Path | None, OutFile),
        "cases_file": (Path | None, CasesFile),
        "db": (str | None, DbUrl),
        "data_dir": (Path, DataDir),
        "dev": (bool, Dev),
        "world": (Path, World),
        "org_file": (Path | None, OrgFile),
        "kyc_file": (Path | None, KycFile),
        "check": (bool, Check),
        "org": (str, TenantOrg),
    }
    command = command_from_options(run, shared, [*_schema_option(info), *info.options])
    app.command(info.name, help=info.description)(command)


for _info in exporters().values():
    _add_format(_info)
