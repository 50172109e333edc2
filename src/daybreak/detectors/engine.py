"""The interface compiled SQL pipelines run on. Implementations live in
:mod:`daybreak.engines` (DuckDB, Spark); detectors take an engine as a parameter, so
their logic does not depend on which one runs it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import final

import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.detectors.dialect import Dialect
from daybreak.detectors.pipeline import Pipeline


class EngineError(RuntimeError):
    """The engine could not run a step; the message names the step."""


class Engine(ABC):
    """Runs SQL for one dialect over registered Arrow tables."""

    dialect: Dialect

    @abstractmethod
    def register(self, name: str, table: pa.Table) -> None:
        """Make ``table`` readable as ``name`` in later SQL."""

    @abstractmethod
    def _define(self, name: str, sql: str, materialize: bool) -> None: ...

    @abstractmethod
    def _fetch(self, sql: str) -> pa.Table: ...

    @abstractmethod
    def close(self) -> None: ...

    @final
    def run(self, pipeline: Pipeline) -> None:
        """Define every step of ``pipeline`` in order."""
        for step in pipeline.steps:
            try:
                self._define(step.name, step.sql, step.materialize)
            except Exception as exc:  # engines raise their own error types
                raise EngineError(f"step '{step.name}' failed: {exc}") from exc

    @final
    def fetch(self, sql: str) -> pa.Table:
        try:
            return self._fetch(sql)
        except Exception as exc:
            raise EngineError(f"query failed: {exc}") from exc

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Engine", "EngineError"]
