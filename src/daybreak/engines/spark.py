"""The Spark engine: the same compiled SQL in a local-mode session, created lazily."""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.detectors.dialect import SparkDialect
from daybreak.engines import Engine

_SESSION: Any = None

# For small inputs (tests, demos): one partition and no code generation, because
# compiling Java for each of ~40 tiny stages costs more than running them.
SMALL_DATA_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.codegen.wholeStage": "false",
}


def spark_session(conf: dict[str, str] | None = None) -> Any:
    """One shared local session per process; started on first use only."""
    global _SESSION
    if _SESSION is None:
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master("local[2]")
            .appName("daybreak")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.ansi.enabled", "false")
        )
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        _SESSION = builder.getOrCreate()
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


class SparkEngine(Engine):
    def __init__(self, conf: dict[str, str] | None = None) -> None:
        self.dialect = SparkDialect()
        self._conf = conf
        self._views: list[str] = []

    @property
    def _spark(self) -> Any:
        return spark_session(self._conf)

    def register(self, name: str, table: pa.Table) -> None:
        frame = self._spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _define(self, name: str, sql: str, materialize: bool) -> None:
        frame = self._spark.sql(sql)
        if materialize:
            frame = frame.cache()
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _fetch(self, sql: str) -> pa.Table:
        frame = self._spark.sql(sql)
        if hasattr(frame, "toArrow"):
            return frame.toArrow()
        return pa.Table.from_pandas(frame.toPandas())

    def close(self) -> None:
        if _SESSION is not None:
            for name in self._views:
                _SESSION.catalog.dropTempView(name)
            _SESSION.catalog.clearCache()
        self._views.clear()
