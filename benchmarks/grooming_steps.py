"""Where the grooming (or sextortion) detector's time goes: each compiled step timed on
DuckDB (issue #16).

    .venv/bin/python benchmarks/platform_speed.py --events 10000000 --only grooming
    git show 00e2bef:src/daybreak/platform/grooming.py > /tmp/grooming_before.py
    .venv/bin/python benchmarks/grooming_steps.py /tmp/daybreak-pspeed/events-10000000 \\
        --plan /tmp/grooming_before.py --repeat 2
    git show a9ba7ae:src/daybreak/platform/sextortion.py > /tmp/sextortion_v6.py
    .venv/bin/python benchmarks/grooming_steps.py /tmp/daybreak-pspeed/events-10000000 \\
        --detector sextortion --plan /tmp/sextortion_v6.py --repeat 2

Reads a folder written by ``platform_speed.py`` (``platform_events.parquet`` and
``platform_accounts.parquet``) in place, as ``run_parquet`` does, and runs the current
plan (``daybreak.platform.grooming``; with ``--detector sextortion``, that detector's,
reading its four tables, and its ratio still to the events pass alone) and each ``--plan`` (a file defining
``compile_pipeline`` and the ``*_QUERY`` strings, e.g. an earlier version of that module)
alternately ``--repeat`` times, each time after the plain events pass of
``platform_speed.py``. Prints the medians of the whole pipeline (steps and the three
queries of the alerts) as a ratio to the pass, and of each step, in wall-clock and in
CPU seconds of this process (all DuckDB threads). CPU seconds barely move when other
processes share the cores, so they compare plans on a loaded machine; the target is
stated in wall-clock time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from types import ModuleType

import duckdb

from daybreak.detectors.pipeline import Pipeline
from daybreak.engines.duckdb import DuckDBEngine
from daybreak.platform import ads, grooming, sextortion
from daybreak.platform.ads import AdsParams
from daybreak.platform.grooming import GroomingParams
from daybreak.platform.sextortion import SextortionParams
from platform_speed import PASSES, load_plan

# --detector -> (its plan module, its default parameters)
DETECTORS = {
    "grooming": (grooming, GroomingParams()),
    "sextortion": (sextortion, SextortionParams()),
    "recruitment_ads": (ads, AdsParams()),
}

Clock = tuple[float, float]  # wall, cpu


def _now() -> Clock:
    return time.perf_counter(), time.process_time()


def _since(t: Clock) -> Clock:
    wall, cpu = _now()
    return wall - t[0], cpu - t[1]


def _events_pass(folder: Path) -> Clock:
    con = duckdb.connect()
    t = _now()
    con.sql(PASSES["events"].format(folder=folder)).to_arrow_table()
    took = _since(t)
    con.close()
    return took


def _run_plan(plan: ModuleType, params: object, folder: Path) -> dict[str, Clock]:
    eng = DuckDBEngine(keep_row_order=False)
    try:
        for table in plan.INPUT_TABLES:
            eng.register_parquet(table, str(folder / f"{table}.parquet"), row_numbers=False)
        took: dict[str, Clock] = {}
        start = _now()
        for step in plan.compile_pipeline(eng.dialect, params).steps:
            t = _now()
            eng.run(Pipeline(step.inputs, [step]))  # one step: timed on its own
            took[step.name] = _since(t)
        t = _now()
        for query in [getattr(plan, n) for n in sorted(vars(plan)) if n.endswith("_QUERY")]:
            eng.fetch(query.format(min_score=repr(params.alert_score)))  # type: ignore[attr-defined]
        took["(alert queries)"] = _since(t)
        took["total"] = _since(start)
        return took
    finally:
        eng.close()


def _median(runs: list[Clock]) -> Clock:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a folder written by platform_speed.py")
    ap.add_argument("--plan", type=Path, action="append", default=[],
                    help="another plan module to time alongside the current one")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--detector", choices=sorted(DETECTORS), default="grooming")
    args = ap.parse_args()
    current, params = DETECTORS[args.detector]
    plans = {"current": current, **{str(p): load_plan(p) for p in args.plan}}
    passes: list[Clock] = []
    runs: dict[str, dict[str, list[Clock]]] = {name: {} for name in plans}
    for _ in range(args.repeat):
        passes.append(_events_pass(args.folder))
        for name, plan in plans.items():
            for step, took in _run_plan(plan, params, args.folder).items():
                runs[name].setdefault(step, []).append(took)
    pw, pc = _median(passes)
    print(f"events pass (median of {args.repeat}): {pw:.2f} s wall, {pc:.2f} s CPU")
    for name, steps in runs.items():
        tw, tc = _median(steps["total"])
        print(f"\n{name}: {tw:.2f} s wall = {tw / pw:.1f}x the pass; "
              f"{tc:.2f} s CPU = {tc / pc:.1f}x")  # fmt: skip
        for step, clocks in steps.items():
            if step != "total":
                w, c = _median(clocks)
                print(f"  {step:<28}{w:8.2f} s wall{c:8.2f} s CPU")


if __name__ == "__main__":
    main()
