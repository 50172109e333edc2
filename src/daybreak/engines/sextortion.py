"""The financial-sextortion detector run on an engine (DuckDB or Spark).

What it computes (the SQL, the score, the explanations) is in
:mod:`daybreak.platform.sextortion`; this module registers the inputs, runs the pipeline
and fetches the rows. :func:`run_parquet` reads a world's Parquet files in place on
DuckDB (the large-input path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.engines import Engine, fetch_frame, run_on_frames
from daybreak.model.alerts import Alert
from daybreak.platform.inputs import SextortionInput
from daybreak.platform.sextortion import (
    DETECTOR_ID,
    EPISODES_QUERY,
    INPUT_TABLES,
    PAYMENTS_QUERY,
    VERSION,
    SextortionParams,
    alerts,
    compile_pipeline,
)


@dataclass(frozen=True)
class SextortionResult:
    alerts: list[Alert]
    episodes: pl.DataFrame  # every scored episode (empty unless asked for)


def run_registered(
    eng: Engine, params: SextortionParams, *, with_episodes: bool = False
) -> SextortionResult:
    """Run the pipeline on an engine whose four input tables are registered."""
    eng.run(compile_pipeline(eng.dialect, params))
    min_score = repr(max(params.alert_score, 1e-12))
    episodes = fetch_frame(eng, EPISODES_QUERY.format(min_score=min_score))
    payments = fetch_frame(eng, PAYMENTS_QUERY.format(min_score=min_score))
    found = alerts(episodes.to_dicts(), payments.to_dicts())
    every = (
        fetch_frame(eng, "SELECT * FROM sextortion_episodes") if with_episodes else pl.DataFrame()
    )
    return SextortionResult(found, every)


def run_frames(
    data: SextortionInput,
    params: SextortionParams | None = None,
    *,
    engine: str | Engine = "duckdb",
    with_episodes: bool = False,
) -> SextortionResult:
    chosen = params or SextortionParams()
    return run_on_frames(
        engine, data.frames(), lambda eng: run_registered(eng, chosen, with_episodes=with_episodes)
    )


def run_parquet(
    world: Path, params: SextortionParams | None = None, *, with_episodes: bool = False
) -> SextortionResult:
    """A world folder's Parquet files read in place by DuckDB (no validation pass: for
    files ``daybreak validate`` or ``daybreak synth`` have checked)."""
    from daybreak.engines.duckdb import run_on_world_parquet

    chosen = params or SextortionParams()
    return run_on_world_parquet(
        world, INPUT_TABLES, lambda eng: run_registered(eng, chosen, with_episodes=with_episodes)
    )


class SextortionDetector:
    """Financial sextortion behind the Detector protocol."""

    id = DETECTOR_ID
    version = VERSION

    def __init__(self, engine: str = "duckdb", window_days: int = 14) -> None:
        self._engine = engine
        self.params = SextortionParams(window_days=float(window_days))

    def detect(self, data: SextortionInput) -> Sequence[Alert]:
        return run_frames(data, self.params, engine=self._engine).alerts


__all__ = [
    "SextortionDetector",
    "SextortionResult",
    "run_frames",
    "run_parquet",
    "run_registered",
]
