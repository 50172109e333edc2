"""`daybreak cases`: Build and list cases from alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from daybreak.cli.common import SPARK_CONF, SPARK_EXCHANGE, SPARK_MASTER, fail, out, spinner
from daybreak.cli.graph import BACKEND, WORLD_HELP, user_errors, world_graph
from daybreak.model import DEFAULT_ORG

if TYPE_CHECKING:
    from daybreak.store import Actor, TiplineStore

app = typer.Typer(help="Build and list cases from alerts.", no_args_is_help=True)

OUT_HELP = "Folder holding cases.jsonl (written when no --db is given, and always kept)."
DB_HELP = "SQLAlchemy URL of the case store (needs DAYBREAK_FIELD_KEY); else cases.jsonl."
ORG = typer.Option(DEFAULT_ORG, "--org", help="With --db: the organisation whose cases these are.")


def _store(out_dir: Path, db: str) -> TiplineStore:
    from daybreak.cli._store import open_store

    return open_store(out_dir, db, dev=False)


@app.command()
def build(
    world: str = typer.Option(..., "--world", "-w", help=WORLD_HELP),
    alerts: list[Path] = typer.Option(
        [], "--alerts", "-a", help="alerts.jsonl/.parquet of any detector (repeatable)."
    ),
    out_dir: Path = typer.Option(Path("cases"), "--out", "-o", help=OUT_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    media_matches: Path | None = typer.Option(
        None, "--media-matches", help="Media matches (sighting_id, account_id, bank, distance)."
    ),
    reports: bool = typer.Option(
        True, "--reports/--no-reports", help="Turn the world's tipline reports into alerts."
    ),
    probabilistic: bool = typer.Option(
        True, "--probabilistic/--exact-only", help="Use splink same-person links."
    ),
    backend: str = BACKEND,
    spark_master: str | None = SPARK_MASTER,
    spark_conf: list[str] = SPARK_CONF,
    spark_exchange: str | None = SPARK_EXCHANGE,
    org: str = ORG,
) -> None:
    """Group alerts into cases by entity cluster; re-runs update existing cases."""

    from daybreak.graph.files import read_alerts, read_media_matches
    from daybreak.graph.files import write_cases as write_file
    from daybreak.graph.pipeline import MIN_SAME_PERSON, build_cases
    from daybreak.schema.results import CASES_FILE, read_cases

    with user_errors():
        loaded = [a for p in alerts for a in read_alerts(p)]
        matches = read_media_matches(media_matches) if media_matches else []
        store = _store(out_dir, db) if db else None
        existing = (
            store.cases.query(_system(org))
            if store is not None
            else read_cases(out_dir / CASES_FILE, missing_ok=True)
        )
        with spinner() as bar:
            bar.add_task(f"building cases from {len(loaded)} alert(s)")
            graph = world_graph(world, probabilistic, MIN_SAME_PERSON, backend,
                                spark_master, spark_conf, spark_exchange)  # fmt: skip
            cases = build_cases(
                Path(world),
                loaded,
                media_matches=matches,
                include_reports=reports,
                existing=existing,
                probabilistic=probabilistic,
                world_graph=graph,
            )
        if store is not None:
            created, updated = store.cases.upsert(cases, _system(org))
            out.print(f"Store: {created} case(s) created, {updated} updated.")
        everything = write_file(out_dir / CASES_FILE, cases)
    known = {c.case_id for c in existing}
    new = sum(c.case_id not in known for c in cases)
    out.print(
        f"{len(cases)} case(s) from this run ({new} new, {len(cases) - new} updated); "
        f"{len(everything)} in {out_dir / CASES_FILE}"
    )


def _system(org: str = DEFAULT_ORG) -> Actor:
    """The operator, working on ``org``'s cases."""
    from daybreak.store.auth import operator_in

    return operator_in(org)


@app.command("list")
def list_cases(
    out_dir: Path = typer.Option(Path("cases"), "--out", "-o", help=OUT_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
    limit: int = typer.Option(50, min=1, help="Show at most this many cases."),
    min_priority: float = typer.Option(0.0, min=0.0, max=1.0, help="Hide lower priorities."),
    include_closed: bool = typer.Option(False, help="Also list closed and merged cases."),
    org: str = ORG,
) -> None:
    """Cases, highest priority first."""
    from daybreak.model.cases import CaseStatus
    from daybreak.schema.results import CASES_FILE, read_cases

    with user_errors():
        if db:
            cases = _store(out_dir, db).cases.query(_system(org))
        else:
            path = out_dir / CASES_FILE
            if not path.is_file():
                fail(f"{path}: not found (run `daybreak cases build --out {out_dir}` first)")
            cases = read_cases(path)
    shown = [
        c
        for c in sorted(cases, key=lambda c: (-c.priority, c.case_id))
        if c.priority >= min_priority and (include_closed or c.status is not CaseStatus.CLOSED)
    ][:limit]
    if as_json:
        for c in shown:
            row = {
                "id": c.case_id,
                "priority": c.priority,
                "tier": int(c.tier),
                "status": c.status.value,
                "title": c.title,
                "sources": c.sources,
                "alerts": len(c.alert_ids),
                "entities": len(c.entity_keys),
                "explanation": c.explanation,
            }
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"{len(shown)} case(s)")
    for col in ("id", "priority", "tier", "status", "sources", "entities", "title"):
        table.add_column(col)
    for c in shown:
        table.add_row(
            c.case_id,
            f"{c.priority:.2f}",
            str(int(c.tier)),
            c.status.value,
            ", ".join(c.sources),
            str(len(c.entity_keys)),
            c.title,
        )
    out.print(table)


@app.command()
def evaluate(
    world: Path = typer.Option(..., "--world", "-w", help="World folder with truth/links.csv."),
    out_dir: Path = typer.Option(Path("cases"), "--out", "-o", help=OUT_HELP),
) -> None:
    """Purity and completeness of the cases against the world's truth links."""
    from daybreak.graph.pipeline import evaluate_against_truth
    from daybreak.schema.results import CASES_FILE, read_cases

    with user_errors():
        result = evaluate_against_truth(world, read_cases(out_dir / CASES_FILE, missing_ok=True))
    typer.echo(json.dumps(result.as_dict(), indent=2))


ANALYST_HELP = "Who records the labels (default: cli:<login name>); written to the audit log."
SUBJECT_HELP = (
    "A payments subject of the case, customer:ID or beneficiary:ID (repeatable), or "
    "'all' for every payments subject of the case."
)
LABEL_HELP = "payer_confirmed (customers), facilitator_confirmed (beneficiaries) or not_involved."


def cli_analyst(name: str | None, org: str = DEFAULT_ORG) -> Actor:
    """The analyst a CLI command acts as (role analyst), in organisation ``org``."""
    import getpass

    from daybreak.store import Actor, Role

    return Actor(name or f"cli:{getpass.getuser()}", Role.ANALYST, org_id=org)


@app.command()
def label(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    case_id: str = typer.Option(..., "--case", help="Case id."),
    subjects: list[str] = typer.Option(..., "--subject", help=SUBJECT_HELP),
    disposition: str = typer.Option(..., "--label", help=LABEL_HELP),
    analyst: str | None = typer.Option(None, "--analyst", help=ANALYST_HELP),
    org: str = ORG,
) -> None:
    """Record an analyst's disposition of a case's payments subjects: the labels
    `daybreak payments train --from-store` learns from. A case's outcome never labels
    its subjects by itself: say what each subject was, or `--subject all`."""
    from daybreak.cli._store import known_org
    from daybreak.model.cases import Disposition
    from daybreak.store import NotFound, PermissionDenied, WorkflowError
    from daybreak.store.labels import payments_subjects

    try:
        chosen = Disposition(disposition)
    except ValueError:
        fail(f"--label {disposition!r}: expected one of {', '.join(d.value for d in Disposition)}")
    store = _store(Path("."), db)
    try:
        actor = cli_analyst(analyst, known_org(store, org))
        if "all" in subjects:
            case = store.cases.get(case_id, actor)
            if case is None:
                fail(f"no case {case_id!r} in the store")
            pairs = payments_subjects(case)
            if not pairs:
                fail(f"case {case_id} has no payments alerts to label")
        else:
            pairs = [_subject(s) for s in subjects]
        for pair in pairs:
            store.cases.record_disposition(case_id, pair, chosen, actor)
    except NotFound:
        fail(f"no case {case_id!r} in the store")
    except (WorkflowError, PermissionDenied) as exc:
        fail(str(exc))
    finally:
        store.close()
    for subject_type, subject_id in pairs:
        out.print(f"{case_id}: {subject_type}:{subject_id} labelled {chosen.value} by {actor.name}")


def _subject(text: str) -> tuple[str, str]:
    subject_type, sep, subject_id = text.partition(":")
    if not sep or subject_type not in ("customer", "beneficiary") or not subject_id:
        fail(f"--subject {text!r}: expected customer:ID, beneficiary:ID or all")
    return subject_type, subject_id
