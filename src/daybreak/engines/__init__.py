"""Engines execute compiled SQL pipelines; they hold no detection logic.

``open_engine("duckdb")`` is the default and in-process; ``open_engine("spark", settings)``
starts a Spark session (local, a cluster or Spark Connect: ``daybreak.engines.spark``) on
first use only, so DuckDB runs never start a JVM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from daybreak.detectors.engine import Engine, EngineError

if TYPE_CHECKING:
    from daybreak.engines.spark import SparkSettings

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


__all__ = ["ENGINES", "Engine", "EngineError", "open_engine"]
