"""Run the payments detector: compile, execute on an engine, score, explain, write.

``scan_frames`` works on in-memory frames; ``scan`` reads files (or a world folder) and
writes ``alerts.jsonl``, ``alerts.parquet``, ``customer_scores.parquet``,
``beneficiary_scores.parquet`` and ``summary.json``. Large Parquet files on DuckDB take
the in-place path (``daybreak.payments.inplace``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from daybreak.detectors.pipeline import Pipeline
from daybreak.engines import Engine, open_engine
from daybreak.model.alerts import Alert
from daybreak.payments.compiler import (
    compile_evidence,
    compile_scan,
    strength_column,
)
from daybreak.payments.config import Curve, Pack, Typology, load_pack
from daybreak.payments.explain import beneficiary_lead, customer_lead, render
from daybreak.payments.inputs import check_against_pack, read_customers, read_transactions
from daybreak.payments.model import TrainedModel

DETECTOR = "payments"
Progress = Callable[[str], None]


@dataclass
class ScanResult:
    alerts: list[Alert]
    customer_scores: pl.DataFrame  # every scored customer with features and score
    beneficiary_scores: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def calibrate(raw: np.ndarray[Any, Any], curve: Curve) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.clip(
        np.interp(raw, np.asarray(curve.x), np.asarray(curve.y)), 0, 1
    )
    return out


def scan_frames(
    transactions: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    pack: Pack | None = None,
    engine: str | Engine = "duckdb",
    model: TrainedModel | None = None,
    source: str = "transactions",
    progress: Progress | None = None,
) -> ScanResult:
    """Score every customer and beneficiary with corridor activity and return alerts."""
    pack = pack or load_pack()
    corridor = check_against_pack(transactions, pack, source)
    eng = open_engine(engine) if isinstance(engine, str) else engine
    try:
        compat = pl.CompatLevel.oldest()
        eng.register("transactions", transactions.to_arrow(compat_level=compat))
        eng.register("customers", customers.to_arrow(compat_level=compat))
        return scan_registered(eng, pack, model, transactions.height, corridor, progress)
    finally:
        if isinstance(engine, str):
            eng.close()


def scan_registered(
    eng: Engine,
    pack: Pack,
    model: TrainedModel | None,
    transactions: int,
    corridor: int | Callable[[], int],
    progress: Progress | None,
    pipeline: Pipeline | None = None,
) -> ScanResult:
    """Run the compiled pipeline (or ``pipeline``, its remaining steps) on an engine
    where its inputs are registered, then score, collect evidence and explain.
    ``corridor`` is the corridor payment count, or a function that counts (and checks)
    it once the pipeline has run."""
    say = progress or (lambda _msg: None)
    say("computing features")
    eng.run(pipeline or compile_scan(pack, eng.dialect))
    if callable(corridor):  # counted by the pipeline itself on the in-place path
        corridor = corridor()
    cust = _sorted(pl.from_arrow(eng.fetch("SELECT * FROM customer_scores")), "sender_id")
    bene = _sorted(pl.from_arrow(eng.fetch("SELECT * FROM beneficiary_scores")), "receiver_id")
    say("scoring")
    cust = _score(cust, pack, "customer", model)
    bene = _score(bene, pack, "beneficiary", model)
    threshold = model.threshold if model else pack.alert_threshold
    alerted = pl.concat(
        [
            cust.filter(pl.col("score") >= threshold).select(
                pl.lit("customer").alias("subject_type"),
                pl.col("sender_id").alias("subject_id"),
            ),
            bene.filter(pl.col("score") >= threshold).select(
                pl.lit("beneficiary").alias("subject_type"),
                pl.col("receiver_id").alias("subject_id"),
            ),
        ]
    )
    say("collecting evidence")
    eng.register("alerted", alerted.to_arrow(compat_level=pl.CompatLevel.oldest()))
    eng.run(compile_evidence(eng.dialect))
    evidence = pl.from_arrow(eng.fetch("SELECT * FROM evidence_rows"))
    assert isinstance(evidence, pl.DataFrame)
    say("explaining")
    version = pack.version + (f"+model:{model.version}" if model else "")
    alerts = _alerts(cust, bene, evidence, pack, threshold, version)
    summary = {
        "detector": DETECTOR,
        "version": version,
        "transactions": transactions,
        "corridor_payments": corridor,
        "customers_scored": cust.height,
        "beneficiaries_scored": bene.height,
        "alerts": len(alerts),
        "customer_alerts": sum(a.subject_type == "customer" for a in alerts),
        "beneficiary_alerts": sum(a.subject_type == "beneficiary" for a in alerts),
        "threshold": threshold,
    }
    return ScanResult(alerts, cust, bene, summary)


def _sorted(frame: pl.DataFrame | pl.Series, key: str) -> pl.DataFrame:
    assert isinstance(frame, pl.DataFrame)
    return frame.sort(key)


def _score(
    frame: pl.DataFrame, pack: Pack, subject: str, model: TrainedModel | None
) -> pl.DataFrame:
    raw = frame["raw_score"].to_numpy() if frame.height else np.zeros(0)
    prob = model.predict(frame, subject) if model is not None else None
    if prob is None:
        prob = calibrate(raw, getattr(pack.calibration, subject))
    return frame.with_columns(pl.Series("score", np.round(prob, 6), dtype=pl.Float64))


def _fired(
    row: dict[str, Any], typologies: Sequence[tuple[Typology, str]]
) -> list[tuple[float, str, str]]:
    """(weighted strength, id, sentence) of each typology that fired, strongest first;
    ``typologies`` pairs each of the subject's typologies with its strength column."""
    out = []
    for t, column in typologies:
        strength = float(row.get(column) or 0.0)
        if t.weight > 0 and strength >= t.fires_at:
            out.append((t.weight * strength, t.id, render(t.explain, row)))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def _alerts(
    cust: pl.DataFrame,
    bene: pl.DataFrame,
    evidence: pl.DataFrame,
    pack: Pack,
    threshold: float,
    version: str,
) -> list[Alert]:
    grouped = (
        evidence.sort(["subject_type", "subject_id", "ts", "txn_id"])
        .group_by(["subject_type", "subject_id"], maintain_order=True)
        .agg(pl.col("txn_id"))
    )
    ev: dict[tuple[str, str], list[str]] = {
        (st, sid): txns for st, sid, txns in grouped.iter_rows()
    }
    alerts = []
    for subject, frame, key, lead in (
        ("customer", cust, "sender_id", customer_lead),
        ("beneficiary", bene, "receiver_id", beneficiary_lead),
    ):
        typologies = [(t, strength_column(t)) for t in pack.typologies_for(subject)]
        for row in frame.filter(pl.col("score") >= threshold).iter_rows(named=True):
            fired = _fired(row, typologies)
            sentences = [lead(row), *(f[2] for f in fired)]
            sid = str(row[key])
            alerts.append(
                Alert(
                    alert_id=_alert_id(subject, sid, version),
                    detector=DETECTOR,
                    subject_type=subject,
                    subject_id=sid,
                    score=float(row["score"]),
                    typologies=tuple(f[1] for f in fired),
                    explanation=" ".join(sentences),
                    evidence_ids=tuple(ev.get((subject, sid), [])),
                    first_seen=_dt(row.get("first_seen")),
                    last_seen=_dt(row.get("last_seen")),
                )
            )
    alerts.sort(key=lambda a: (-a.score, a.subject_type, a.subject_id))
    return alerts


def _alert_id(subject: str, sid: str, version: str) -> str:
    digest = hashlib.sha256(f"{DETECTOR}|{version}|{subject}|{sid}".encode()).hexdigest()
    return f"pay-{digest[:16]}"


def _dt(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def alerts_frame(alerts: Sequence[Alert]) -> pl.DataFrame:
    """The file form of alerts: ``evidence_ids`` is written as ``evidence_txn_ids``."""
    import pyarrow as pa  # type: ignore[import-untyped]

    # Built column by column through Arrow: Polars makes a Series per evidence list.
    text, texts, when = pa.string(), pa.list_(pa.string()), pa.timestamp("us", tz="UTC")
    table = pa.table(
        {
            "alert_id": pa.array([a.alert_id for a in alerts], text),
            "detector": pa.array([a.detector for a in alerts], text),
            "subject_type": pa.array([a.subject_type for a in alerts], text),
            "subject_id": pa.array([a.subject_id for a in alerts], text),
            "score": pa.array([a.score for a in alerts], pa.float64()),
            "typologies": pa.array([list(a.typologies) for a in alerts], texts),
            "explanation": pa.array([a.explanation for a in alerts], text),
            "evidence_txn_ids": pa.array([list(a.evidence_ids) for a in alerts], texts),
            "first_seen": pa.array([a.first_seen for a in alerts], when),
            "last_seen": pa.array([a.last_seen for a in alerts], when),
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def write_results(result: ScanResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frame = alerts_frame(result.alerts)
    frame.write_parquet(out / "alerts.parquet")
    stamps = pl.col("first_seen", "last_seen").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    frame.with_columns(stamps).write_ndjson(out / "alerts.jsonl")
    result.customer_scores.write_parquet(out / "customer_scores.parquet")
    result.beneficiary_scores.write_parquet(out / "beneficiary_scores.parquet")
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", "utf-8")


def find_world_file(world: Path, table: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        candidate = world / f"{table}{ext}"
        if candidate.is_file():
            return candidate
    return None


def scan(
    transactions: Path,
    out: Path | None = None,
    *,
    customers: Path | None = None,
    config: Path | None = None,
    engine: str = "duckdb",
    model_dir: Path | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan files, or a world folder given as ``transactions``; write results to ``out``.

    This is the entry point for ``daybreak payments scan`` and ``daybreak demo``.
    """
    if transactions.is_dir():
        world = transactions
        found = find_world_file(world, "transactions")
        if found is None:
            from daybreak.payments.inputs import PaymentsInputError

            raise PaymentsInputError(f"{world}: no transactions.parquet or transactions.csv")
        transactions = found
        customers = customers or find_world_file(world, "customers")
    pack = load_pack(config)
    model = TrainedModel.load(model_dir) if model_dir else None
    cu = read_customers(customers)
    if engine == "duckdb" and transactions.suffix.lower() in (".parquet", ".pq"):
        from daybreak.payments.inplace import scan_parquet_in_place

        result = scan_parquet_in_place(transactions, cu, pack=pack, model=model, progress=progress)
    else:
        tx = read_transactions(transactions)
        result = scan_frames(
            tx,
            cu,
            pack=pack,
            engine=engine,
            model=model,
            source=str(transactions),
            progress=progress,
        )
    if out is not None:
        (progress or (lambda _msg: None))("writing results")
        write_results(result, out)
    return result
