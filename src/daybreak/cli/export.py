"""`daybreak export`: a case as goAML, CyberTipline XML, STIX 2.1 or FollowTheMoney.

Every document is validated (FIU/NCMEC XSD, stix2-validator strict, followthemoney
model) before the file is written; an invalid document is never written and the
command exits 1 naming each invalid element.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from daybreak.exporters import (
    ExportError,
    ExportValidationError,
    bundle_from_world,
    find_case,
    get_exporter,
    load_cases,
    load_kyc,
    load_org,
)
from daybreak.exporters.xsd import RegexDialect
from daybreak.model.cases import Case

app = typer.Typer(
    help="Export a case as goAML, CyberTipline XML, STIX 2.1 or FollowTheMoney.",
    no_args_is_help=True,
)
err = Console(stderr=True, soft_wrap=True)  # paths and element names stay whole
out = Console(soft_wrap=True)

CaseId = typer.Option(..., "--case", help="Id of the case to export.")
OutFile = typer.Option(..., "--out", help="File to write (only written when valid).")
CasesFile = typer.Option(None, "--cases", help="Cases as JSON lines (from `daybreak cases build`).")
DbUrl = typer.Option(None, "--db", help="Read the case from the store (SQLAlchemy URL).")
DataDir = typer.Option(
    Path("daybreak-data"), "--data-dir", help="Store folder (SQLite and field key) for --db."
)
Dev = typer.Option(False, "--dev", help="With --db: use the dev field key in --data-dir.")
World = typer.Option(
    Path("world"), "--world", help="World folder with the case's records (`daybreak synth`)."
)
Org = typer.Option(
    None,
    "--org",
    envvar="DAYBREAK_ORG",
    help="Reporting organisation settings (YAML; see docs/exports.md). goAML and "
    "CyberTipline need the reporter's identity from it.",
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
) -> list[Case]:
    """The named cases from a JSON-lines file or the store (ExportError if one is missing)."""
    if cases_file is not None:
        cases = load_cases(cases_file)
        return [find_case(cases, case_id, str(cases_file)) for case_id in case_ids]
    if db is not None:
        from daybreak.cli._store import open_store
        from daybreak.store.auth import Actor, Role

        found = []
        with open_store(data_dir, db, dev) as store:
            for case_id in case_ids:
                # Reading through the store puts this read in the audit trail.
                case = store.get_case(case_id, Actor(actor, Role.ANALYST))
                if case is None:
                    raise ExportError(f"case {case_id!r} not found in the store at {db}")
                found.append(case)
        return found
    raise ExportError("say where the case is: --cases FILE (JSON lines) or --db URL")


def _run(
    fmt: str,
    case_id: str,
    out_file: Path,
    cases_file: Path | None,
    db: str | None,
    data_dir: Path,
    dev: bool,
    world: Path,
    org_file: Path | None,
    kyc_file: Path | None,
    **options: Any,
) -> None:
    try:
        (case,) = read_cases([case_id], cases_file, db, data_dir, dev)
        with err.status(f"reading the records of {case_id} from {world}"):
            bundle = bundle_from_world(case, world, org=load_org(org_file), kyc=load_kyc(kyc_file))
        exporter = get_exporter(fmt, **options)
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
    for note in exporter.notes(bundle):
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_file.with_name(out_file.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out_file)
    except OSError as exc:
        err.print(f"[red]error:[/red] cannot write {out_file}: {exc.strerror}")
        raise typer.Exit(code=2) from exc
    out.print(
        f"{out_file}: {fmt} for case {case_id}, {len(data):,} bytes, "
        f"valid against {exporter.validates_against}",
        highlight=False,
    )


@app.command()
def goaml(
    case_id: str = CaseId,
    out_file: Path = OutFile,
    xsd: Path = typer.Option(
        ..., "--xsd", envvar="DAYBREAK_GOAML_XSD", help="The FIU's goAML XSD (validated against)."
    ),
    profile: str | None = typer.Option(
        None,
        "--profile",
        help="FIU profile: built-in name (uae-5.0.2, srilanka-2.0) or YAML file. "
        "Default: the built-in profile whose codes the XSD accepts.",
    ),
    regex_dialect: RegexDialect = typer.Option(
        RegexDialect.AUTO,
        "--regex-dialect",
        help="How to read '^...$' patterns in the XSD: auto (as the goAML portal does when "
        "present), xsd (strict W3C: literal characters) or ecmascript.",
    ),
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    world: Path = World,
    org_file: Path | None = Org,
    kyc_file: Path | None = KycFile,
) -> None:
    """goAML STR/SAR XML for a financial intelligence unit."""
    _run(
        "goaml", case_id, out_file, cases_file, db, data_dir, dev, world, org_file, kyc_file,
        xsd=xsd, profile=profile, regex_dialect=regex_dialect,
    )  # fmt: skip


@app.command()
def cybertip(
    case_id: str = CaseId,
    out_file: Path = OutFile,
    xsd: Path = typer.Option(
        ..., "--xsd", envvar="DAYBREAK_NCMEC_XSD", help="NCMEC's cybertipline_report.xsd."
    ),
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    world: Path = World,
    org_file: Path | None = Org,
    kyc_file: Path | None = KycFile,
    incident_type: str | None = typer.Option(
        None,
        "--incident-type",
        help="The analyst's CyberTipline incident type (one of the XSD's values); "
        "needed when no report category maps to one.",
    ),
    service: str | None = typer.Option(
        None,
        "--service",
        help="Which of the case's services to report (one report per service); "
        "default: the one with the most evidence (the others are listed as notes).",
    ),
    prior_report: list[int] = typer.Option(
        [], "--prior-report", help="An earlier CyberTipline report id about the reported user."
    ),
) -> None:
    """NCMEC CyberTipline <report> XML: the case's tipline reports and known-hash matches."""
    _run(
        "cybertip",
        case_id,
        out_file,
        cases_file,
        db,
        data_dir,
        dev,
        world,
        org_file,
        kyc_file,
        xsd=xsd,
        incident_type=incident_type,
        service=service,
        prior_reports=prior_report,
    )


@app.command()
def stix(
    case_id: str = CaseId,
    out_file: Path = OutFile,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    world: Path = World,
    org_file: Path | None = Org,
    kyc_file: Path | None = KycFile,
) -> None:
    """STIX 2.1 bundle (identity, observables, indicators, sightings, grouping, TLP)."""
    _run("stix", case_id, out_file, cases_file, db, data_dir, dev, world, org_file, kyc_file)


@app.command()
def ftm(
    case_id: str = CaseId,
    out_file: Path = OutFile,
    cases_file: Path | None = CasesFile,
    db: str | None = DbUrl,
    data_dir: Path = DataDir,
    dev: bool = Dev,
    world: Path = World,
    org_file: Path | None = Org,
    kyc_file: Path | None = KycFile,
) -> None:
    """FollowTheMoney entities as JSON lines (loadable into OpenAleph)."""
    _run("ftm", case_id, out_file, cases_file, db, data_dir, dev, world, org_file, kyc_file)
