"""Learning from analysts: their dispositions as labels, and which subjects to review next.

Labels. An analyst's disposition of a case's payments subject (``payer_confirmed``,
``facilitator_confirmed``: 1; ``not_involved``: 0) is a label; when the same subject was
labelled in several cases the latest disposition counts. Analysts review a few
subjects, not all: scored subjects nobody labelled are trained on as negatives of weight
:data:`UNREVIEWED_WEIGHT` (payers are rare among them, so "probably not", but a
reviewed negative weighs ten times more).

Review next (:func:`propose`), a batch of ``n`` subjects nobody labelled, filled in turns:

* **likely**: the highest score, so positives (rare, and what a model cannot be fitted
  without) are found and confirmed early;
* **uncertain**: the score nearest the alert threshold, weighted by how many unlabelled
  subjects look like it (information density, Settles & Craven 2008), so one review
  moves the decision boundary for many.

Both prefer subjects unlike those already labelled or chosen (distance in the model's
feature space, features scaled to their rank), so a batch does not spend ten reviews on
ten near-copies of one pattern. Scores are the model's when one is given (and has a
model for the subject type), else the typology pack's calibrated score from the scan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from daybreak.model.cases import SubjectLabel
from daybreak.payments.features import model_features
from daybreak.payments.model import TrainedModel, feature_matrix

UNREVIEWED_WEIGHT = 0.1
SUBJECT_KEYS = {"customer": "sender_id", "beneficiary": "receiver_id"}
DENSITY_SAMPLE = 2000  # pool members the density of a candidate is measured against
STRATEGY = (
    "Review next: in turns, the most likely unlabelled subject (confirms positives, "
    "which a model needs) and the one nearest the alert threshold that most unlabelled "
    "subjects resemble (its label moves the boundary for all of them); both prefer "
    "subjects unlike those already labelled."
)


def labels_frame(labels: Iterable[SubjectLabel]) -> pl.DataFrame:
    """Analysts' dispositions as a label table (subject_type, subject_id, label,
    scenario = the disposition), the latest disposition per subject."""
    latest: dict[tuple[str, str], SubjectLabel] = {}
    for x in sorted(labels, key=lambda x: x.at):
        latest[(x.subject_type, x.subject_id)] = x
    rows = sorted(latest.values(), key=lambda x: (x.subject_type, x.subject_id))
    return pl.DataFrame(
        {
            "subject_type": [x.subject_type for x in rows],
            "subject_id": [x.subject_id for x in rows],
            "label": [x.label for x in rows],
            "scenario": [x.disposition.value for x in rows],
        },
        schema={
            "subject_type": pl.String,
            "subject_id": pl.String,
            "label": pl.Int64,
            "scenario": pl.String,
        },
    )


@dataclass(frozen=True)
class Proposal:
    subject_type: str
    subject_id: str
    score: float
    kind: str  # likely | uncertain
    look_alikes: int  # unlabelled subjects of the same type within the typical distance
    reason: str


@dataclass
class _Pool:
    """The scored subjects of one type: ids, scores, rank-scaled features, which are
    still free (not labelled, not chosen), each one's distance to the nearest labelled
    or chosen subject, and the typical distance between neighbours (``scale``)."""

    subject_type: str
    ids: list[str]
    scores: np.ndarray[Any, Any]
    x: np.ndarray[Any, Any]
    free: np.ndarray[Any, Any]
    nearest_taken: np.ndarray[Any, Any]
    scale: float
    density: np.ndarray[Any, Any]
    look_alikes: np.ndarray[Any, Any]

    def take(self, row: int) -> None:
        self.free[row] = False
        gap = np.sqrt(((self.x - self.x[row]) ** 2).sum(axis=1))
        self.nearest_taken = np.minimum(self.nearest_taken, gap)


def _rank_scaled(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Each feature replaced by its rank in [0, 1]: distances are not ruled by the
    features with the widest ranges (amounts), and ties (many zeros) stay together."""
    out = np.zeros_like(x, dtype=float)
    for j in range(x.shape[1]):
        values, inverse = np.unique(x[:, j], return_inverse=True)
        out[:, j] = inverse / max(len(values) - 1, 1)
    return out


def _distances(
    x: np.ndarray[Any, Any], rows: np.ndarray[Any, Any], targets: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """Euclidean distances from ``x[rows]`` to ``x[targets]`` (len(rows) x len(targets))."""
    a, b = x[rows], x[targets]
    sq = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2 * a @ b.T
    out: np.ndarray[Any, Any] = np.sqrt(np.maximum(sq, 0.0))
    return out


def _neighbourhood(
    x: np.ndarray[Any, Any], sample: np.ndarray[Any, Any], free: int
) -> tuple[float, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(scale, density, look-alikes) of every row against a sample of free rows: scale
    is the median distance of a sampled subject to its nearest sampled neighbour;
    density the mean Gaussian similarity at that scale; look-alikes the free subjects
    within twice that distance (counted in the sample, scaled to all ``free``)."""
    n = x.shape[0]
    if len(sample) < 2:
        return 1.0, np.ones(n), np.zeros(n, dtype=int)
    own = np.sort(_distances(x, sample, sample), axis=1)[:, 1]
    scale = float(np.median(own)) or float(np.mean(own)) or 1.0
    density, close = np.zeros(n), np.zeros(n)
    for start in range(0, n, 1024):
        rows = np.arange(start, min(start + 1024, n))
        d = _distances(x, rows, sample)
        density[rows] = np.exp(-((d / scale) ** 2) / 2).mean(axis=1)
        close[rows] = (d <= 2 * scale).sum(axis=1)
    look_alikes = np.rint(close * free / len(sample)).astype(int)
    return scale, density / max(float(density.max()), 1e-12), look_alikes


def _pool(
    subject_type: str,
    frame: pl.DataFrame,
    scores: np.ndarray[Any, Any],
    labelled: Collection[tuple[str, str]],
    rng: np.random.Generator,
) -> _Pool:
    ids = frame[SUBJECT_KEYS[subject_type]].cast(pl.String).to_list()
    feats = [f for f in model_features(subject_type) if f in frame.columns]
    x = _rank_scaled(feature_matrix(frame, feats))
    free = np.array([(subject_type, i) not in labelled for i in ids], dtype=bool)
    free_rows = np.flatnonzero(free)
    sample = (
        np.sort(rng.choice(free_rows, DENSITY_SAMPLE, replace=False))
        if len(free_rows) > DENSITY_SAMPLE
        else free_rows
    )
    scale, density, look_alikes = _neighbourhood(x, sample, len(free_rows))
    pool = _Pool(subject_type, ids, scores, x, free, np.full(len(ids), np.inf), scale,
                 density, look_alikes)  # fmt: skip
    for row in np.flatnonzero(~free):
        pool.take(int(row))
    return pool


def _criterion(pool: _Pool, kind: str, threshold: float) -> np.ndarray[Any, Any]:
    """How much reviewing each free subject is worth now (-inf for the others)."""
    near = np.minimum(pool.nearest_taken, 1e12)  # nothing taken yet: as good as new
    novelty = near / (near + pool.scale)
    if kind == "likely":
        value = pool.scores * novelty
    else:
        closeness = 1 - np.abs(pool.scores - threshold) / max(threshold, 1 - threshold)
        value = closeness * pool.density * novelty
    out: np.ndarray[Any, Any] = np.where(pool.free, value, -np.inf)
    return out


def _reason(pool: _Pool, row: int, kind: str, threshold: float) -> str:
    score = float(pool.scores[row])
    like = int(pool.look_alikes[row])
    if kind == "likely":
        return (
            f"likely positive: score {score:.2f}, the highest among unlabelled "
            f"{pool.subject_type}s not resembling one already labelled or proposed"
        )
    return (
        f"uncertain: score {score:.2f} is near the alert threshold {threshold:.2f}, and "
        f"{like} unlabelled {pool.subject_type}(s) resemble it: its label teaches the "
        "model about all of them"
    )


def subject_scores(
    frame: pl.DataFrame, subject_type: str, model: TrainedModel | None
) -> np.ndarray[Any, Any]:
    """The model's score of each row when it has a model for the type, else the scan's."""
    predicted = model.predict(frame, subject_type) if model is not None else None
    if predicted is not None:
        return predicted
    out: np.ndarray[Any, Any] = frame["score"].cast(pl.Float64).fill_null(0.0).to_numpy()
    return out


def propose(
    frames: dict[str, pl.DataFrame],
    labelled: Collection[tuple[str, str]],
    n: int,
    *,
    model: TrainedModel | None = None,
    threshold: float = 0.5,
    seed: int = 0,
) -> list[Proposal]:
    """Up to ``n`` unlabelled subjects to review next (see the module docstring).

    ``frames`` maps a subject type (customer, beneficiary) to its scan scores (the
    scan's ``customer_scores``/``beneficiary_scores``: features and ``score``);
    ``labelled`` holds (subject_type, subject_id) of subjects that already carry a label.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    rng = np.random.default_rng(seed)
    pools = [
        _pool(t, frame, subject_scores(frame, t, model), labelled, rng)
        for t, frame in sorted(frames.items())
        if frame.height
    ]
    out: list[Proposal] = []
    for turn in range(n):
        kind = "likely" if turn % 2 == 0 else "uncertain"
        best: tuple[float, int, int] | None = None
        for p_index, pool in enumerate(pools):
            if not pool.free.any():
                continue
            values = _criterion(pool, kind, threshold)
            row = int(np.argmax(values))  # first of equals: rows are sorted by id
            if best is None or values[row] > best[0]:
                best = (float(values[row]), p_index, row)
        if best is None:
            break
        _, p_index, row = best
        pool = pools[p_index]
        pool.take(row)
        out.append(
            Proposal(
                pool.subject_type,
                pool.ids[row],
                round(float(pool.scores[row]), 6),
                kind,
                int(pool.look_alikes[row]),
                _reason(pool, row, kind, threshold),
            )
        )
    return out
