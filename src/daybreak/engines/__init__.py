"""Engines execute compiled SQL pipelines; they hold no detection logic.

``open_engine("duckdb")`` is the default and in-process; ``open_engine("spark")`` starts a
local-mode Spark session on first use only, so DuckDB runs never start a JVM.
"""

from __future__ import annotations

from typing import Final

from daybreak.detectors.engine import Engine, EngineError

ENGINES: Final = ("duckdb", "spark")


def open_engine(name: str) -> Engine:
    if name == "duckdb":
        from daybreak.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from daybreak.engines.spark import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown engine '{name}': choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "EngineError", "open_engine"]
