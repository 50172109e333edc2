"""Cold-start curves: how fast the payments model learns from an analyst's labels.

    .venv/bin/python benchmarks/payments_cold_start.py --customers 3000 --months 6

A labelled pool world is scanned; a simulated analyst labels its scored subjects
(customers and beneficiaries, the truth label as the disposition) in batches up to 10,
25, 50, 100 and 200 labels, chosen (a) at random (averaged over ``--repeats`` draws) or
(b) by ``review-next`` (:func:`daybreak.payments.active.propose`, re-run with the model
refitted after every batch). After each batch the model is refitted exactly as
``daybreak payments train --from-store`` does (reviewed labels, unreviewed subjects as
weak negatives) and scores the held-out worlds (other seeds and profiles, never seen).
Printed: average precision over the held-out worlds' customers (every scored customer
ranked, unscored payers counted as missed). "pack" means too few labels to fit a model
(fewer than 5 positives and 5 negatives of a subject type): the typology pack scores.

Last, the model is trained on the truth labels of a random half of the subjects of a
larger world (``--half-customers``, same profile and seed as the pool) and scores the
other half (customers the model never saw labelled) and the
held-out worlds: the "half a world's labels" target (AP >= 0.97).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from daybreak.engines.payments import ScanResult, scan_frames
from daybreak.payments.active import UNREVIEWED_WEIGHT, propose, subject_scores
from daybreak.payments.evaluate import Scored, evaluate
from daybreak.payments.inputs import PaymentsInputError
from daybreak.payments.model import TrainedModel
from daybreak.payments.train import train
from daybreak.synth import generate_world

KEYS = {"customer": "sender_id", "beneficiary": "receiver_id"}


@dataclass
class Scanned:
    name: str
    result: ScanResult
    labels: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {
            "customer": self.result.customer_scores,
            "beneficiary": self.result.beneficiary_scores,
        }


def scanned(spec: str, customers: int, months: int) -> Scanned:
    profile, seed = spec.split(":")
    world = generate_world(customers, months, int(seed), profile)
    labels = world.labels.select(
        "subject_type", "subject_id", pl.col("label").cast(pl.Int64), "scenario"
    )
    return Scanned(spec, scan_frames(world.transactions, world.customers), labels)


def customer_ap(world: Scanned, model: TrainedModel | None, keep: set[str] | None = None) -> float:
    """AP over the world's customers (only ``keep`` when given), ranked by ``model``
    (else by the pack's score from the scan)."""
    frame = world.result.customer_scores
    labels = world.labels.filter(pl.col("subject_type") == "customer")
    if keep is not None:
        frame = frame.filter(pl.col("sender_id").is_in(keep))
        labels = labels.filter(pl.col("subject_id").is_in(keep))
    scores = subject_scores(frame, "customer", model)
    alerts = [
        Scored("customer", i, float(s)) for i, s in zip(frame["sender_id"], scores, strict=True)
    ]
    ap = evaluate(alerts, labels)["customer"]["average_precision"]
    return float(ap) if ap is not None else float("nan")


def fit(pool: Scanned, labels: pl.DataFrame, unlabelled: float) -> TrainedModel | None:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            train(pool.result, labels, Path(tmp), "cold-start benchmark", unlabelled=unlabelled)
        except PaymentsInputError:
            return None  # too few positives: the pack scores
        return TrainedModel.load(Path(tmp))


def truth_of(pool: Scanned) -> dict[tuple[str, str], int]:
    return {
        (t, i): int(lab)
        for t, i, lab in pool.labels.select("subject_type", "subject_id", "label").iter_rows()
    }


def as_labels(chosen: list[tuple[str, str]], truth: dict[tuple[str, str], int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "subject_type": [t for t, _ in chosen],
            "subject_id": [i for _, i in chosen],
            "label": [truth.get(s, 0) for s in chosen],
            "scenario": ["analyst" for _ in chosen],
        },
        schema={
            "subject_type": pl.String,
            "subject_id": pl.String,
            "label": pl.Int64,
            "scenario": pl.String,
        },
    )


def scored_subjects(pool: Scanned) -> list[tuple[str, str]]:
    return [(t, str(i)) for t, frame in sorted(pool.frames().items()) for i in frame[KEYS[t]]]


def curve(
    pool: Scanned, held: list[Scanned], steps: list[int], strategy: str, seed: int
) -> list[dict[str, Any]]:
    truth = truth_of(pool)
    everyone = scored_subjects(pool)
    rng = np.random.default_rng(seed)
    order = [everyone[i] for i in rng.permutation(len(everyone))]
    chosen: list[tuple[str, str]] = []
    model: TrainedModel | None = None
    rows = []
    for target in steps:
        need = min(target, len(everyone)) - len(chosen)
        if strategy == "random":
            chosen += order[len(chosen) : len(chosen) + need]
        elif need > 0:
            picks = propose(pool.frames(), set(chosen), need, model=model, seed=seed)
            chosen += [(p.subject_type, p.subject_id) for p in picks]
        labels = as_labels(chosen, truth)
        model = fit(pool, labels, UNREVIEWED_WEIGHT)
        rows.append(
            {
                "labels": len(chosen),
                "positives": int(labels["label"].sum()),
                "fitted": model is not None and "customer" in model.subjects,
                "ap": [customer_ap(w, model) for w in held],
            }
        )
    return rows


def half_labels(
    pool: Scanned, held: list[Scanned], seed: int
) -> list[tuple[float, float, list[float]]]:
    """(unreviewed weight, AP on the pool's other half, APs on the held-out worlds)."""
    customers = pool.labels.filter(pl.col("subject_type") == "customer")["subject_id"].to_list()
    rng = np.random.default_rng(seed)
    half = set(rng.choice(customers, len(customers) // 2, replace=False).tolist())
    others = set(customers) - half
    receivers = pool.labels.filter(pl.col("subject_type") == "beneficiary")["subject_id"].to_list()
    half_b = set(rng.choice(receivers, len(receivers) // 2, replace=False).tolist())
    labels = pool.labels.filter(
        ((pl.col("subject_type") == "customer") & pl.col("subject_id").is_in(half))
        | ((pl.col("subject_type") == "beneficiary") & pl.col("subject_id").is_in(half_b))
    )
    out = []
    for weight in (UNREVIEWED_WEIGHT, 1.0):
        model = fit(pool, labels, weight)
        out.append(
            (weight, customer_ap(pool, model, others), [customer_ap(w, model) for w in held])
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--pool", default="default:11", help="profile:seed of the world analysts label")
    ap.add_argument("--held-out", default="default:12,uk-careful:13,us-remitter:14")
    ap.add_argument("--steps", default="10,25,50,100,200")
    ap.add_argument("--repeats", type=int, default=3, help="random draws (and review-next seeds)")
    ap.add_argument(
        "--half-customers",
        type=int,
        default=20000,
        help="customers of the world for the half-labels target (a 3,000-customer world "
        "has ~12 payers per half: too few to fit or to measure AP to two decimals)",
    )
    args = ap.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    pool = scanned(args.pool, args.customers, args.months)
    held = [scanned(s, args.customers, args.months) for s in args.held_out.split(",")]
    names = [w.name for w in held]
    subjects = len(scored_subjects(pool))
    positives = sum(truth_of(pool).get(s, 0) for s in scored_subjects(pool))
    print(
        f"pool {pool.name}: {subjects} scored subjects, {positives} positive; held out: {', '.join(names)}"
    )
    print(f"pack only (no labels): customer AP {[round(customer_ap(w, None), 4) for w in held]}")
    print(
        f"{'labels':>6} {'strategy':>12} {'positives':>9} {'model':>7}  mean AP   per held-out world"
    )
    for strategy in ("random", "review-next"):
        # review-next is deterministic on a pool this size: one run
        seeds = range(args.repeats) if strategy == "random" else range(1)
        runs = [curve(pool, held, steps, strategy, seed) for seed in seeds]
        for i in range(len(steps)):
            at = [r[i] for r in runs]
            aps = np.mean([x["ap"] for x in at], axis=0)
            fitted = sum(x["fitted"] for x in at)
            print(
                f"{at[0]['labels']:>6} {strategy:>12} {np.mean([x['positives'] for x in at]):>9.1f} "
                f"{f'{fitted}/{len(at)}':>7}  {np.mean(aps):.4f}   "
                + "  ".join(f"{a:.4f}" for a in aps)
            )
    big = scanned(args.pool, args.half_customers, 12)
    print(f"half-labels world {big.name}, {args.half_customers} customers, 12 months:")
    for weight, other_half, aps in half_labels(big, held, seed=0):
        print(
            f"half the pool's labels (unreviewed weight {weight}): AP on the other half's "
            f"customers {other_half:.4f}; held out {'  '.join(f'{a:.4f}' for a in aps)}"
        )


if __name__ == "__main__":
    main()
