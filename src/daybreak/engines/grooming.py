"""The grooming contact-patterns detector run on an engine (DuckDB or Spark).

What it computes (the SQL, the score, the explanations) is in
:mod:`daybreak.platform.grooming`; this module registers the inputs, runs the pipeline
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
from daybreak.platform.grooming import (
    ACTORS_QUERY,
    DETECTOR_ID,
    EVIDENCE_QUERY,
    INPUT_TABLES,
    SIBLINGS_QUERY,
    VERSION,
    GroomingParams,
    alerts,
    compile_pipeline,
)
from daybreak.platform.inputs import GroomingInput


@dataclass(frozen=True)
class GroomingResult:
    alerts: list[Alert]
    actors: pl.DataFrame  # every scored actor (empty unless asked for)


def run_registered(
    eng: Engine, params: GroomingParams, *, with_actors: bool = False
) -> GroomingResult:
    """Run the pipeline on an engine whose two input tables are registered."""
    eng.run(compile_pipeline(eng.dialect, params))
    min_score = repr(max(params.alert_score, 1e-12))  # never alert below min_targets
    top = fetch_frame(eng, ACTORS_QUERY.format(min_score=min_score))
    evidence = fetch_frame(eng, EVIDENCE_QUERY.format(min_score=min_score))
    siblings = fetch_frame(eng, SIBLINGS_QUERY.format(min_score=min_score))
    found = alerts(top.to_dicts(), evidence.to_dicts(), siblings.to_dicts())
    actors = fetch_frame(eng, "SELECT * FROM grooming_actors") if with_actors else pl.DataFrame()
    return GroomingResult(found, actors)


def run_frames(
    data: GroomingInput,
    params: GroomingParams | None = None,
    *,
    engine: str | Engine = "duckdb",
    with_actors: bool = False,
) -> GroomingResult:
    chosen = params or GroomingParams()
    return run_on_frames(
        engine, data.frames(), lambda eng: run_registered(eng, chosen, with_actors=with_actors)
    )


def run_parquet(
    world: Path, params: GroomingParams | None = None, *, with_actors: bool = False
) -> GroomingResult:
    """A world folder's Parquet files read in place by DuckDB (no validation pass: for
    files ``daybreak validate`` or ``daybreak synth`` have checked)."""
    from daybreak.engines.duckdb import run_on_world_parquet

    chosen = params or GroomingParams()
    return run_on_world_parquet(
        world, INPUT_TABLES, lambda eng: run_registered(eng, chosen, with_actors=with_actors)
    )


class GroomingDetector:
    """Grooming contact patterns behind the Detector protocol."""

    id = DETECTOR_ID
    version = VERSION

    def __init__(self, engine: str = "duckdb", min_targets: int = 2) -> None:
        self._engine = engine
        self.params = GroomingParams(min_targets=min_targets)

    def detect(self, data: GroomingInput) -> Sequence[Alert]:
        return run_frames(data, self.params, engine=self._engine).alerts


__all__ = ["GroomingDetector", "GroomingResult", "run_frames", "run_parquet", "run_registered"]
