"""The platform detectors' faster plans compute what the plans they replaced computed
(issue #16, speed).

``platform_signals/reference`` keeps each detector's SQL as it was before the plan was
changed (string keys, more passes over the events). Here both run through the same engine
code on the same worlds (every platform behaviour and look-alike planted, three seeds):
the alerts, and every scored row (actors, episodes, details), must be equal. (The
stream-payment plan did not change.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from daybreak.engines import ads as ads_engine
from daybreak.engines import grooming as grooming_engine
from daybreak.engines import sextortion as sextortion_engine
from daybreak.platform.inputs import AdsInput, GroomingInput, SextortionInput
from daybreak.synth import World, generate_world
from daybreak.synth.ads import AdsPriors
from daybreak.synth.grooming import GroomingPriors
from daybreak.synth.sextortion import SextortionPriors
from platform_signals.reference import ads as ads_ref
from platform_signals.reference import grooming as grooming_ref
from platform_signals.reference import sextortion as sextortion_ref

SEEDS = (11, 12, 13)


@cache
def _world(seed: int) -> World:
    return generate_world(
        customers=800,
        months=3,
        seed=seed,
        grooming_priors=GroomingPriors(),
        sextortion_priors=SextortionPriors(),
        ads_priors=AdsPriors(),
        relatives_calls=True,
    )


def _grooming(w: World) -> GroomingInput:
    assert w.platform_accounts is not None
    return GroomingInput(w.platform_events, w.platform_accounts)


def _sextortion(w: World) -> SextortionInput:
    assert w.platform_accounts is not None
    return SextortionInput(w.platform_events, w.platform_accounts, w.identifiers, w.transactions)


def _ads(w: World) -> AdsInput:
    assert w.platform_ads is not None
    return AdsInput(w.platform_ads)


# detector -> (engine module, the plan it replaced, its input, run_frames' flag for every
# scored row, the result's frames)
DETECTORS: dict[str, tuple[ModuleType, ModuleType, Callable[[World], Any], str, tuple[str, ...]]] = {
    "grooming": (grooming_engine, grooming_ref, _grooming, "with_actors", ("actors",)),
    "sextortion": (sextortion_engine, sextortion_ref, _sextortion, "with_episodes", ("episodes",)),
    "recruitment_ads": (ads_engine, ads_ref, _ads, "with_details", ("details",)),
}  # fmt: skip


def _run(
    engine: ModuleType, plan: ModuleType | None, data: Any, flag: str, mp: pytest.MonkeyPatch
) -> Any:
    """``engine.run_frames`` with every scored row; with ``plan``, the engine module's
    compiled pipeline and queries are that module's."""
    with mp.context() as m:
        if plan is not None:
            for name in [n for n in vars(engine) if n.endswith("_QUERY")] + ["compile_pipeline"]:
                m.setattr(engine, name, getattr(plan, name))
        return engine.run_frames(data, **{flag: True})


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns, nulls_last=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("detector", sorted(DETECTORS))
def test_faster_plan_gives_the_same_alerts_and_scores(
    detector: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, plan, data_of, flag, frames = DETECTORS[detector]
    data = data_of(_world(seed))
    before = _run(engine, plan, data, flag, monkeypatch)
    after = _run(engine, None, data, flag, monkeypatch)
    assert after.alerts == before.alerts
    for name in frames:
        old, new = getattr(before, name), getattr(after, name)
        assert old.height > 0, f"{detector}: no {name} in the world of seed {seed}"
        assert new.columns == old.columns, name
        assert_frame_equal(_sorted(new), _sorted(old))
    assert before.alerts, f"{detector}: no alerts in the world of seed {seed}"
