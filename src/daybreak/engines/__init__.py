"""Engines execute compiled SQL pipelines; they hold no detection logic.

``open_engine("duckdb")`` is the default and in-process; ``open_engine("spark", settings)``
starts a Spark session (local, a cluster or Spark Connect: ``daybreak.engines.spark``) on
first use only, so DuckDB runs never start a JVM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, TypeVar

from daybreak.detectors.engine import Engine, EngineError

if TYPE_CHECKING:
    import polars as pl

    from daybreak.engines.spark import SparkSettings

T = TypeVar("T")

ENGINES: Final = ("duckdb", "spark")


def open_engine(name: str, spark: SparkSettings | None = None) -> Engine:
    """An engine by name; ``spark`` says where Spark runs (default: local mode)."""
    if name == "duckdb":
        from daybreak.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from daybreak.engines.spark import SparkEngine

        return SparkEngine(spark)
    raise ValueError(f"unknown engine '{name}': choose one of {', '.join(ENGINES)}")


def run_on_frames(
    engine: str | Engine, frames: Mapping[str, pl.DataFrame], run: Callable[[Engine], T]
) -> T:
    """Register ``frames`` (table name -> frame) on ``engine`` and return ``run(engine)``.
    An engine given by name is opened here and closed afterwards; one given as an object
    stays open (its owner closes it)."""
    import polars as pl

    eng = open_engine(engine) if isinstance(engine, str) else engine
    try:
        compat = pl.CompatLevel.oldest()  # Spark reads the oldest Arrow layout too
        for name, frame in frames.items():
            eng.register(name, frame.to_arrow(compat_level=compat))
        return run(eng)
    finally:
        if isinstance(engine, str):
            eng.close()


def fetch_frame(eng: Engine, sql: str) -> pl.DataFrame:
    """The rows of ``sql`` on ``eng`` as a polars frame."""
    import polars as pl  # not at import time: ``daybreak.engines`` stays light

    out = pl.from_arrow(eng.fetch(sql))
    assert isinstance(out, pl.DataFrame)
    return out


__all__ = ["ENGINES", "Engine", "EngineError", "fetch_frame", "open_engine", "run_on_frames"]
