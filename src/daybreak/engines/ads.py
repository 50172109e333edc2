"""The recruitment-ads detector run on an engine (DuckDB or Spark).

What it computes is in :mod:`daybreak.platform.ads`; this module registers the input,
runs the pipeline and fetches the rows. :func:`run_parquet` reads a world's Parquet file
in place on DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.engines import Engine, fetch_frame, run_on_frames
from daybreak.model.alerts import Alert
from daybreak.platform.ads import (
    DETAILS_QUERY,
    DETECTOR_ID,
    EVIDENCE_QUERY,
    INPUT_TABLES,
    NETWORK_QUERY,
    VERSION,
    AdsParams,
    alerts,
    compile_pipeline,
)
from daybreak.platform.inputs import AdsInput


@dataclass(frozen=True)
class AdsResult:
    alerts: list[Alert]
    details: pl.DataFrame  # every scored reused detail (empty unless asked for)


def run_registered(eng: Engine, params: AdsParams, *, with_details: bool = False) -> AdsResult:
    """Run the pipeline on an engine whose ``platform_ads`` table is registered."""
    eng.run(compile_pipeline(eng.dialect, params))
    min_score = repr(max(params.alert_score, 1e-12))  # never alert below min_ads
    top = fetch_frame(eng, DETAILS_QUERY.format(min_score=min_score))
    uses = fetch_frame(eng, EVIDENCE_QUERY.format(min_score=min_score))
    network_ads = fetch_frame(eng, NETWORK_QUERY.format(min_score=min_score))
    found = alerts(top.to_dicts(), uses.to_dicts(), network_ads.to_dicts())
    every = fetch_frame(eng, "SELECT * FROM ads_details") if with_details else pl.DataFrame()
    return AdsResult(found, every)


def run_frames(
    data: AdsInput,
    params: AdsParams | None = None,
    *,
    engine: str | Engine = "duckdb",
    with_details: bool = False,
) -> AdsResult:
    chosen = params or AdsParams()
    return run_on_frames(
        engine, data.frames(), lambda eng: run_registered(eng, chosen, with_details=with_details)
    )


def run_parquet(
    world: Path, params: AdsParams | None = None, *, with_details: bool = False
) -> AdsResult:
    """A world folder's Parquet file read in place by DuckDB (no validation pass)."""
    from daybreak.engines.duckdb import run_on_world_parquet

    chosen = params or AdsParams()
    return run_on_world_parquet(
        world, INPUT_TABLES, lambda eng: run_registered(eng, chosen, with_details=with_details)
    )


class AdsDetector:
    """Recruitment ads and fake profiles behind the Detector protocol."""

    id = DETECTOR_ID
    version = VERSION

    def __init__(self, engine: str = "duckdb", min_ads: int = 2) -> None:
        self._engine = engine
        self.params = AdsParams(min_ads=min_ads)

    def detect(self, data: AdsInput) -> Sequence[Alert]:
        return run_frames(data, self.params, engine=self._engine).alerts


__all__ = ["AdsDetector", "AdsResult", "run_frames", "run_parquet", "run_registered"]
