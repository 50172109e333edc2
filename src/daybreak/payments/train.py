"""Train the supervised payments model and write it with a model card.

The model is scikit-learn's HistGradientBoostingClassifier over the same documented
features the typologies read, one model per subject type. Metrics come from 5-fold
out-of-fold predictions; an isotonic curve fitted on those predictions calibrates the
final model (fitted on all rows). The typology score is calibrated the same way and
written as ``rule_calibration.yaml`` to paste into a pack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from daybreak.payments.features import BENEFICIARY_FEATURES, CUSTOMER_FEATURES, model_features
from daybreak.payments.inputs import PaymentsInputError
from daybreak.payments.model import SubjectModel, TrainedModel, feature_matrix, isotonic_curve
from daybreak.payments.scan import ScanResult

MIN_POSITIVES = 5
FOLDS = 5


def _labelled(
    frame: pl.DataFrame, labels: pl.DataFrame, subject: str, key: str, unlabelled: float
) -> pl.DataFrame:
    """Scored subjects with their label and training weight: labelled rows weigh 1,
    scored subjects without a label count as negatives of weight ``unlabelled`` (dropped
    at 0)."""
    lab = labels.filter(pl.col("subject_type") == subject).select(
        pl.col("subject_id").alias(key), pl.col("label").cast(pl.Int64), "scenario"
    )
    # rows in the scan's order whatever the labels' order: the folds (and so the model)
    # depend on it, and Polars keeps no join order unless asked
    joined = frame.join(lab, on=key, how="left", maintain_order="left").with_columns(
        pl.when(pl.col("label").is_null()).then(unlabelled).otherwise(1.0).alias("weight")
    )
    if unlabelled <= 0:
        joined = joined.filter(pl.col("label").is_not_null())
    return joined.with_columns(pl.col("label").fill_null(0), pl.col("scenario").fill_null("(none)"))


def _ap_and_p_at_k(
    y: np.ndarray[Any, Any], s: np.ndarray[Any, Any], total_pos: int
) -> dict[str, float]:
    order = np.lexsort((np.arange(len(s)), -s))
    hits = y[order]
    tp = np.cumsum(hits)
    ranks = np.arange(1, len(hits) + 1)
    ap = float(np.sum((tp / ranks) * hits) / total_pos) if total_pos else float("nan")
    out = {"average_precision": round(ap, 4)}
    for k in (10, 50, total_pos):
        if k and len(hits) >= 1:
            out[f"precision_at_{k}"] = round(float(hits[:k].sum() / k), 4)
    return out


def fit_subject(
    frame: pl.DataFrame, subject: str, total_pos: int, seed: int = 0
) -> tuple[SubjectModel, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = model_features(subject)
    x = feature_matrix(frame, features)
    y = frame["label"].to_numpy().astype(int)
    # unit weights are passed as None: boosting then takes its constant-hessian path,
    # so a model trained on a full label census is the same as before weights existed
    w = _weights(frame) if "weight" in frame.columns else None

    def new() -> Any:
        return HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=10,
            l2_regularization=1.0, random_state=seed,
        )  # fmt: skip

    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    # Small tables: OpenMP threads only add contention (30x slower on a busy 2-core box).
    with threadpool_limits(1):
        return _fit(new, x, y, w, features, frame, total_pos, seed)


def _fit(
    new: Any,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    w: np.ndarray[Any, Any] | None,
    features: list[str],
    frame: pl.DataFrame,
    total_pos: int,
    seed: int,
) -> tuple[SubjectModel, dict[str, Any]]:
    from sklearn.model_selection import StratifiedKFold

    oof = np.zeros(len(y))
    folds = min(FOLDS, int(y.sum()), int(len(y) - y.sum()))
    for train_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        est = new().fit(
            x[train_idx], y[train_idx], sample_weight=None if w is None else w[train_idx]
        )
        oof[test_idx] = est.predict_proba(x[test_idx])[:, 1]
    cx, cy = isotonic_curve(oof, y, weights=w)
    final = new().fit(x, y, sample_weight=w)
    calibrated = np.interp(oof, cx, cy)
    metrics = {
        "rows": len(y),
        "positives_scored": int(y.sum()),
        "positives_total": total_pos,
        "model_oof": _ap_and_p_at_k(y, calibrated, total_pos),
        "typology_score": _ap_and_p_at_k(y, frame["raw_score"].to_numpy(), total_pos),
        "brier_oof": round(float(np.mean((calibrated - y) ** 2)), 4),
    }
    return SubjectModel(features, final, cx, cy), metrics


def train(
    result: ScanResult,
    labels: pl.DataFrame,
    out: Path,
    data_note: str,
    *,
    unlabelled: float = 1.0,
) -> dict[str, Any]:
    """Fit per-subject models on scan features joined to labels; write ``out``.

    ``unlabelled`` is the weight of scored subjects without a label, taken as
    negatives: 1.0 when ``labels`` is a census (a world's truth lists every subject),
    less for analysts' labels, which cover only the subjects someone reviewed."""
    model = TrainedModel(version=datetime.now(UTC).strftime("%Y%m%d%H%M%S"), threshold=0.5)
    report: dict[str, Any] = {}
    rule_curves: dict[str, dict[str, list[float]]] = {}
    for subject, frame, key in (
        ("customer", result.customer_scores, "sender_id"),
        ("beneficiary", result.beneficiary_scores, "receiver_id"),
    ):
        data = _labelled(frame, labels, subject, key, unlabelled)
        total_pos = labels.filter(
            (pl.col("subject_type") == subject) & (pl.col("label") == 1)
        ).height
        positives = int(data["label"].sum()) if data.height else 0
        if positives < MIN_POSITIVES or data.height - positives < MIN_POSITIVES:
            report[subject] = {"skipped": f"only {positives} labelled positives scored"}
            continue
        sub_model, metrics = fit_subject(data, subject, total_pos)
        model.subjects[subject] = sub_model
        report[subject] = metrics
        rx, ry = isotonic_curve(
            data["raw_score"].to_numpy(), data["label"].to_numpy(), weights=_weights(data)
        )
        rule_curves[subject] = {"x": rx, "y": ry}
    if not model.subjects:
        raise PaymentsInputError(
            f"too few labelled positives among scored subjects to train (need {MIN_POSITIVES} "
            "per subject type); use a larger labelled world"
        )
    model.save(out)
    (out / "rule_calibration.yaml").write_text(
        yaml.safe_dump({"calibration": rule_curves}, sort_keys=False), "utf-8"
    )
    (out / "MODEL_CARD.md").write_text(model_card(model, report, data_note), "utf-8")
    return report


def _weights(data: pl.DataFrame) -> np.ndarray[Any, Any] | None:
    weights = data["weight"].to_numpy()
    return None if bool(np.all(weights == 1.0)) else weights


def model_card(model: TrainedModel, report: dict[str, Any], data_note: str) -> str:
    lines = [
        f"# Model card: Daybreak payments model {model.version}",
        "",
        "## What it is",
        "Gradient boosting (scikit-learn HistGradientBoostingClassifier, 150 iterations, 15",
        "leaves, L2 1.0), one model per subject type, over the documented payment features",
        "of `daybreak payments`. Output is calibrated by isotonic regression fitted on",
        f"{FOLDS}-fold out-of-fold predictions. Alert threshold: {model.threshold}.",
        "",
        "## Data",
        data_note,
        "",
        "## Features",
    ]
    for subject, feats in (("customer", CUSTOMER_FEATURES), ("beneficiary", BENEFICIARY_FEATURES)):
        names = model_features(subject)
        lines.append(f"- {subject}: " + ", ".join(f"`{n}`" for n in names if n in feats))
    lines += ["", "## Metrics (out-of-fold; AP counts unscored positives as missed)", ""]
    lines += ["| subject | rows | positives scored / labelled | model AP | model P@10 | "
              "typology-score AP | Brier |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for subject, m in report.items():
        if "skipped" in m:
            lines.append(f"| {subject} | – | – | skipped: {m['skipped']} | | | |")
            continue
        lines.append(
            f"| {subject} | {m['rows']} | {m['positives_scored']} / {m['positives_total']} | "
            f"{m['model_oof']['average_precision']} | {m['model_oof'].get('precision_at_10')} | "
            f"{m['typology_score']['average_precision']} | {m['brier_oof']} |"
        )
    lines += [
        "",
        "## Limits",
        "- Trained on the labelled data above only; synthetic worlds do not carry every",
        "  behaviour of real payers. Re-validate on your own labelled cases before use.",
        "- Only customers and beneficiaries with corridor activity are scored; a payer who",
        "  never pays into a corridor country is out of reach of this model.",
        "- Labels are sparse and noisy; scores are evidence for an analyst, never a finding.",
        "- The estimator files are Python pickles: load only model folders you trust.",
        "- Explanations name the typology evidence, not the model's internal splits.",
        "",
    ]
    return "\n".join(lines)
