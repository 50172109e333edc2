"""The Spark engine: the same compiled SQL on local Spark, a cluster or Spark Connect.

Where the session comes from (:class:`SparkSettings`, first match wins):

* ``--spark-master sc://host:15002`` (or ``SPARK_REMOTE`` / ``spark.remote``): Spark
  Connect; the server owns the cluster and its static settings;
* ``--spark-master spark://…``, ``yarn``, ``k8s://…`` (or ``DAYBREAK_SPARK_MASTER``): a
  driver in this process on that cluster manager;
* under ``spark-submit`` (or wherever a session is already active): that session, with
  the master and resources ``spark-submit`` was given;
* otherwise local mode on every core, bound to 127.0.0.1.

Input files in Parquet (a path every worker mounts at the same place, or a URI) are read
by the executors where they lie (``register_files``; :mod:`daybreak.engines.spark_inputs`).
Other data cross between this process and the cluster through Spark itself (Arrow
batches up with ``createDataFrame``, down with ``toArrow``), or, with an exchange URI
(``hdfs://``, ``s3a://``, a shared path), as Parquet files there. Never through a
driver-local folder, which executors on other machines cannot read or write.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.detectors.dialect import SparkDialect
from daybreak.engines import Engine, EngineError

# For small inputs (tests, demos): one partition and no code generation, because
# compiling Java for each of ~40 tiny stages costs more than running them.
SMALL_DATA_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "1",
    "spark.sql.codegen.wholeStage": "false",
}

# What every session gets: the detector's SQL assumes UTC and non-ANSI casts; results
# written as Parquet keep micros with the zone. All are runtime settings, so they can
# also be set on a Connect session.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}

# Local mode only: a driver nobody else needs to reach, and no UI port opened.
LOCAL_CONF = {
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}

ENV_MASTER = "DAYBREAK_SPARK_MASTER"
ENV_CONF_FILE = "DAYBREAK_SPARK_CONF_FILE"
ENV_EXCHANGE = "DAYBREAK_SPARK_EXCHANGE"


class SparkConfigError(ValueError):
    """A Spark setting that cannot be used; the message names it."""


@dataclass(frozen=True)
class SparkSettings:
    """Where and how Spark runs. ``conf`` overrides the defaults key by key."""

    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    exchange: str | None = None

    @property
    def remote(self) -> str | None:
        """The Spark Connect URL, if this is a Connect session."""
        if self.master and self.master.startswith("sc://"):
            return self.master
        return self.conf.get("spark.remote")

    @property
    def mode(self) -> str:
        if self.remote:
            return "connect"
        if self.master:
            return "local" if self.master.startswith("local") else "cluster"
        return "submitted" if _under_spark_submit() else "local"

    def key(self) -> tuple[str, str | None]:
        """Which Spark this is: settings with the same key share one session."""
        return self.mode, self.remote or self.master

    @classmethod
    def from_environment(
        cls,
        master: str | None = None,
        conf: Iterable[str] = (),
        exchange: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SparkSettings:
        """Settings from the command line, then the environment: ``master`` or
        ``DAYBREAK_SPARK_MASTER`` or ``SPARK_REMOTE``; a properties file
        ``DAYBREAK_SPARK_CONF_FILE`` (``spark-defaults.conf`` form), then ``conf``
        (``KEY=VALUE`` items) over it; ``exchange`` or ``DAYBREAK_SPARK_EXCHANGE``."""
        env = os.environ if env is None else env
        settings: dict[str, str] = {}
        if env.get(ENV_CONF_FILE):
            settings.update(read_properties(Path(env[ENV_CONF_FILE])))
        for item in conf:
            k, sep, v = item.partition("=")
            if not sep or not k.strip():
                raise SparkConfigError(f"--spark-conf {item!r}: expected KEY=VALUE")
            settings[k.strip()] = v.strip()
        chosen = master or env.get(ENV_MASTER) or env.get("SPARK_REMOTE") or None
        return cls(chosen, settings, exchange or env.get(ENV_EXCHANGE) or None)


def read_properties(path: Path) -> dict[str, str]:
    """``key value`` or ``key=value`` lines; ``#`` starts a comment."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise SparkConfigError(f"{path}: cannot read Spark settings ({exc.strerror})") from None
    out: dict[str, str] = {}
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        k, v = _split_property(line)
        if not k or not v:
            raise SparkConfigError(f"{path}, line {n}: expected 'key value', got {raw!r}")
        out[k] = v
    return out


def _split_property(line: str) -> tuple[str, str]:
    eq, sp = line.find("="), line.find(" ")
    cut = min(i for i in (eq, sp, len(line)) if i >= 0)
    return line[:cut].strip(), line[cut + 1 :].strip(" =\t")


def _under_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands its gateway port to Python.
    return "PYSPARK_GATEWAY_PORT" in os.environ


_SESSION: Any = None
_SESSION_KEY: object = None


def spark_session(settings: SparkSettings | Mapping[str, str] | None = None) -> Any:
    """One shared session per process, started on first use only. A call for another
    master replaces it (a process holds one classic Spark driver at a time); a call for
    the same one applies its runtime settings (partitions, code generation) to it, while
    static ones (jars, memory) stay those of the first call."""
    global _SESSION, _SESSION_KEY
    if not isinstance(settings, SparkSettings):
        settings = SparkSettings(conf=dict(settings or {}))
    if _SESSION is not None and settings.key() == _SESSION_KEY:
        for key, value in settings.conf.items():
            if not _SESSION.conf.isModifiable(key):
                continue  # static: fixed when the session started
            _SESSION.conf.set(key, value)
        return _SESSION
    if _SESSION is not None and settings.mode != "submitted":
        _SESSION.stop()
    _SESSION = _connect(settings) if settings.mode == "connect" else _classic(settings)
    _SESSION_KEY = settings.key()
    return _SESSION


def _connect(settings: SparkSettings) -> Any:
    from pyspark.sql import SparkSession

    session = SparkSession.builder.remote(str(settings.remote)).create()
    # Static settings (memory, jars, cores) belong on the server's launch line.
    for key, value in {**SESSION_CONF, **settings.conf}.items():
        if key == "spark.remote":
            continue
        try:
            session.conf.set(key, value)
        except Exception as exc:
            raise SparkConfigError(
                f"Spark setting {key}={value} cannot be set from a Spark Connect client "
                f"(set it when starting the Connect server): {exc}"
            ) from None
    return session


def _classic(settings: SparkSettings) -> Any:
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    # The session is shared by the payments engine and splink matching; static
    # settings such as the jar list only take effect in the first builder.
    builder = SparkSession.builder.appName("daybreak").config(
        "spark.ui.showConsoleProgress", "false"
    )
    conf = {**SESSION_CONF}
    if settings.mode == "local":
        builder = builder.master(settings.master or "local[*]")
        conf.update(LOCAL_CONF)
    elif settings.mode == "cluster":
        builder = builder.master(str(settings.master))
    jars = [similarity_jar_location(), *filter(None, [settings.conf.get("spark.jars")])]
    conf["spark.jars"] = ",".join(jars)
    conf.update({k: v for k, v in settings.conf.items() if k != "spark.jars"})
    for key, value in conf.items():
        builder = builder.config(key, value)
    # Python run by the executors (the graph build's identifier normalisation) runs in
    # this interpreter's path, where Daybreak is installed, unless PYSPARK_PYTHON names
    # another (read when the context starts; "python3" on the PATH otherwise).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine(Engine):
    def __init__(self, settings: SparkSettings | Mapping[str, str] | None = None) -> None:
        self.dialect = SparkDialect()
        self._settings = (
            settings
            if isinstance(settings, SparkSettings)
            else SparkSettings(conf=dict(settings or {}))
        )
        self._views: list[str] = []
        self._files = count()
        self._exchange = Exchange(self._settings.exchange) if self._settings.exchange else None

    @property
    def _spark(self) -> Any:
        return spark_session(self._settings)

    def register(self, name: str, table: pa.Table) -> None:
        if self._exchange is not None:
            frame = self._spark.read.parquet(self._exchange.write(name, table))
        else:
            frame = self._spark.createDataFrame(table)
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def register_files(
        self, name: str, source: str | Path, table: str, *, check_unique: bool = True
    ) -> int:
        """Parquet at ``source`` (a path every worker mounts, or a URI) as the view
        ``name``, read and checked as the public ``table`` by the executors
        (:mod:`daybreak.engines.spark_inputs`); returns the row count."""
        from daybreak.engines.spark_inputs import read_checked

        self._views.append(name)
        return read_checked(self._spark, source, table, name, check_unique=check_unique)

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
        frame = self._spark.sql(sql)
        if self._exchange is not None:
            uri = self._exchange.uri(f"result-{next(self._files)}")
            frame.write.mode("overwrite").parquet(uri)
            return self._exchange.read(uri)
        return _utc(frame.toArrow())

    def close(self) -> None:
        if _SESSION is not None:
            for name in self._views:
                _SESSION.catalog.dropTempView(name)
            _SESSION.catalog.clearCache()
        self._views.clear()
        if self._exchange is not None:
            self._exchange.remove()


def _utc(table: pa.Table) -> pa.Table:
    """Timestamps as UTC-zoned micros, as the Parquet route gives them (``toArrow``
    labels them with the session zone, which is UTC, but may keep nanoseconds)."""
    fields = [
        pa.field(f.name, pa.timestamp("us", tz="UTC"), f.nullable)
        if pa.types.is_timestamp(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


class Exchange:
    """A folder the driver and every executor reach by one URI; this run's files go
    in a sub-folder of their own, removed at the end."""

    def __init__(self, base: str) -> None:
        import pyarrow.fs as pafs  # type: ignore[import-untyped]

        if "://" not in base and not base.startswith("/"):
            raise SparkConfigError(
                f"Spark exchange {base!r}: give an absolute path every worker mounts at the "
                "same place, or a URI (hdfs://, s3a://, file:///)"
            )
        self._base = base.rstrip("/") + f"/daybreak-{uuid.uuid4().hex}"
        # pyarrow names S3 s3://, Hadoop's connector s3a://: one bucket either way.
        arrow_uri = self._base.replace("s3a://", "s3://", 1)
        try:
            self._fs, self._root = pafs.FileSystem.from_uri(arrow_uri)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SparkConfigError(f"Spark exchange {base!r}: {exc}") from None
        self._fs.create_dir(self._root, recursive=True)
        self._files = count()

    def uri(self, stem: str) -> str:
        return f"{self._base}/{stem}.parquet"

    def _local(self, uri: str) -> str:
        return f"{self._root}{uri[len(self._base) :]}"

    def write(self, name: str, table: pa.Table) -> str:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        uri = self.uri(f"{name}-{next(self._files)}")
        pq.write_table(table, self._local(uri), filesystem=self._fs)
        return uri

    def read(self, uri: str) -> pa.Table:
        import pyarrow.dataset as ds  # type: ignore[import-untyped]

        # Spark writes a folder of part files (and _SUCCESS markers, which are skipped).
        data = ds.dataset(self._local(uri), filesystem=self._fs, format="parquet",
                          exclude_invalid_files=True)  # fmt: skip
        return data.to_table()

    def remove(self) -> None:
        with contextlib.suppress(OSError):  # nothing written, or already gone
            self._fs.delete_dir(self._root)


__all__ = [
    "SMALL_DATA_CONF",
    "EngineError",
    "SparkConfigError",
    "SparkEngine",
    "SparkSettings",
    "spark_session",
]
