"""Backtesting: score alerts against a world's truth labels.

Average precision is computed over the ranked alert list with every labelled positive
in the denominator, so a payer who was never alerted lowers it (a stricter reading than
AP over alerted subjects only). Unlabelled alerted subjects count as false alarms.
Subjects of another crime the labels name (:data:`OTHER_CRIMES`: an extortion ring's
payment handle in a world with ``sextortion_priors``) are neither right nor wrong for
the payments pack: left out of the ranking, and listed under ``other_crimes``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.payments.inputs import PaymentsInputError

DEFAULT_K = (10, 50, 100)
OTHER_CRIMES = ("sextortion_handle",)  # label-0 scenarios that are crimes all the same


@dataclass(frozen=True)
class Scored:
    subject_type: str
    subject_id: str
    score: float


def read_alerts(path: Path) -> list[Scored]:
    if not path.is_file():
        raise PaymentsInputError(f"{path}: file not found")
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path, columns=["subject_type", "subject_id", "score"])
        return [Scored(str(a), str(b), float(c)) for a, b, c in frame.iter_rows()]
    out = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(
                    Scored(str(row["subject_type"]), str(row["subject_id"]), float(row["score"]))
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise PaymentsInputError(
                    f"{path}, line {line_no}: expected a JSON object with subject_type, "
                    f"subject_id and score ({exc})"
                ) from exc
    return out


def read_labels(truth: Path) -> pl.DataFrame:
    path = truth / "labels.csv" if truth.is_dir() else truth
    if not path.is_file():
        raise PaymentsInputError(f"{path}: labels file not found (expected truth/labels.csv)")
    try:
        frame = pl.read_csv(
            path,
            schema_overrides={"subject_id": pl.String, "label": pl.Int64, "scenario": pl.String},
        )
    except pl.exceptions.PolarsError as exc:
        raise PaymentsInputError(f"{path}: unreadable labels ({exc})") from exc
    missing = {"subject_type", "subject_id", "label"} - set(frame.columns)
    if missing:
        raise PaymentsInputError(f"{path}: missing column(s) {sorted(missing)}")
    if "scenario" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("scenario"))
    return frame.with_columns(pl.col("scenario").fill_null("(none)"))


def _ranking_metrics(hits: list[int], positives: int, ks: tuple[int, ...]) -> dict[str, Any]:
    tp = 0
    ap = 0.0
    for rank, hit in enumerate(hits, start=1):
        if hit:
            tp += 1
            ap += tp / rank
    out: dict[str, Any] = {
        "positives": positives,
        "alerts": len(hits),
        "true_alerts": tp,
        "average_precision": round(ap / positives, 4) if positives else None,
        "precision": round(tp / len(hits), 4) if hits else None,
        "recall": round(tp / positives, 4) if positives else None,
    }
    for k in (*ks, positives):
        if k:
            out[f"precision_at_{k}"] = round(sum(hits[:k]) / k, 4)
    return out


def evaluate(
    alerts: list[Scored], labels: pl.DataFrame, ks: tuple[int, ...] = DEFAULT_K
) -> dict[str, Any]:
    truth = {
        (t, i): (int(lab), str(sc))
        for t, i, lab, sc in labels.select(
            "subject_type", "subject_id", "label", "scenario"
        ).iter_rows()
    }
    other = {k for k, (_, scenario) in truth.items() if scenario in OTHER_CRIMES}
    ranked = sorted(
        (a for a in alerts if (a.subject_type, a.subject_id) not in other),
        key=lambda a: (-a.score, a.subject_type, a.subject_id),
    )
    report: dict[str, Any] = {}
    for subject in ("all", "customer", "beneficiary"):
        chosen = [a for a in ranked if subject in ("all", a.subject_type)]
        hits = [int(truth.get((a.subject_type, a.subject_id), (0, ""))[0] == 1) for a in chosen]
        positives = sum(
            1 for (t, _), (lab, _) in truth.items() if lab == 1 and subject in ("all", t)
        )
        report[subject] = _ranking_metrics(hits, positives, ks)
    alerted = {(a.subject_type, a.subject_id) for a in alerts}
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    false_alarm: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    for key, (lab, scenario) in truth.items():
        if key in other:
            continue
        name = f"{key[0]}:{scenario}"
        if lab == 1:
            total[name] += 1
            found[name] += key in alerted
        else:
            negatives[name] += 1
            false_alarm[name] += key in alerted
    report["scenario_recall"] = {
        s: {"found": found[s], "total": total[s], "recall": round(found[s] / total[s], 4)}
        for s in sorted(total)
    }
    report["false_alarms_by_scenario"] = {
        s: {"alerted": false_alarm[s], "total": negatives[s]}
        for s in sorted(negatives)
        if false_alarm[s] or not s.endswith("(none)")
    }
    report["other_crimes"] = {
        "alerted": sum(1 for a in alerts if (a.subject_type, a.subject_id) in other),
        "total": len(other),
    }
    report["unlabelled_alerts"] = sum(
        1 for a in alerts if (a.subject_type, a.subject_id) not in truth
    )
    return report


def evaluate_files(alerts: Path, truth: Path, ks: tuple[int, ...] = DEFAULT_K) -> dict[str, Any]:
    return evaluate(read_alerts(alerts), read_labels(truth), ks)
