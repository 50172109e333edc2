"""`daybreak payments`: detect payers and facilitators of live-streamed abuse in transactions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from daybreak.cli.common import SPARK_CONF, SPARK_EXCHANGE, SPARK_MASTER, spark_settings, spinner
from daybreak.model import DEFAULT_ORG

app = typer.Typer(
    help="Detect payers and facilitators of live-streamed abuse in transaction data.",
    no_args_is_help=True,
)
out_console = Console()
err_console = Console(stderr=True, soft_wrap=True)

EXIT_ENGINE = 5


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn every expected failure into a clear message and exit code, never a traceback."""
    from daybreak.engines import EngineError
    from daybreak.payments.config import ConfigError
    from daybreak.payments.inputs import EXIT_CONFIG, PaymentsInputError

    try:
        yield
    except ConfigError as exc:
        err_console.print(f"[bold red]Config error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except PaymentsInputError as exc:
        err_console.print(f"[bold red]Input error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(exc.exit_code) from None
    except EngineError as exc:
        err_console.print(f"[bold red]Engine error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_ENGINE) from None
    except ValueError as exc:  # unknown engine name and similar usage mistakes
        err_console.print(f"[bold red]Error[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _progress() -> tuple[Any, Callable[[str], None]]:
    bar = spinner()
    task = bar.add_task("reading inputs")
    return bar, lambda msg: bar.update(task, description=msg)


TX_HELP = (
    "Transactions: CSV or Parquet in the public schema, pacs.008 XML, or a world folder; "
    "with --engine spark also a folder of Parquet part files or a URI the cluster reads "
    "(file:///shared/…, hdfs://…, s3a://…)."
)
OUT_HELP = (
    "Folder for alerts.jsonl etc.; with --engine spark also a URI Spark's executors write "
    "to (file:///shared/…, s3a://…)."
)
MODEL_HELP = (
    "Model folder from `payments train`; with --engine spark also a URI (as train's --out)."
)
TRAIN_OUT_HELP = (
    "Model folder to write; with --engine spark also a URI, written through the cluster's "
    "filesystem API (file:///shared/…, s3a://…, hdfs://…)."
)
CU_HELP = "Customers file (Parquet on Spark: a shared path or a URI, as --transactions)."


@app.command()
def scan(
    transactions: str = typer.Option(..., "--transactions", "-t", help=TX_HELP),
    out: str = typer.Option("results", "--out", "-o", help=OUT_HELP),
    customers: str | None = typer.Option(None, "--customers", "-c", help=CU_HELP),
    config: Path | None = typer.Option(
        None, "--config", help="Typology pack YAML (default: built-in)."
    ),
    engine: str = typer.Option(
        "duckdb", "--engine", help="duckdb (default) or spark (--spark-master)."
    ),
    model: str | None = typer.Option(None, "--model", help=MODEL_HELP),
    spark_master: str | None = SPARK_MASTER,
    spark_conf: list[str] = SPARK_CONF,
    spark_exchange: str | None = SPARK_EXCHANGE,
) -> None:
    """Score customers and beneficiaries; write alerts.jsonl and alerts.parquet to --out."""
    from daybreak.engines.payments import scan as run_scan
    from daybreak.payments.scan import alerts_from_table

    spark = spark_settings(engine, spark_master, spark_conf, spark_exchange)
    with _user_errors():
        bar, say = _progress()
        with bar:
            result = run_scan(transactions, out if "://" in out else Path(out), customers=customers, config=config,
                              engine=engine, model_dir=model, progress=say,
                              spark=spark)  # fmt: skip
    s = result.summary
    out_console.print(
        f"Scanned {s['transactions']:,} transactions ({s['corridor_payments']:,} corridor "
        f"payments): {s['customers_scored']:,} customers and {s['beneficiaries_scored']:,} "
        f"beneficiaries scored, {s['alerts']} alerts "
        f"({s['customer_alerts']} customers, {s['beneficiary_alerts']} beneficiaries)."
    )
    table = Table("score", "subject", "typologies", "explanation", show_lines=False)
    for a in alerts_from_table(result.alerts_table.head(10)):
        table.add_row(f"{a.score:.2f}", f"{a.subject_type} {a.subject_id}",
                      ", ".join(a.typologies[:3]), a.explanation[:120])  # fmt: skip
    if result.alerts_table.height:
        out_console.print(table)
    where = out.rstrip("/") if "://" in out else str(Path(out))
    out_console.print(f"Wrote {where}/alerts.jsonl and {where}/alerts.parquet")


LABELS_HELP = "truth/labels.csv of a labelled world (or use --from-store)."
FROM_STORE_HELP = "Train on analysts' dispositions in the case store (--db) instead of --labels."
DB_HELP = "SQLAlchemy URL of the case store (needs DAYBREAK_FIELD_KEY)."
ORG = typer.Option(
    DEFAULT_ORG, "--org", help="With --db: the organisation whose dispositions these are."
)
UNLABELLED_HELP = (
    "Weight of scored subjects without a label, taken as negatives "
    "(default: 1 with --labels, a census of a world; 0.1 with --from-store)."
)


@app.command()
def train(
    transactions: str = typer.Option(..., "--transactions", "-t", help=TX_HELP),
    labels: Path | None = typer.Option(None, "--labels", help=LABELS_HELP),
    from_store: bool = typer.Option(False, "--from-store", help=FROM_STORE_HELP),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    org: str = ORG,
    unlabelled: float | None = typer.Option(
        None, "--unlabelled-weight", min=0.0, max=1.0, help=UNLABELLED_HELP
    ),
    out: str = typer.Option("model", "--out", "-o", help=TRAIN_OUT_HELP),
    customers: str | None = typer.Option(None, "--customers", "-c", help=CU_HELP),
    config: Path | None = typer.Option(None, "--config", help="Typology pack YAML."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb or spark (--spark-master)."),
    spark_master: str | None = SPARK_MASTER,
    spark_conf: list[str] = SPARK_CONF,
    spark_exchange: str | None = SPARK_EXCHANGE,
) -> None:
    """Train gradient boosting on labelled data; write the model and its model card."""
    from daybreak.engines.payments import need_spark_for_uri, write_model
    from daybreak.engines.payments import scan as run_scan
    from daybreak.payments.active import UNREVIEWED_WEIGHT
    from daybreak.payments.train import train as run_train

    spark = spark_settings(engine, spark_master, spark_conf, spark_exchange)
    with _user_errors():
        need_spark_for_uri("--out", out, spark)
        lab, source = _training_labels(labels, from_store, db, org)
        weight = (
            unlabelled if unlabelled is not None else (UNREVIEWED_WEIGHT if from_store else 1.0)
        )
        bar, say = _progress()
        with bar:
            result = run_scan(transactions, None, customers=customers, config=config,
                              engine=engine, progress=say, spark=spark)  # fmt: skip
            say("training")
            note = (f"{transactions} ({result.summary['transactions']:,} transactions), "
                    f"labels {source} ({lab.height:,} labelled subjects, "
                    f"{int(lab['label'].sum())} positive); scored subjects without a "
                    f"label count as negatives of weight {weight}.")  # fmt: skip
            report = write_model(out, spark, lambda folder: run_train(
                result, lab, folder, note, unlabelled=weight))  # fmt: skip
    for subject, m in report.items():
        if "skipped" in m:
            out_console.print(f"{subject}: skipped ({m['skipped']})")
        else:
            out_console.print(
                f"{subject}: out-of-fold AP {m['model_oof']['average_precision']} "
                f"(typology score {m['typology_score']['average_precision']})"
            )
    where = out.rstrip("/") if "://" in out else str(Path(out))
    out_console.print(f"Wrote {where} (model card: {where}/MODEL_CARD.md)")


def _training_labels(
    labels: Path | None, from_store: bool, db: str | None, org: str = DEFAULT_ORG
) -> tuple[Any, str]:
    """The label table and a note of where it came from."""
    from daybreak.payments.evaluate import read_labels
    from daybreak.payments.inputs import PaymentsInputError

    if from_store == (labels is not None):
        raise PaymentsInputError("give exactly one of --labels FILE and --from-store --db URL")
    if labels is not None:
        return read_labels(labels), str(labels)
    if not db:
        raise PaymentsInputError("--from-store needs --db URL (the case store)")
    from daybreak.payments.active import labels_frame

    stored = _store_labels(db, org)
    frame = labels_frame(stored)
    cases = len({x.case_id for x in stored})
    return frame, f"analysts' dispositions in the case store ({len(stored)} from {cases} case(s))"


def _store_labels(db: str, org: str) -> list[Any]:
    """Every disposition of organisation ``org`` in the store, read as the CLI's
    analyst (audited)."""
    from daybreak.cli._store import known_org, open_store
    from daybreak.cli.cases import cli_analyst

    store = open_store(Path("."), db, dev=False)
    try:
        return store.cases.labels(cli_analyst(None, known_org(store, org)))
    finally:
        store.close()


@app.command("review-next")
def review_next(
    scan_results: Path = typer.Option(
        ..., "--scan-results", help="Folder written by `payments scan --out`."
    ),
    db: str = typer.Option(..., "--db", help=DB_HELP),
    org: str = ORG,
    model: Path | None = typer.Option(None, "--model", help="Model folder (`payments train`)."),
    n: int = typer.Option(20, "-n", min=1, help="How many subjects to propose."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """Propose which unlabelled subjects to review next so the model learns fastest."""
    import polars as pl

    from daybreak.payments.active import STRATEGY, propose
    from daybreak.payments.inputs import PaymentsInputError
    from daybreak.payments.model import TrainedModel

    with _user_errors():
        frames = {}
        for subject in ("customer", "beneficiary"):
            path = scan_results / f"{subject}_scores.parquet"
            if not path.is_file():
                raise PaymentsInputError(
                    f"{path}: not found (expected the folder `daybreak payments scan --out` writes)"
                )
            frames[subject] = pl.read_parquet(path)
        trained = TrainedModel.load(model) if model else None
        labelled = {(x.subject_type, x.subject_id) for x in _store_labels(db, org)}
        threshold = trained.threshold if trained else _scan_threshold(scan_results)
        picks = propose(frames, labelled, n, model=trained, threshold=threshold)
    if as_json:
        for p in picks:
            typer.echo(json.dumps(p.__dict__, ensure_ascii=False))
        return
    out_console.print(STRATEGY)
    out_console.print(
        f"{len(labelled)} subject(s) already labelled (left out); scores from "
        + (f"model {trained.version}" if trained else "the scan (typology pack)")
        + f"; alert threshold {threshold}."
    )
    table = Table("#", "subject", "score", "why")
    for i, p in enumerate(picks, start=1):
        table.add_row(str(i), f"{p.subject_type}:{p.subject_id}", f"{p.score:.2f}", p.reason)
    out_console.print(table)


def _scan_threshold(scan_results: Path) -> float:
    summary = scan_results / "summary.json"
    if summary.is_file():
        return float(json.loads(summary.read_text("utf-8")).get("threshold", 0.5))
    return 0.5


@app.command()
def evaluate(
    alerts: Path = typer.Option(..., "--alerts", help="alerts.jsonl (or alerts.parquet)."),
    truth: Path = typer.Option(..., "--truth", help="A world's truth folder or labels.csv."),
    k: list[int] = typer.Option([10, 50, 100], "--k", help="K for precision at K (repeat)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """Average precision, precision at K, alerted-set precision/recall, per-scenario recall."""
    from daybreak.payments.evaluate import evaluate_files

    with _user_errors():
        report = evaluate_files(alerts, truth, tuple(k))
    if as_json:
        out_console.print_json(json.dumps(report))
        return
    table = Table("subjects", "AP", "precision", "recall", "alerts", "positives",
                  *[f"P@{x}" for x in k])  # fmt: skip
    for subject in ("all", "customer", "beneficiary"):
        r = report[subject]
        table.add_row(subject, str(r["average_precision"]), str(r["precision"]),
                      str(r["recall"]), str(r["alerts"]), str(r["positives"]),
                      *[str(r.get(f"precision_at_{x}")) for x in k])  # fmt: skip
    out_console.print(table)
    sc = Table("scenario (payers and facilitators)", "found", "total", "recall")
    for name, v in report["scenario_recall"].items():
        sc.add_row(name, str(v["found"]), str(v["total"]), str(v["recall"]))
    out_console.print(sc)
    fa = Table("look-alike scenario", "false alarms", "of")
    for name, v in report["false_alarms_by_scenario"].items():
        fa.add_row(name, str(v["alerted"]), str(v["total"]))
    out_console.print(fa)
    out_console.print(f"Unlabelled alerted subjects: {report['unlabelled_alerts']}")


def _add_realtime() -> None:
    from daybreak.cli.payments_realtime import app as realtime

    app.add_typer(realtime, name="realtime")


_add_realtime()
