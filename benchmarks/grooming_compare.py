"""The current grooming plan against an earlier one: the same alerts and scored actors?
(issue #16: a faster plan must not change what the detector finds.)

    git show 63669a2:src/daybreak/platform/grooming.py > /tmp/grooming_v6.py
    .venv/bin/python benchmarks/grooming_compare.py /tmp/grooming_v6.py \\
        --folder /tmp/daybreak-pspeed/events-1000000 --worlds 2 --seed-base 27000

Runs both plans through the same engine code (``daybreak.engines.grooming``, every scored
actor fetched) on each ``--folder`` written by ``platform_speed.py`` (read in place, as
``run_parquet`` does) and on ``--worlds`` synthetic worlds per held-out region of
``platform_grooming.py`` (seeds ``--seed-base`` + 100 * region + i), and prints, per input,
the alerts and actors of each and whether they are equal: the alerts (accounts, scores,
explanations, evidence ids) compared as they are, the actors' rows sorted. Exits 1 when
any input differs. ``tests/platform_signals/test_plan_equivalence.py`` checks the same
against the plan before the speed work on three small worlds in every test run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from daybreak.engines import grooming as engine
from daybreak.engines.grooming import GroomingResult
from daybreak.platform.inputs import GroomingInput
from daybreak.synth import generate_world
from grooming_steps import _load  # the sibling benchmark's plan loader
from platform_grooming import HELD_OUT


@contextmanager
def _plan(plan: ModuleType | None) -> Iterator[None]:
    """The engine module runs ``plan``'s pipeline and queries (None: its own)."""
    names = [n for n in vars(engine) if n.endswith("_QUERY")] + ["compile_pipeline"]
    saved = {n: getattr(engine, n) for n in names}
    try:
        if plan is not None:
            for n in names:
                setattr(engine, n, getattr(plan, n))
        yield
    finally:
        for n, v in saved.items():
            setattr(engine, n, v)


def _same(label: str, run: Callable[[], GroomingResult], plan: ModuleType) -> bool:
    with _plan(plan):
        before = run()
    with _plan(None):
        after = run()
    old, new = before.actors, after.actors
    same = (
        after.alerts == before.alerts
        and new.columns == old.columns
        and new.sort(new.columns, nulls_last=True).equals(old.sort(old.columns, nulls_last=True))
    )
    print(f"{label:<40} alerts {len(before.alerts):>5} / {len(after.alerts):>5}   actors "
          f"{old.height:>7} / {new.height:>7}   {'identical' if same else 'DIFFERENT'}")  # fmt: skip
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("plan", type=Path, help="the earlier plan module (compile_pipeline, *_QUERY)")
    ap.add_argument("--folder", type=Path, action="append", default=[],
                    help="a folder written by platform_speed.py")  # fmt: skip
    ap.add_argument("--worlds", type=int, default=0, help="worlds per held-out region")
    ap.add_argument("--seed-base", type=int, default=27000)
    ap.add_argument("--customers", type=int, default=2500)
    ap.add_argument("--months", type=int, default=4)
    args = ap.parse_args()
    plan = _load(args.plan)
    print(f"{'input':<40} alerts before / after   actors before / after")
    same = [
        _same(str(folder), lambda f=folder: engine.run_parquet(f, with_actors=True), plan)
        for folder in args.folder
    ]
    for r, (region, priors) in enumerate(HELD_OUT.items()):
        for i in range(args.worlds):
            seed = args.seed_base + 100 * r + i
            w = generate_world(args.customers, args.months, seed, grooming_priors=priors)
            assert w.platform_accounts is not None
            data = GroomingInput(w.platform_events, w.platform_accounts)
            run = lambda d=data: engine.run_frames(d, with_actors=True)  # noqa: E731
            same.append(_same(f"{region} seed {seed}", run, plan))
    print(f"{sum(same)} of {len(same)} inputs identical")
    if not all(same):
        sys.exit(1)


if __name__ == "__main__":
    main()
