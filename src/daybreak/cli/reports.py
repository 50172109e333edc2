"""`daybreak reports`: import tipline reports (NCMEC CyberTipline XML) and show the queue."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from daybreak.cli._store import DataDir, DbUrl, Dev, err, open_store
from daybreak.store import SYSTEM, Submission
from daybreak.tipline.ncmec_import import NcmecImportError, import_report

app = typer.Typer(
    help="Import and export tipline reports (NCMEC CyberTipline XML).", no_args_is_help=True
)


@app.command("import")
def import_(
    files: list[Path] = typer.Argument(..., help="CyberTipline <report> XML file(s)."),
    xsd: Path = typer.Option(
        ..., envvar="DAYBREAK_NCMEC_XSD", help="CyberTipline XSD to validate against."
    ),
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
        subs = [
            Submission(r, "cli", "ncmec")
            for _, r in track(parsed, description="importing", console=err)
        ]
        receipts = store.reports.add_many(subs)
    for (path, _), rec in zip(parsed, receipts, strict=True):
        Console().print(f"{path}: {rec.report_id} tier {rec.tier} -> {rec.agency}")


@app.command()
def queue(
    limit: int = typer.Option(20, help="How many clusters to show."),
    data_dir: Path = DataDir,
    db: str | None = DbUrl,
    dev: bool = Dev,
) -> None:
    """The triaged queue: clusters of reports, most urgent first."""
    with open_store(data_dir, db, dev) as store:
        items = store.reports.queue(SYSTEM, limit)
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
