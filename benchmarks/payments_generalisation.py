"""Does the payments pack hold on worlds it was not fitted on? (issue #13, part 6)

    .venv/bin/python benchmarks/payments_generalisation.py --customers 3000 --months 6

Randomised worlds (``daybreak.synth`` priors) are drawn per *region group* of the
sending region (AU+NZ, US+CA, GB+EU): evaluation worlds with seeds ``--seeds`` (default
101..105; plus 1000 per group) and training worlds with ``--training-seeds`` (default
301..305, the seeds ``benchmarks/payments_fit_pack.py`` fits on). Each region group is
held out in turn and its evaluation worlds are scanned by

(a) the pack as shipped, or ``--pack FILE`` (e.g. one written by
    ``payments_fit_pack.py --write`` from the training worlds of *every* group: its
    figures are then on seeds it never saw, in regions it did);
(b) the pack refitted on the training worlds of the *other* groups only (same fit as
    payments_fit_pack.py: weights with the pack's signs, bias, Platt calibration), so its
    figures are on a region it never saw.

``--no-refit`` skips (b) (its column then repeats (a)): quicker when only the pack's
own figures are wanted. Printed per region held out and over all evaluation worlds: min / median / max AP for
customers and beneficiaries, careful-payer recall at the alert threshold (every
``careful*`` scenario) and each look-alike's false-alarm rate (alerted / present, label
0 scenarios). Generated worlds are cached in ``--work`` (keyed by group, seed and size:
clear it after changing the generator).

``--hold-out parameters`` holds out regions of the *other* priors instead of the sending
region (``daybreak.synth.priors.PARAMETER_REGIONS``): ``base`` (AU, NZ, CA, EU senders,
careful-payer share 0.1-0.4, references in en/tl/es/id/de, the usual look-alike shares)
and ``shifted`` (US and GB senders, careful-payer share 0.5-0.8, references in vi/th/fr,
several times more payroll firms and student allowances), like the independent team's
shifted world. Each is held out in turn; (b) is then fitted on the other one only.
"""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daybreak.payments.config import load_pack
from daybreak.payments.evaluate import Scored, evaluate, read_labels
from payments_fit_pack import (
    DEFAULT_WORK,
    HOLD_OUTS,
    TRAINING_SEEDS,
    describe,
    fit,
    run_scan,
    worlds_by_group,
)

EVALUATION_SEEDS = "101,102,103,104,105"
NOT_LOOKALIKE = {"benign", "(none)", "domestic_p2p", "merchant", "atm", "biller"}
PACKS = ("shipped", "refitted")


@dataclass
class Tally:
    """Held-out results of one pack over some worlds."""

    ap: dict[str, list[float]] = field(default_factory=lambda: {"customer": [], "beneficiary": []})
    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    alarms: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)

    def add(self, report: dict[str, Any]) -> None:
        for subject, aps in self.ap.items():
            if report[subject]["average_precision"] is not None:
                aps.append(float(report[subject]["average_precision"]))
        for s, v in report["scenario_recall"].items():
            self.found[s] += v["found"]
            self.total[s] += v["total"]
        for s, v in report["false_alarms_by_scenario"].items():
            self.alarms[s] += v["alerted"]
            self.present[s] += v["total"]

    def merge(self, other: Tally) -> None:
        for subject, aps in other.ap.items():
            self.ap[subject] += aps
        for mine, theirs in (
            (self.found, other.found),
            (self.total, other.total),
            (self.alarms, other.alarms),
            (self.present, other.present),
        ):
            mine.update(theirs)

    def ap_range(self, subject: str) -> str:
        aps = self.ap[subject]
        return f"{min(aps):.3f} / {statistics.median(aps):.3f} / {max(aps):.3f}"

    def careful(self) -> list[str]:
        return sorted(s for s in self.total if s.startswith("customer:careful"))

    def careful_recall(self) -> str:
        f = sum(self.found[s] for s in self.careful())
        t = sum(self.total[s] for s in self.careful())
        return f"{f}/{t} = {f / max(t, 1):.2f}"

    def lookalikes(self) -> list[str]:
        return sorted(
            s for s in self.present if s.split(":", 1)[1] not in NOT_LOOKALIKE or self.alarms[s]
        )

    def rate(self, s: str) -> str:
        r = self.alarms[s] / max(self.present[s], 1)
        return f"{self.alarms[s]}/{self.present[s]} = {100 * r:.2f}%" + (
            " **>1%**" if r > 0.01 else ""
        )

    def worst(self) -> str:
        s = max(self.lookalikes(), key=lambda s: (self.alarms[s] / max(self.present[s], 1), s))
        return f"{s} {self.rate(s)}"


def report(path: Path, pack: Any) -> dict[str, Any]:
    result = run_scan(path, pack)
    alerts = [Scored(a.subject_type, a.subject_id, a.score) for a in result.alerts]
    return evaluate(alerts, read_labels(path / "truth"))


def table(title: str, tallies: dict[str, Tally]) -> None:
    """Markdown table: one column per pack."""
    shipped, refitted = tallies["shipped"], tallies["refitted"]
    n = len(shipped.ap["customer"])
    print(f"\n### {title} ({n} worlds)\n")
    print("| | (a) pack as shipped | (b) refitted on the other region groups |")
    print("|---|---|---|")
    for subject, plural in (("customer", "customers"), ("beneficiary", "beneficiaries")):
        print(
            f"| AP {plural}, min / median / max | {shipped.ap_range(subject)} "
            f"| {refitted.ap_range(subject)} |"
        )
    print(f"| careful-payer recall | {shipped.careful_recall()} | {refitted.careful_recall()} |")
    for s in shipped.careful():
        print(f"| &nbsp; {s} | {shipped.found[s]}/{shipped.total[s]} | {refitted.found[s]}/{refitted.total[s]} |")  # fmt: skip
    print(f"| worst look-alike | {shipped.worst()} | {refitted.worst()} |")
    for s in shipped.lookalikes():
        print(f"| &nbsp; false alarms {s} | {shipped.rate(s)} | {refitted.rate(s)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--seeds", default=EVALUATION_SEEDS, help="evaluation seeds per group")
    ap.add_argument("--training-seeds", default=TRAINING_SEEDS, help="training seeds per group")
    ap.add_argument("--rounds", type=int, default=3, help="refits after rescanning")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="cache of generated worlds")
    ap.add_argument("--pack", type=Path, default=None, help="pack (a) instead of the shipped one")
    ap.add_argument(
        "--hold-out",
        choices=tuple(HOLD_OUTS),
        default="sending-region",
        help="what is held out: groups of the sending region, or regions of the other priors",
    )
    ap.add_argument(
        "--no-refit", action="store_true", help="skip (b): scan with pack (a) only (quicker)"
    )
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    training_seeds = [int(s) for s in args.training_seeds.split(",")]
    if set(seeds) & set(training_seeds):
        raise SystemExit(f"evaluation and training seeds overlap: {set(seeds) & set(training_seeds)}")  # fmt: skip
    shipped = load_pack(args.pack)
    print(f"pack (a) {args.pack or 'as shipped'}, {shipped.version}: {describe(shipped)}")
    print(f"held out in turn: {args.hold_out} ({', '.join(HOLD_OUTS[args.hold_out])})")
    evaluation = worlds_by_group(args.work, seeds, args.customers, args.months, args.hold_out)
    training = (
        {}
        if args.no_refit
        else worlds_by_group(args.work, training_seeds, args.customers, args.months, args.hold_out)
    )
    by_region: dict[str, dict[str, Tally]] = {}
    for held_out, paths in evaluation.items():
        train = [p for g, ps in training.items() if g != held_out for p in ps]
        if args.no_refit:
            refitted = shipped
            print(f"held out {held_out}: (b) skipped (--no-refit), its column repeats (a)")
        else:
            refitted = fit(shipped, train, args.rounds)
            print(f"held out {held_out}: refitted on {len(train)} training worlds of the other "
                  f"groups: {describe(refitted)}")  # fmt: skip
        tallies = {name: Tally() for name in PACKS}
        for path in paths:
            results = {"shipped": report(path, shipped)}
            results["refitted"] = results["shipped"] if args.no_refit else report(path, refitted)
            for name, r in results.items():
                tallies[name].add(r)
                print(
                    f"    {path.name} {name:8s}: AP customers "
                    f"{r['customer']['average_precision']}, beneficiaries "
                    f"{r['beneficiary']['average_precision']}"
                )
        by_region[held_out] = tallies
    for region, tallies in by_region.items():
        table(f"held out {region}", tallies)
    overall = {name: Tally() for name in PACKS}
    for tallies in by_region.values():
        for name in PACKS:
            overall[name].merge(tallies[name])
    table("all held-out worlds", overall)


if __name__ == "__main__":
    main()
