"""Financial sextortion on held-out worlds (issue #16, detector 2).

    .venv/bin/python benchmarks/platform_sextortion.py
    .venv/bin/python benchmarks/platform_sextortion.py --fit    # how WEIGHTS were fitted

Worlds with planted extortion rings paid by customers' teenagers and the look-alikes
(game shops, friends abroad, foreign tutors, relatives abroad, marketplace sellers; and
the unlabelled background of strangers' contacts and payments to new handles abroad;
``daybreak.synth.sextortion``) are drawn from bands of the rings' behaviour. The
detector's weights (``daybreak.platform.sextortion.WEIGHTS``) were fitted (``--fit``: a
ridge-penalised logistic regression on the episodes' features, rounded by hand) on
development worlds of every region below (seeds ``FIT_SEED_BASE`` + 100 * region +
0..``FIT_WORLDS`` - 1); nothing here changes them. So the regions are no longer held out
from the fit: only the seeds a run names are. Each region moves one part of the
behaviour outside the ``TUNING`` bands (the fit of versions 1-3):

- ``slow``: the call 3-12 hours after the first contact and the money 1-3 days later;
- ``no_calls``: only 20-50% of victims get a video call (images over messages);
- ``one_payment``: 60-90% pay once and block;
- ``many_handles``: 3-5 handles and 3-5 accounts per ring, 3-6 victims (so few payers
  per handle and per account);
- ``aged_accounts``: 50-100% of rings on old (hacked or bought) accounts;
- ``mixed``: every band at its widest.

For each world (``--worlds`` per region, seeds ``--seed-base`` + 100 * region + i), printed worst first: AP over all
scored (customer, beneficiary) pairs (every planted extortion pair in the denominator),
recall at the alert score, the false-alarm rate over the look-alike pairs, pairs above
the score nobody planted, and recall / false alarms by scenario. Then the worst case per
region and the targets: AP >= 0.9, look-alike false alarms <= 1%.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import polars as pl

from daybreak.engines.sextortion import run_frames
from daybreak.platform.evaluate import evaluate_payer_handles
from daybreak.platform.inputs import SextortionInput
from daybreak.platform.sextortion import WEIGHTS, SextortionParams
from daybreak.synth import World, generate_world
from daybreak.synth.priors import Band
from daybreak.synth.sextortion import EXTORTION_SCENARIOS, LOOKALIKES, PAIR, SextortionPriors
from platform_grooming import WorldResult, ridge_logistic  # the sibling benchmark's
from platform_grooming import print_quality as grooming_quality

TUNING = SextortionPriors(
    victims_per_ring=Band(5, 10),
    handles_per_ring=Band(1, 2),
    accounts_per_ring=Band(1, 2),
    hours_to_call=Band(0.3, 3),
    call_share=Band(0.8, 1.0),
    hours_to_pay=Band(0.5, 12),
    payments_per_victim=Band(2, 4),
    single_payment_share=Band(0.1, 0.3),
    aged_account_share=Band(0.0, 0.1),
)
HELD_OUT: dict[str, SextortionPriors] = {
    "slow": replace(TUNING, hours_to_call=Band(3, 12), hours_to_pay=Band(24, 72)),
    "no_calls": replace(TUNING, call_share=Band(0.2, 0.5)),
    "one_payment": replace(
        TUNING, single_payment_share=Band(0.6, 0.9), payments_per_victim=Band(1, 1.5)
    ),
    "many_handles": replace(
        TUNING,
        handles_per_ring=Band(3, 5),
        accounts_per_ring=Band(3, 5),
        victims_per_ring=Band(3, 6),
    ),
    "aged_accounts": replace(TUNING, aged_account_share=Band(0.5, 1.0)),
    "mixed": SextortionPriors(
        victims_per_ring=Band(3, 12),
        handles_per_ring=Band(1, 5),
        accounts_per_ring=Band(1, 5),
        hours_to_call=Band(0.2, 12),
        call_share=Band(0.2, 1.0),
        hours_to_pay=Band(0.3, 72),
        payments_per_victim=Band(1, 5),
        single_payment_share=Band(0.0, 0.9),
        aged_account_share=Band(0.0, 1.0),
    ),
}
# The weights' fit: development worlds 28000 + 100 * region + 0..19 of every region
# (28020-28039 checked the fit; 8000+ and 18000+ were earlier versions' seeds).
FIT_SEED_BASE, FIT_WORLDS = 28000, 20
TARGET_AP, TARGET_FALSE_ALARMS = 0.90, 0.01
FEATURES = tuple(k for k in WEIGHTS if k != "intercept")
RIDGE = 2.0  # a firmer penalty than grooming's: several terms are nearly collinear


def _world_episodes(
    priors: SextortionPriors, seed: int, customers: int, months: int
) -> tuple[World, SextortionParams, pl.DataFrame]:
    w = generate_world(customers, months, seed, sextortion_priors=priors)
    assert w.platform_accounts is not None
    params = SextortionParams()
    data = SextortionInput(w.platform_events, w.platform_accounts, w.identifiers, w.transactions)
    return w, params, run_frames(data, params, with_episodes=True).episodes


def evaluate_world(region: str, seed: int, customers: int, months: int) -> WorldResult:
    w, params, episodes = _world_episodes(HELD_OUT[region], seed, customers, months)
    assert w.account_labels is not None
    metrics = evaluate_payer_handles(episodes, w.account_labels, params.alert_score)
    return WorldResult(region, seed, metrics)


def _pooled(results: list[WorldResult]) -> None:
    for level, get in (("handles", lambda m: m), ("families", lambda m: m["pairs"])):
        pooled: dict[str, list[int]] = {}
        for r in results:
            for s, row in get(r.metrics)["by_scenario"].items():
                got = pooled.setdefault(s, [0, 0])
                got[0] += row.get("found", row.get("false_alarms", 0))
                got[1] += row["accounts"]
        print(
            f"pooled {level}: " + ", ".join(f"{s} {n}/{d}" for s, (n, d) in sorted(pooled.items()))
        )


def print_quality(results: list[WorldResult]) -> None:
    """Per world (AP, recall and false alarms over handles; families by scenario), the
    worst case per region, pooled counts and the targets."""
    grooming_quality(results, tuple(HELD_OUT), (*EXTORTION_SCENARIOS, *LOOKALIKES),
                     lambda m: m["pairs"]["by_scenario"], _pooled)  # fmt: skip


def features(episodes: pl.DataFrame) -> np.ndarray:
    """The episodes' score terms, in WEIGHTS order (as the SQL computes them)."""

    def col(name: str) -> np.ndarray:
        out: np.ndarray = episodes[name].cast(pl.Float64).to_numpy()
        return out

    cols = {
        "new_account": col("new_account"),
        "initiated": col("initiated"),
        "call_before_pay": col("call_before_pay"),
        "log_calls_before_pay": np.log1p(col("calls_before_pay")),
        "log_hours_to_pay": np.log1p(col("hours_to_pay")),
        "log_payments": np.log(col("payments")),
        "new_handle": col("new_handle"),
        "log_approached_payers": np.log1p(col("initiated_payers")),
        "log_other_payers": np.log1p(col("handle_payers") - col("initiated_payers")),
        "log_actor_payers": np.log(col("actor_payers")),
        "log_contact_days": np.log1p(col("contact_days")),
        "log_calls_after_pay": np.log1p(col("calls_after_pay")),
        "paid_before": col("paid_before"),
        "later_payee": col("later_payee"),
    }
    return np.column_stack([cols[f] for f in FEATURES])


def fit(customers: int, months: int) -> None:
    """The logistic regression on the development worlds' episodes (``FIT_WORLDS`` of
    every region), printed for rounding into WEIGHTS (an episode is positive when its
    pair is a planted extortion pair)."""
    xs, ys = [], []
    for k, region in enumerate(HELD_OUT):
        for i in range(FIT_WORLDS):
            w, _, episodes = _world_episodes(
                HELD_OUT[region], FIT_SEED_BASE + 100 * k + i, customers, months
            )
            assert w.account_labels is not None
            truth = w.account_labels.filter(pl.col("subject_type") == PAIR).select(
                pl.col("subject_id").alias("pair"), "label"
            )
            e = episodes.with_columns(pair=pl.col("customer_id") + ">" + pl.col("receiver_id"))
            e = e.join(truth, on="pair", how="left").with_columns(pl.col("label").fill_null(0))
            xs.append(features(e))
            ys.append(e["label"].to_numpy().astype(float))
    x, y = np.vstack(xs), np.concatenate(ys)
    beta = ridge_logistic(x, y, ridge=RIDGE)
    print(f"{len(y)} episodes, {int(y.sum())} extortion episodes")
    for name, b in zip(("intercept", *FEATURES), beta, strict=True):
        print(f"  {name:<20}{b:8.2f}   (now {WEIGHTS[name]})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=2500)
    ap.add_argument("--months", type=int, default=4)
    ap.add_argument("--worlds", type=int, default=4, help="worlds per held-out region")
    ap.add_argument("--fit", action="store_true", help="fit the weights on the tuning bands")
    ap.add_argument("--seed-base", type=int, default=8000,
                    help="world seeds are this + 100 * region + i (8000: the development seeds)")  # fmt: skip
    args = ap.parse_args()
    if args.fit:
        fit(args.customers, args.months)
        return
    results = []
    for k, region in enumerate(HELD_OUT):
        for i in range(args.worlds):
            seed = args.seed_base + 100 * k + i
            results.append(evaluate_world(region, seed, args.customers, args.months))
    print_quality(results)


if __name__ == "__main__":
    main()
