"""The payments detector on an engine it is given: run the compiled pipeline, score,
explain, write.

``scan_registered`` works on an engine where the inputs are registered; opening engines
and reading files is the execution layer's (:mod:`daybreak.engines.payments`: ``scan``,
``scan_frames``). ``write_results`` writes ``alerts.jsonl``, ``alerts.parquet``,
``customer_scores.parquet``, ``beneficiary_scores.parquet`` and ``summary.json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from daybreak.detectors.engine import Engine
from daybreak.detectors.pipeline import Pipeline
from daybreak.model.alerts import Alert
from daybreak.payments.compiler import (
    compile_evidence,
    compile_scan,
    strength_column,
)
from daybreak.payments.config import Curve, Pack, Typology
from daybreak.payments.context import TIE_PAYMENTS
from daybreak.payments.explain import (
    LEAD_FIELDS,
    beneficiary_lead,
    customer_lead,
    fields,
    render_rows,
)
from daybreak.payments.model import TrainedModel

DETECTOR = "payments"
Progress = Callable[[str], None]


@dataclass
class ScanResult:
    alerts_table: pl.DataFrame  # the alerts in file form (ALERT_SCHEMA), strongest first
    customer_scores: pl.DataFrame  # every scored customer with features and score
    beneficiary_scores: pl.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def alerts(self) -> list[Alert]:
        """The alerts as objects, made when first asked for (a scan only writes files)."""
        return alerts_from_table(self.alerts_table)


def calibrate(raw: np.ndarray[Any, Any], curve: Curve) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = np.clip(
        np.interp(raw, np.asarray(curve.x), np.asarray(curve.y)), 0, 1
    )
    return out


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
    threshold = model.threshold if model else pack.alert_threshold
    bene = _capped_by_sole_sender(
        _score(bene, pack, "beneficiary", model), cust, suspect_score(pack, model)
    )
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
    version = pack.version + (f"+model:{model.version}" if model else "")
    # The sentences need no evidence: Python writes them while the engine (which runs
    # without the GIL) collects it, so the two take the time of the longer one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="payments-evidence") as pool:
        evidence = pool.submit(_evidence, eng)
        say("explaining")
        table = _alerts_table(cust, bene, evidence.result, pack, threshold, version)
    summary = {
        "detector": DETECTOR,
        "version": version,
        "transactions": transactions,
        "corridor_payments": corridor,
        "customers_scored": cust.height,
        "beneficiaries_scored": bene.height,
        "alerts": table.height,
        "customer_alerts": int((table["subject_type"] == "customer").sum()),
        "beneficiary_alerts": int((table["subject_type"] == "beneficiary").sum()),
        "threshold": threshold,
    }
    return ScanResult(table, cust, bene, summary)


def _evidence(eng: Engine) -> pl.DataFrame:
    """The evidence rows of the subjects registered as ``alerted``."""
    eng.run(compile_evidence(eng.dialect))
    evidence = pl.from_arrow(eng.fetch("SELECT * FROM evidence_rows"))
    assert isinstance(evidence, pl.DataFrame)
    return evidence


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
    # Through a list: building a Series from a numpy array imports numpy.ma (40-80 ms).
    return frame.with_columns(pl.Series("score", np.round(prob, 6).tolist(), dtype=pl.Float64))


def suspect_score(pack: Pack, model: TrainedModel | None) -> float:
    """The score from which an alerted sole sender raises his beneficiary: a suspect's,
    the pack's ``propagation_threshold`` or the alert threshold when that is higher."""
    return max(model.threshold if model else pack.alert_threshold, pack.propagation_threshold)


def _capped_by_sole_sender(
    bene: pl.DataFrame, cust: pl.DataFrame, suspect: float | None = None
) -> pl.DataFrame:
    """A beneficiary paid by one customer only ranks no higher than that customer, and,
    when that customer is a suspect (score at ``suspect``: the scan passes the pack's
    ``propagation_threshold``, or the alert threshold when that is higher) and tied to
    her without family name, household (unless he splits payments over the household's
    accounts, ``run_share``) or organisation (``sole_sender_tie`` > 0), no
    lower than his score times that tie.

    A facilitator is known by *several* unrelated senders abroad paying one person
    (payments-indicators.md, indicator 2); with one sender, everything the beneficiary
    shows comes from that sender's payments, so it cannot be more suspicious than the
    sender is. Without the cap, one borderline sender (an in-law or gift-giver at 0.6)
    lifted each person he pays to ~0.9 through ``hub_paid_by_alerted``, above
    facilitators paid by many. For the same reason the sender's evidence is hers too:
    the person an alerted payer pays again and again is where his payments go (AIC T&I
    589: more than half paid a facilitator more than once), and her own inbound signs
    (one payer's sums, larger than the low-value cap when he is careful) must not leave
    her below the alert threshold he passed. Only a suspect's: on the development worlds a
    floor from every alerted sender also raised the in-laws of in-law remitters alerted
    at 0.3-0.5 (in-law beneficiaries 2 -> 5 of ~400 in two regions). ``sole_sender_score`` is that customer's
    score (null when several pay or the sender was not scored, and then nothing is
    capped or raised); ``capped_by_sender`` and ``raised_by_sender`` say whether the
    bound moved the score.

    The cap weighs the sender's score by how firmly he is tied to her, as the graph
    weighs every tie (``TIE_PAYMENTS``, the network's ``u``): a beneficiary paid once
    ranks no higher than a third of her only sender's score, from two payments fully.
    One payment to one person is the least a sender's evidence can say about her; on the
    development worlds the in-laws of in-law remitters alerted at 0.25-0.45 followed them
    through ``hub_paid_by_alerted``, several paid once. The floor was already weighted
    so, and the two now meet."""
    sender = cust.select(
        pl.col("sender_id").alias("sole_sender"), pl.col("score").alias("sole_sender_score")
    )
    joined = bene.join(sender, on="sole_sender", how="left", maintain_order="left")
    lo, hi = TIE_PAYMENTS
    paid = pl.col("inbound_payments") if "inbound_payments" in bene.columns else pl.lit(hi)
    bound = (
        pl.col("sole_sender_score") * ((paid.fill_null(hi) - lo) / (hi - lo)).clip(0.0, 1.0)
    ).round(6)
    capped = (pl.col("score") > bound).fill_null(False)
    tie = pl.col("sole_sender_tie") if "sole_sender_tie" in bene.columns else pl.lit(0.0)
    floor = (pl.col("sole_sender_score") * tie.fill_null(0.0)).round(6)
    alerted = pl.col("sole_sender_score") >= (2.0 if suspect is None else suspect)
    raised = (alerted & (floor > pl.col("score"))).fill_null(False)
    return joined.with_columns(
        pl.when(capped)
        .then(bound)
        .when(raised)
        .then(floor)
        .otherwise(pl.col("score"))
        .alias("score"),
        capped.alias("capped_by_sender"),
        raised.alias("raised_by_sender"),
    )


def _fired(
    columns: dict[str, list[Any]], rows: int, typologies: Sequence[tuple[Typology, str]]
) -> list[list[tuple[float, str, str]]]:
    """Per row of ``columns`` (``rows`` of them), the (weighted strength, id, sentence) of
    each typology that fired, strongest first; ``typologies`` pairs each of the
    subject's typologies with its strength column. Set-wise: each typology finds the
    rows it fires on from its strength column and writes its sentence for those rows
    only, one field over all of them at a time (a sentence per row and typology, one
    field at a time, was most of the explaining)."""
    out: list[list[tuple[float, str, str]]] = [[] for _ in range(rows)]
    for t, column in typologies:
        if t.weight <= 0:
            continue
        values = columns.get(column, [None] * rows)
        strengths = [(i, float(v or 0.0)) for i, v in enumerate(values)]
        firing = [(i, s) for i, s in strengths if s >= t.fires_at]
        sentences = render_rows(t.explain, columns, [i for i, _ in firing])
        for (i, strength), sentence in zip(firing, sentences, strict=True):
            out[i].append((t.weight * strength, t.id, sentence))
    for fired in out:
        fired.sort(key=lambda x: (-x[0], x[1]))
    return out


# The file form of alerts (alerts.jsonl / alerts.parquet); ``evidence_txn_ids`` is the
# Alert's ``evidence_ids``. Typology ids ([a-z0-9_]) are collected space-separated and
# split by Polars: building a list Series from Python lists, or converting a pyarrow
# list array (which imports pyarrow.compute), costs more than the rest together.
ALERT_SCHEMA: dict[str, pl.DataType] = {
    "alert_id": pl.String(),
    "detector": pl.String(),
    "subject_type": pl.String(),
    "subject_id": pl.String(),
    "score": pl.Float64(),
    "typologies": pl.List(pl.String()),
    "explanation": pl.String(),
    "evidence_txn_ids": pl.List(pl.String()),
    "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"),
}


def _alerts_table(
    cust: pl.DataFrame,
    bene: pl.DataFrame,
    evidence: Callable[[], pl.DataFrame],
    pack: Pack,
    threshold: float,
    version: str,
) -> pl.DataFrame:
    """Alerts in file form, strongest first. Built column by column: only the sentences
    need Python, and only over the columns they read (building Alert objects and their
    evidence lists for thousands of alerts cost more than most SQL steps). ``evidence``
    gives the evidence rows; it is called once the sentences are written."""
    parts = []
    for subject, frame, key, lead in (
        ("customer", cust, "sender_id", customer_lead),
        ("beneficiary", bene, "receiver_id", beneficiary_lead),
    ):
        typologies = [(t, strength_column(t)) for t in pack.typologies_for(subject)]
        read = {key, *LEAD_FIELDS[subject], "currency"}
        read |= {c for t, c in typologies} | {f for t, _ in typologies for f in fields(t.explain)}
        alerted = frame.filter(pl.col("score") >= threshold)
        columns = alerted.select(sorted(read & set(frame.columns))).to_dict(as_series=False)
        leads = alerted.select(sorted({*LEAD_FIELDS[subject], "currency"} & set(frame.columns)))
        kinds, sentences = [], []
        for fired, row in zip(
            _fired(columns, alerted.height, typologies), leads.iter_rows(named=True), strict=True
        ):
            kinds.append(" ".join(f[1] for f in fired))  # split below: see ALERT_SCHEMA
            sentences.append(" ".join([lead(row), *(f[2] for f in fired)]))
        ids = alerted[key].cast(pl.String)
        parts.append(
            pl.DataFrame(
                {
                    "alert_id": [_alert_id(subject, sid, version) for sid in ids],
                    "detector": [DETECTOR] * alerted.height,
                    "subject_type": [subject] * alerted.height,
                    "subject_id": ids,
                    "score": alerted["score"],
                    "typologies": kinds,
                    "explanation": sentences,
                    "first_seen": alerted["first_seen"],
                    "last_seen": alerted["last_seen"],
                },
                # typed even when no subject is alerted (an empty list has no type)
                schema_overrides={
                    c: pl.String()
                    for c in ("alert_id", "detector", "subject_type", "typologies", "explanation")
                },
            )
        )
    # each subject's ids in time order (the groups' order does not matter: joined by key)
    by_subject = (
        evidence()
        .group_by(["subject_type", "subject_id"])
        .agg(pl.col("txn_id").sort_by(["ts", "txn_id"]).cast(pl.String).alias("evidence_txn_ids"))
    )
    table = (
        pl.concat(parts, how="vertical_relaxed")
        .join(by_subject, on=["subject_type", "subject_id"], how="left")
        .with_columns(
            pl.col("evidence_txn_ids").fill_null([]),
            pl.col("typologies").str.split(" ").list.filter(pl.element() != ""),
        )
        .sort(["score", "subject_type", "subject_id"], descending=[True, False, False])
    )
    return table.select(pl.col(c).cast(t) for c, t in ALERT_SCHEMA.items())


def alerts_from_table(table: pl.DataFrame) -> list[Alert]:
    """Alert objects from the file form."""
    return [
        Alert(
            alert_id=row["alert_id"],
            detector=row["detector"],
            subject_type=row["subject_type"],
            subject_id=row["subject_id"],
            score=row["score"],
            typologies=tuple(row["typologies"]),
            explanation=row["explanation"],
            evidence_ids=tuple(row["evidence_txn_ids"]),
            first_seen=row["first_seen"],
            last_seen=row["last_seen"],
        )
        for row in table.iter_rows(named=True)
    ]


def _alert_id(subject: str, sid: str, version: str) -> str:
    digest = hashlib.sha256(f"{DETECTOR}|{version}|{subject}|{sid}".encode()).hexdigest()
    return f"pay-{digest[:16]}"


def result_files(result: ScanResult) -> dict[str, pl.DataFrame]:
    """The scan's result tables by file name (``.parquet``, or JSON lines with times as
    ISO 8601 text); ``summary.json`` goes beside them."""
    frame = result.alerts_table
    stamps = pl.col("first_seen", "last_seen").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    return {
        "alerts.parquet": frame,
        "alerts.jsonl": frame.with_columns(stamps),
        "customer_scores.parquet": result.customer_scores,
        "beneficiary_scores.parquet": result.beneficiary_scores,
    }


def write_results(result: ScanResult, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    def write(name: str, frame: pl.DataFrame) -> None:
        if name.endswith(".jsonl"):
            frame.write_ndjson(out / name)
        else:
            frame.write_parquet(out / name)

    # Polars writes without holding the GIL: the files are written side by side.
    files = result_files(result)
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        for done in [pool.submit(write, name, frame) for name, frame in files.items()]:
            done.result()
    (out / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n", "utf-8")
