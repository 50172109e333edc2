"""The stream-payment coincidence detector run on an engine (DuckDB or Spark).

What it computes (the SQL, the score, the explanations) is in
:mod:`daybreak.platform.coincidence`; this module registers the inputs, runs the
pipeline and fetches the rows. :func:`run_parquet` reads a world's Parquet files in
place on DuckDB (the large-input path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from daybreak.engines import Engine, run_on_frames
from daybreak.model.alerts import Alert
from daybreak.platform.coincidence import (
    DETECTOR_ID,
    EVIDENCE_QUERY,
    TRIPLES_QUERY,
    VERSION,
    CoincidenceParams,
    alerts,
    compile_pipeline,
)
from daybreak.platform.coincidence_stream import CoincidenceStream, owners_and_zones
from daybreak.platform.inputs import REQUIRED, StreamPaymentInput, reference_tables


def default_params(**overrides: object) -> CoincidenceParams:
    """Parameters with the payments pack's low-value caps per currency (one definition of
    "low value" for both detectors)."""
    from daybreak.payments.config import load_pack

    pack = load_pack()
    caps = {c: pack.low_value_cap(c) for c in sorted(pack.fx_to_reference)}
    return CoincidenceParams(low_value_caps=caps, **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CoincidenceResult:
    alerts: list[Alert]
    triples: pl.DataFrame  # every scored triple (customer, streamer, beneficiary)
    pairs: pl.DataFrame  # every candidate (show, payment) pair with its triple's score


def run_registered(
    eng: Engine, params: CoincidenceParams, *, with_pairs: bool = False
) -> CoincidenceResult:
    """Run the pipeline on an engine whose four input tables are registered."""
    eng.run(compile_pipeline(eng.dialect, params))
    min_score = max(params.alert_score, 1e-12)  # never alert on a triple below min_shows
    top = pl.from_arrow(eng.fetch(TRIPLES_QUERY.format(min_score=repr(min_score))))
    evidence = pl.from_arrow(eng.fetch(EVIDENCE_QUERY.format(min_score=repr(min_score))))
    assert isinstance(top, pl.DataFrame) and isinstance(evidence, pl.DataFrame)
    found = alerts(top.to_dicts(), evidence.to_dicts())
    triples = pairs = pl.DataFrame()
    if with_pairs:
        all_triples = pl.from_arrow(eng.fetch("SELECT * FROM coincidence_triples"))
        all_pairs = pl.from_arrow(eng.fetch("SELECT * FROM coincidence_pairs"))
        assert isinstance(all_triples, pl.DataFrame) and isinstance(all_pairs, pl.DataFrame)
        triples, pairs = all_triples, all_pairs
    return CoincidenceResult(found, triples, pairs)


def run_frames(
    data: StreamPaymentInput,
    params: CoincidenceParams | None = None,
    *,
    engine: str | Engine = "duckdb",
    with_pairs: bool = False,
) -> CoincidenceResult:
    chosen = params or default_params()
    return run_on_frames(
        engine, data.frames(), lambda eng: run_registered(eng, chosen, with_pairs=with_pairs)
    )


def run_parquet(
    world: Path, params: CoincidenceParams | None = None, *, with_pairs: bool = False
) -> CoincidenceResult:
    """A world folder's Parquet files read in place by DuckDB (no validation pass: for
    files ``daybreak validate`` or ``daybreak synth`` have checked)."""
    from daybreak.engines.duckdb import run_on_world_parquet

    chosen = params or default_params()
    return run_on_world_parquet(
        world,
        REQUIRED,
        lambda eng: run_registered(eng, chosen, with_pairs=with_pairs),
        optional=("customers",),
    )


def incremental(
    reference: str | Path,
    window_minutes: int = 90,
    min_shows: int = 2,
    lateness_minutes: int = 60,
) -> CoincidenceStream:
    """The stream detector (``daybreak stream run``): the same parameters as the batch
    one, with the bank's ``identifiers`` and ``customers`` (who owns which platform
    account, and where they live) read from the world folder ``reference``."""
    owners, zones = owners_and_zones(*reference_tables(Path(reference)))
    params = default_params(window_minutes=window_minutes, min_shows=min_shows)
    return CoincidenceStream(params, owners, zones, lateness_minutes)


class StreamPaymentDetector:
    """Live stream - payment coincidence behind the Detector protocol."""

    id = DETECTOR_ID
    version = VERSION

    def __init__(
        self, engine: str = "duckdb", window_minutes: int = 90, min_shows: int = 2
    ) -> None:
        self._engine = engine
        self.params = default_params(window_minutes=window_minutes, min_shows=min_shows)

    def detect(self, data: StreamPaymentInput) -> Sequence[Alert]:
        return run_frames(data, self.params, engine=self._engine).alerts


__all__ = [
    "CoincidenceResult",
    "StreamPaymentDetector",
    "default_params",
    "incremental",
    "run_frames",
    "run_parquet",
    "run_registered",
]
