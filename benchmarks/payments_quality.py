"""Backtest the payments detector on synthetic worlds of several profiles.

    .venv/bin/python benchmarks/payments_quality.py --customers 4000 --profiles default,uk-careful
    .venv/bin/python benchmarks/payments_quality.py --randomize --customers 3000 --seeds 1,2,3

Generates each world (deterministic seed), scans it with the built-in typology pack (or
``--model``), evaluates against truth/labels.csv and prints AP, P@K, alerted-set
precision/recall and per-scenario recall. ``--randomize`` uses randomised worlds (every
parameter drawn from the seed; see docs/synthetic-world.md) instead of the profiles and
prints each world's drawn region. ``--json`` writes the full reports.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from daybreak.engines.payments import scan
from daybreak.payments.evaluate import Scored, evaluate, read_labels
from daybreak.synth import generate_world, write_world

RANDOMIZED = "randomized"


def run(
    profile: str, customers: int, months: int, seed: int, model: Path | None, work: Path
) -> dict[str, Any]:
    """``profile`` "randomized" draws the world's parameters from the seed."""
    world_dir = work / f"{profile}-{customers}-{months}-{seed}"
    if not (world_dir / "truth" / "labels.csv").is_file():
        if profile == RANDOMIZED:
            world = generate_world(customers, months, seed, randomize=True)
        else:
            world = generate_world(customers, months, seed, profile)
        write_world(world, world_dir, "parquet")
    t0 = time.perf_counter()
    result = scan(world_dir, world_dir / "results", model_dir=model)
    elapsed = time.perf_counter() - t0
    alerts = [Scored(a.subject_type, a.subject_id, a.score) for a in result.alerts]
    report = evaluate(alerts, read_labels(world_dir / "truth"))
    report["seconds"] = round(elapsed, 2)
    params = world_dir / "truth" / "params.json"
    if params.is_file():
        report["region"] = json.loads(params.read_text("utf-8"))["region"]
    return report


def fit_calibration(work: Path, reports: dict[str, Any]) -> str:
    import numpy as np
    import polars as pl
    import yaml

    from daybreak.payments.model import platt_curve

    curves = {}
    for subject, key in (("customer", "sender_id"), ("beneficiary", "receiver_id")):
        xs, ys = [], []
        for name in reports:
            profile, seed = name.split("/")
            world = next(work.glob(f"{profile}-*-{seed}"))
            scores = pl.read_parquet(world / "results" / f"{subject}_scores.parquet")
            labels = pl.read_csv(
                world / "truth" / "labels.csv", schema_overrides={"subject_id": pl.String}
            )
            lab = labels.filter(pl.col("subject_type") == subject).select(
                pl.col("subject_id").alias(key), "label"
            )
            joined = scores.join(lab, on=key, how="left").with_columns(pl.col("label").fill_null(0))
            xs.append(joined["raw_score"].to_numpy())
            ys.append(joined["label"].to_numpy())
        x, y = platt_curve(np.concatenate(xs), np.concatenate(ys))
        curves[subject] = {"x": x, "y": y}
    return yaml.safe_dump({"calibration": curves}, default_flow_style=None, sort_keys=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=4000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seeds", default="11")
    ap.add_argument("--profiles", default="default,us-remitter,uk-careful,eu-shifted")
    ap.add_argument(
        "--randomize",
        action="store_true",
        help="Randomised worlds (one per seed) instead of --profiles.",
    )
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-quality")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--fit-calibration",
        action="store_true",
        help="Pool raw typology scores of all worlds run and print an isotonic calibration "
        "block (Platt scaling) for the pack (use seeds other than the evaluation seeds).",
    )
    args = ap.parse_args()
    reports = {}
    profiles = [RANDOMIZED] if args.randomize else args.profiles.split(",")
    for profile in profiles:
        for seed in (int(s) for s in args.seeds.split(",")):
            r = run(profile, args.customers, args.months, seed, args.model, args.work)
            reports[f"{profile}/{seed}"] = r
            a, c, b = r["all"], r["customer"], r["beneficiary"]
            print(
                f"{profile:12s} seed {seed}: AP {a['average_precision']} (customers "
                f"{c['average_precision']}, beneficiaries {b['average_precision']}); "
                f"alerts {a['alerts']}, precision {a['precision']}, recall {a['recall']}; "
                f"P@10 {a.get('precision_at_10')} P@50 {a.get('precision_at_50')}; {r['seconds']} s"
            )
            if "region" in r:
                print("    drawn: " + ", ".join(f"{k} {v}" for k, v in r["region"].items()))
            for s, v in r["scenario_recall"].items():
                print(f"    recall {s:45s} {v['found']}/{v['total']}")
            for s, v in r["false_alarms_by_scenario"].items():
                if v["alerted"]:
                    print(f"    false alarms {s:39s} {v['alerted']}/{v['total']}")
    if args.fit_calibration:
        print(fit_calibration(args.work, reports))
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
