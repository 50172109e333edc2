"""The Spark engine: the same compiled SQL in a local-mode session, created lazily."""

from __future__ import annotations

import shutil
import tempfile
from itertools import count
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

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
        from splink.backends.spark import similarity_jar_location

        # The session is shared by the payments engine and splink matching; static
        # settings such as the jar list only take effect in the first builder.
        builder = (
            SparkSession.builder.master("local[2]")
            .appName("daybreak")
            .config("spark.jars", similarity_jar_location())
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.ansi.enabled", "false")
            # Results come back through Parquet files; micros with UTC keep the zone.
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
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
        self._scratch = Path(tempfile.mkdtemp(prefix="daybreak-spark-"))
        self._files = count()

    @property
    def _spark(self) -> Any:
        return spark_session(self._conf)

    def _path(self, stem: str) -> str:
        return str(self._scratch / f"{stem}-{next(self._files)}.parquet")

    # Data crosses between Python and the JVM as Parquet files, not over py4j's local
    # socket: Arrow collection over that socket was seen to hang in CI, and files are
    # also how Spark reads inputs at scale.
    def register(self, name: str, table: pa.Table) -> None:
        path = self._path(name)
        pq.write_table(table, path)
        frame = self._spark.read.parquet(path)
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _define(self, name: str, sql: str, materialize: bool) -> None:
        frame = self._spark.sql(sql)
        if materialize:
            # Computed now and cut from its lineage: a cached frame still carries the
            # plans of every step before it, and plans that read several of those grow
            # until describing them exhausts the driver's memory.
            frame = frame.localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _fetch(self, sql: str) -> pa.Table:
        path = self._path("result")
        self._spark.sql(sql).coalesce(1).write.mode("overwrite").parquet(path)
        return pq.read_table(path)

    def close(self) -> None:
        if _SESSION is not None:
            for name in self._views:
                _SESSION.catalog.dropTempView(name)
            _SESSION.catalog.clearCache()
        self._views.clear()
        shutil.rmtree(self._scratch, ignore_errors=True)
