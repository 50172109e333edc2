"""Does the payments pack hold on worlds it was not fitted on? (issue #13, part 6)

    .venv/bin/python benchmarks/payments_generalisation.py --customers 3000 --months 6

Randomised worlds (``daybreak.synth`` priors) are drawn per *region group* of one
region field (default: the sending region, grouped AU+NZ, US+CA, GB+EU). For each
group held out, the pack's typology weights and bias are fitted on the worlds of the
other groups (logistic loss with an L2 penalty, each weight keeping the sign the pack
gives it so explanations keep their meaning), its calibration is refitted (Platt) on
their rescored raw scores, and the fitted pack scans the held-out group's worlds. The
held-out worlds are never read while fitting. Printed: min / median / max AP for
customers and beneficiaries on held-out worlds, careful-payer recall at the alert
threshold (every ``careful*`` scenario), and each look-alike's false-alarm rate
(alerted / present, label 0 scenarios), for the shipped pack and the refitted one.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from daybreak.payments.config import Pack, default_pack_text, parse_pack
from daybreak.payments.evaluate import Scored, evaluate, read_labels
from daybreak.payments.model import platt_curve
from daybreak.payments.scan import ScanResult, scan_frames
from daybreak.synth import generate_world, write_world
from daybreak.synth.priors import Priors

GROUPS = {"AU+NZ": ("AU", "NZ"), "US+CA": ("US", "CA"), "GB+EU": ("GB", "EU")}
SUBJECTS = (("customer", "sender_id"), ("beneficiary", "receiver_id"))
NOT_LOOKALIKE = {"benign", "(none)", "domestic_p2p", "merchant", "atm", "biller"}


def world(work: Path, group: str, seed: int, customers: int, months: int) -> Path:
    out = work / f"{group}-{seed}-{customers}-{months}"
    if not (out / "truth" / "labels.csv").is_file():
        priors = replace(Priors(), sending_regions=GROUPS[group])
        write_world(generate_world(customers, months, seed, priors=priors), out, "parquet")
    return out


def run_scan(path: Path, pack: Pack) -> ScanResult:
    tx = pl.read_parquet(path / "transactions.parquet")
    cu = pl.read_parquet(path / "customers.parquet")
    return scan_frames(tx, cu, pack=pack)


def labelled(result: ScanResult, path: Path, subject: str, key: str) -> pl.DataFrame:
    frame = result.customer_scores if subject == "customer" else result.beneficiary_scores
    lab = read_labels(path / "truth").filter(pl.col("subject_type") == subject)
    lab = lab.select(pl.col("subject_id").alias(key), pl.col("label"))
    return frame.join(lab, on=key, how="left").with_columns(pl.col("label").fill_null(0))


def fit_weights(pack: Pack, frames: dict[str, list[pl.DataFrame]]) -> Pack:
    """Weights and one shared bias by penalised logistic loss over both subjects."""
    from scipy.optimize import minimize

    ids = [t.id for t in pack.typologies]
    xs, ys = [], []
    for subject, parts in frames.items():
        data = pl.concat(parts, how="diagonal_relaxed")
        cols = [
            data[f"s__{t.id}"].fill_null(0.0).to_numpy()
            if t.subject == subject
            else np.zeros(data.height)
            for t in pack.typologies
        ]
        xs.append(np.column_stack(cols))
        ys.append(data["label"].to_numpy().astype(float))
    x, y = np.vstack(xs), np.concatenate(ys)
    # positives are rare: weigh them up to half the loss
    sw = np.where(y == 1, 0.5 * len(y) / max(1.0, y.sum()), 0.5 * len(y) / (len(y) - y.sum()))
    sign = np.array([1.0 if t.weight >= 0 else -1.0 for t in pack.typologies])

    def loss(theta: np.ndarray[Any, Any]) -> tuple[float, np.ndarray[Any, Any]]:
        z = theta[0] + x @ theta[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        eps = 1e-9
        value = -np.sum(sw * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) / len(y)
        value += 0.01 * np.sum(theta[1:] ** 2)
        g = sw * (p - y) / len(y)
        grad = np.concatenate([[g.sum()], x.T @ g + 0.02 * theta[1:]])
        return float(value), grad

    start = np.concatenate([[pack.bias], [t.weight for t in pack.typologies]])
    bounds = [(None, None)] + [((0, 12) if s > 0 else (-12, 0)) for s in sign]
    res = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    weights = dict(zip(ids, res.x[1:], strict=True))
    data = yaml.safe_load(default_pack_text())
    data["bias"] = round(float(res.x[0]), 3)
    for t in data["typologies"]:
        t["weight"] = round(float(weights[t["id"]]), 3)
    return parse_pack(yaml.safe_dump(data, sort_keys=False), "fitted")


def with_calibration(pack: Pack, frames: dict[str, list[pl.DataFrame]]) -> Pack:
    data = yaml.safe_load(default_pack_text())
    data["bias"] = pack.bias
    weights = {t.id: t.weight for t in pack.typologies}
    for t in data["typologies"]:
        t["weight"] = weights[t["id"]]
    for subject, parts in frames.items():
        joined = pl.concat(parts, how="diagonal_relaxed")
        x, y = platt_curve(joined["raw_score"].to_numpy(), joined["label"].to_numpy())
        data["calibration"][subject] = {"x": x, "y": y}
    return parse_pack(yaml.safe_dump(data, sort_keys=False), "fitted+calibrated")


def fit(pack: Pack, train: list[Path]) -> Pack:
    def frames(p: Pack) -> dict[str, list[pl.DataFrame]]:
        out: dict[str, list[pl.DataFrame]] = {s: [] for s, _ in SUBJECTS}
        for path in train:
            result = run_scan(path, p)
            for subject, key in SUBJECTS:
                out[subject].append(labelled(result, path, subject, key))
        return out

    weighted = fit_weights(pack, frames(pack))
    return with_calibration(weighted, frames(weighted))  # graph depends on the weights


def report(result: ScanResult, path: Path) -> dict[str, Any]:
    alerts = [Scored(a.subject_type, a.subject_id, a.score) for a in result.alerts]
    return evaluate(alerts, read_labels(path / "truth"))


def summarise(name: str, reports: list[dict[str, Any]]) -> None:
    print(f"\n== {name}: {len(reports)} held-out worlds")
    for subject in ("customer", "beneficiary"):
        aps = [r[subject]["average_precision"] for r in reports]
        aps = [a for a in aps if a is not None]
        print(
            f"AP {subject:12s} min {min(aps):.4f}  median {statistics.median(aps):.4f}  "
            f"max {max(aps):.4f}"
        )
    found, total = Counter[str](), Counter[str]()
    alarms, present = Counter[str](), Counter[str]()
    for r in reports:
        for s, v in r["scenario_recall"].items():
            found[s] += v["found"]
            total[s] += v["total"]
        for s, v in r["false_alarms_by_scenario"].items():
            alarms[s] += v["alerted"]
            present[s] += v["total"]
    careful = [s for s in total if s.startswith("customer:careful")]
    cf, ct = sum(found[s] for s in careful), sum(total[s] for s in careful)
    print(f"careful-payer recall at the alert threshold: {cf}/{ct} = {cf / max(ct, 1):.3f}")
    for s in careful:
        print(f"    {s:42s} {found[s]}/{total[s]}")
    print("false-alarm rate per look-alike (alerted / present):")
    for s in sorted(present):
        if s.split(":", 1)[1] in NOT_LOOKALIKE and not alarms[s]:
            continue
        rate = alarms[s] / max(present[s], 1)
        flag = "  > 1%" if rate > 0.01 else ""
        print(f"    {s:42s} {alarms[s]}/{present[s]} = {100 * rate:.2f}%{flag}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seeds", default="101,102", help="world seeds per region group")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "daybreak-gen")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    shipped = parse_pack(default_pack_text(), "default.yaml")
    worlds = {
        g: [world(args.work, g, s + 1000 * k, args.customers, args.months) for s in seeds]
        for k, g in enumerate(GROUPS)
    }
    as_shipped, refitted = [], []
    for held_out, paths in worlds.items():
        train = [p for g, ps in worlds.items() if g != held_out for p in ps]
        pack = fit(shipped, train)
        print(f"held out {held_out}: fitted on {len(train)} worlds of the other groups; "
              f"bias {pack.bias}, weights "
              + ", ".join(f"{t.id} {t.weight}" for t in pack.typologies))  # fmt: skip
        for path in paths:
            for name, p, out in (("shipped", shipped, as_shipped), ("refitted", pack, refitted)):
                r = report(run_scan(path, p), path)
                out.append(r)
                print(
                    f"    {path.name} {name:8s}: AP customers "
                    f"{r['customer']['average_precision']}, beneficiaries "
                    f"{r['beneficiary']['average_precision']}"
                )
    summarise("pack as shipped", as_shipped)
    summarise("weights and calibration refitted on the other region groups", refitted)


if __name__ == "__main__":
    main()
