"""Supervised scoring: gradient boosting over the same features, with a calibrated output.

A model folder holds ``manifest.json`` (features, calibration curves, threshold, the
SHA-256 of each estimator file), ``<subject>.pkl`` (scikit-learn estimators; load only
model folders you trust, the hash guards against accidental change, not attack) and
``MODEL_CARD.md``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from daybreak.payments.features import model_features
from daybreak.payments.inputs import EXIT_CONFIG, PaymentsInputError

MANIFEST = "manifest.json"


@dataclass
class SubjectModel:
    features: list[str]
    estimator: Any
    curve_x: list[float]
    curve_y: list[float]

    def predict(self, frame: pl.DataFrame) -> np.ndarray[Any, Any]:
        if frame.height == 0:
            return np.zeros(0)
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        x = feature_matrix(frame, self.features)
        with threadpool_limits(1):
            raw = self.estimator.predict_proba(x)[:, 1]
        out: np.ndarray[Any, Any] = np.clip(np.interp(raw, self.curve_x, self.curve_y), 0.0, 1.0)
        return out


@dataclass
class TrainedModel:
    version: str
    threshold: float
    subjects: dict[str, SubjectModel] = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame, subject: str) -> np.ndarray[Any, Any] | None:
        m = self.subjects.get(subject)
        return m.predict(frame) if m else None

    def save(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        entries = {}
        for subject, m in self.subjects.items():
            blob = pickle.dumps(m.estimator)
            (out / f"{subject}.pkl").write_bytes(blob)
            entries[subject] = {
                "features": m.features,
                "file": f"{subject}.pkl",
                "sha256": hashlib.sha256(blob).hexdigest(),
                "calibration": {"x": m.curve_x, "y": m.curve_y},
            }
        manifest = {"version": self.version, "threshold": self.threshold, "subjects": entries}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, folder: Path) -> TrainedModel:
        path = folder / MANIFEST
        if not path.is_file():
            raise PaymentsInputError(
                f"{folder}: not a model folder (no {MANIFEST}); create one with "
                "`daybreak payments train`",
                EXIT_CONFIG,
            )
        try:
            manifest = json.loads(path.read_text("utf-8"))
            model = cls(str(manifest["version"]), float(manifest["threshold"]))
            for subject, entry in manifest["subjects"].items():
                blob = (folder / entry["file"]).read_bytes()
                if hashlib.sha256(blob).hexdigest() != entry["sha256"]:
                    raise PaymentsInputError(
                        f"{folder / entry['file']}: checksum differs from {MANIFEST}; "
                        "the model file was changed or corrupted",
                        EXIT_CONFIG,
                    )
                wanted = model_features(subject)
                if entry["features"] != wanted:
                    raise PaymentsInputError(
                        f"{folder}: model was trained on other features than this version "
                        "computes; retrain it",
                        EXIT_CONFIG,
                    )
                model.subjects[subject] = SubjectModel(
                    entry["features"],
                    pickle.loads(blob),  # checksummed file from a folder the user trusts
                    list(entry["calibration"]["x"]),
                    list(entry["calibration"]["y"]),
                )
        except (KeyError, TypeError, ValueError, OSError, pickle.UnpicklingError) as exc:
            if isinstance(exc, PaymentsInputError):
                raise
            raise PaymentsInputError(f"{folder}: unreadable model ({exc})", EXIT_CONFIG) from exc
        return model


def feature_matrix(frame: pl.DataFrame, features: list[str]) -> np.ndarray[Any, Any]:
    cols = [pl.col(f).cast(pl.Float64).fill_null(0.0).fill_nan(0.0) for f in features]
    return frame.select(cols).to_numpy()


def platt_curve(
    scores: np.ndarray[Any, Any], labels: np.ndarray[Any, Any]
) -> tuple[list[float], list[float]]:
    """Platt scaling (logistic regression on the logit of the score), returned as a
    piecewise-linear curve over a grid dense where scores change fastest. Smoother than
    isotonic on small, well-separated label sets, so it does not promise 0 or 1."""
    from sklearn.linear_model import LogisticRegression

    eps = 1e-6
    logit = np.log(np.clip(scores, eps, 1 - eps) / (1 - np.clip(scores, eps, 1 - eps)))
    reg = LogisticRegression(C=1.0).fit(logit.reshape(-1, 1), labels)
    grid_logit = np.linspace(-14.0, 14.0, 57)
    xs = np.concatenate([[0.0], 1 / (1 + np.exp(-grid_logit)), [1.0]])
    ys = reg.predict_proba(np.concatenate([[-20.0], grid_logit, [20.0]]).reshape(-1, 1))[:, 1]
    return [round(float(v), 8) for v in xs], [round(float(v), 6) for v in np.maximum.accumulate(ys)]


def isotonic_curve(
    scores: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    points: int = 40,
    weights: np.ndarray[Any, Any] | None = None,
) -> tuple[list[float], list[float]]:
    """Fit isotonic regression (rows weighted by ``weights``) and return it as a compact
    piecewise-linear curve."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(scores, labels, sample_weight=weights)
    xs = np.unique(np.concatenate([[0.0, 1.0], np.quantile(scores, np.linspace(0, 1, points))]))
    ys = np.maximum.accumulate(iso.predict(xs))
    return [round(float(v), 6) for v in xs], [round(float(v), 6) for v in ys]
