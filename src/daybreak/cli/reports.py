"""`daybreak reports`: import tipline reports (NCMEC CyberTipline XML), show the queue, and
submit a case to NCMEC's CyberTipline (`daybreak reports submit --case ID`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from daybreak.cli._store import DataDir, DbUrl, Dev, Org, err, known_org, open_store
from daybreak.store import Submission
from daybreak.store.auth import operator_in
from daybreak.tipline.ncmec_import import NcmecImportError, import_report

app = typer.Typer(
    help="Import tipline reports (NCMEC CyberTipline XML), show the queue, submit to NCMEC.",
    no_args_is_help=True,
)


@app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="CyberTipline <report> XML file(s)."),
    xsd: Path = typer.Option(
        ..., envvar="DAYBREAK_NCMEC_XSD", help="CyberTipline XSD to validate against."
    ),
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Validate every file first (nothing is stored if any is invalid), then store them."""
    parsed = []
    failed = False
    for path in files:
        try:
            parsed.append((path, import_report(path.read_bytes(), xsd, str(path))))
        except OSError as exc:
            err.print(f"[red]{path}[/red]: cannot read ({exc.strerror})")
            failed = True
        except NcmecImportError as exc:
            for problem in exc.problems:
                err.print(f"[red]{path}[/red]: {problem}")
            failed = True
    if failed:
        err.print("nothing imported")
        raise typer.Exit(code=1)
    with open_store(data_dir, db, dev) as store:
        known_org(store, org)
        subs = [
            Submission(r, "cli", "ncmec", org_id=org)
            for _, r in track(parsed, description="importing", console=err)
        ]
        receipts = store.reports.add_many(subs)
    for (path, _), rec in zip(parsed, receipts, strict=True):
        Console().print(f"{path}: {rec.report_id} tier {rec.tier} -> {rec.agency}")


@app.command()
def queue(
    limit: int = typer.Option(20, help="How many clusters to show."),
    org: str = Org,
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """The triaged queue of --org: clusters of reports, most urgent first."""
    with open_store(data_dir, db, dev) as store:
        items = store.reports.queue(operator_in(known_org(store, org)), limit)
    table = Table("tier", "score", "reports", "live", "country", "agency", "why")
    for c in items:
        table.add_row(
            str(c.tier),
            f"{c.score:.3f}",
            str(c.report_count),
            "LIVE" if c.is_live else "",
            c.country or "?",
            c.agency,
            c.reasons[0] if c.reasons else "",
        )
    Console().print(table)


@app.command()
def submit(
    case_id: str = typer.Option(..., "--case", help="Id of the case (in the store) to report."),
    xsd: Path = typer.Option(
        ..., envvar="DAYBREAK_NCMEC_XSD", help="CyberTipline XSD: the report is validated first."
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        envvar="DAYBREAK_NCMEC_URL",
        help="The CyberTipline Reporting API (https://exttest.cybertip.org/ispws to test, "
        "https://report.cybertip.org/ispws to report).",
    ),
    world: Path = typer.Option(
        Path("world"), "--world", help="World folder with the case's records."
    ),
    org_file: Path | None = typer.Option(
        None, "--org-file", envvar="DAYBREAK_ORG", help="Reporting organisation settings (YAML)."
    ),
    org: str = Org,
    service: str | None = typer.Option(None, "--service", help="Which of the case's services."),
    incident_type: str | None = typer.Option(
        None, "--incident-type", help="The analyst's choice of CyberTipline incident type."
    ),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """Report the case to NCMEC (/status, /submit, /finish; /retract on failure). The step
    reached and NCMEC's report id are stored on the case before each next call: run it
    again after any failure, it resumes and never files the case twice. Credentials:
    DAYBREAK_NCMEC_USERNAME and DAYBREAK_NCMEC_PASSWORD, or DAYBREAK_NCMEC_CREDENTIALS_FILE."""
    from daybreak.connectors.cybertip import (
        CybertipSettings,
        SubmissionRefused,
        submit_case_bundle,
    )
    from daybreak.connectors.cybertip_api import NcmecError
    from daybreak.exporters import ExportError, ExportValidationError, bundle_from_world, load_org
    from daybreak.store.auth import Actor, Role

    settings = CybertipSettings(xsd=xsd, url=endpoint)
    with open_store(data_dir, db, dev) as store:
        actor = Actor("cli:reports-submit", Role.ANALYST, org_id=known_org(store, org))
        try:
            case = store.cases.get(case_id, actor)
            if case is None:
                err.print(f"[red]error:[/red] case {case_id!r} is not in the store")
                raise typer.Exit(code=2)
            bundle = bundle_from_world(case, world, org=load_org(org_file))
            result = submit_case_bundle(
                store, bundle, actor, settings, service=service, incident_type=incident_type
            )
        except ExportValidationError as exc:
            err.print(
                f"[red]invalid:[/red] not sent: the report does not validate against {exc.against}"
            )
            for problem in exc.problems[:50]:
                err.print(f"  - {problem}", markup=False, highlight=False)
            raise typer.Exit(code=1) from exc
        except (SubmissionRefused, ExportError) as exc:
            err.print(f"[red]error:[/red] {exc}", markup=False, highlight=False)
            raise typer.Exit(code=2) from exc
        except NcmecError as exc:
            err.print(f"[red]NCMEC:[/red] {exc}", markup=False, highlight=False)
            raise typer.Exit(code=1) from exc
    done = "already reported earlier" if result.already_finished else "reported"
    Console().print(
        f"case {case_id}: {done}, NCMEC CyberTipline report {result.ncmec_report_id}",
        highlight=False,
    )
