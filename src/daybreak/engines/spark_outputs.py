"""Results written by Spark to a URI the user gives (``--out file:///shared/run``,
``s3a://bucket/run``, ``hdfs://…``): the executors write, with the cluster's own
storage settings and credentials, and nothing lands in a folder only this machine sees.

Each table becomes ``<uri>/<name>``: a folder of one part file, as Spark writes
(``alerts.parquet/part-00000-….parquet``), read back as one table by Spark, pyarrow,
polars or DuckDB (``read_parquet('…/alerts.parquet/*.parquet')``). Small text (a run's
``summary.json``) is a folder holding one text part file.

Files that must stay files (a trained model's pickles and manifest) are copied through
the Hadoop filesystem API of the session's driver instead (:func:`copy_folder_to_uri`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.engines.spark import SparkConfigError


def write_by_spark(
    spark: Any, uri: str, tables: Mapping[str, pl.DataFrame], texts: Mapping[str, str] = {}
) -> list[str]:
    """Write ``tables`` (Parquet, ``.jsonl`` as JSON lines, ``.csv`` with a header, by
    name) and ``texts`` under ``uri``; returns what was written."""
    if "://" not in uri:
        raise SparkConfigError(f"--out {uri}: expected a URI (file:///…, s3a://…, hdfs://…)")
    base = uri.rstrip("/")
    written = []
    for name, frame in tables.items():
        sent = spark.createDataFrame(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
        # one part file: results are small next to the inputs, and one file per table
        # is what people open
        writer = sent.coalesce(1).write.mode("overwrite")
        target = f"{base}/{name}"
        if name.endswith(".jsonl"):
            writer.option("ignoreNullFields", "false").json(target)  # as polars writes
        elif name.endswith(".csv"):
            writer.option("header", "true").csv(target)
        else:
            writer.parquet(target)
        written.append(target)
    for name, text in texts.items():
        lines = spark.createDataFrame([(text.rstrip("\n"),)], "value STRING")
        lines.coalesce(1).write.mode("overwrite").text(f"{base}/{name}")
        written.append(f"{base}/{name}")
    return written


def copy_folder_to_uri(spark: Any, folder: Path, uri: str) -> list[str]:
    """The files of ``folder`` (a model: pickles, its manifest and card) copied under
    ``uri`` byte for byte, through the Hadoop filesystem API of the session's driver
    with the cluster's storage settings (``spark.hadoop.*``: s3a credentials, HDFS
    name nodes). Files, not tables: Spark's writers would make each one a folder of
    part files. Returns the URIs written."""
    jvm, conf = _hadoop(spark, uri)
    base = uri.rstrip("/")
    target = jvm.org.apache.hadoop.fs.Path(base)
    fs = target.getFileSystem(conf)
    fs.mkdirs(target)
    written = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        local = jvm.org.apache.hadoop.fs.Path(path.resolve().as_uri())
        dest = f"{base}/{path.name}"
        fs.copyFromLocalFile(False, True, local, jvm.org.apache.hadoop.fs.Path(dest))
        written.append(dest)
    return written


def copy_folder_from_uri(spark: Any, uri: str, folder: Path) -> Path:
    """The files directly under ``uri`` copied into ``folder`` (the inverse of
    :func:`copy_folder_to_uri`); returns ``folder``."""
    jvm, conf = _hadoop(spark, uri)
    source = jvm.org.apache.hadoop.fs.Path(uri.rstrip("/"))
    fs = source.getFileSystem(conf)
    if not fs.exists(source):
        raise SparkConfigError(f"{uri}: not found")
    folder.mkdir(parents=True, exist_ok=True)
    for status in fs.listStatus(source):
        if status.isFile():
            name = status.getPath().getName()
            local = jvm.org.apache.hadoop.fs.Path((folder / name).resolve().as_uri())
            fs.copyToLocalFile(False, status.getPath(), local, True)
    return folder


def _hadoop(spark: Any, uri: str) -> tuple[Any, Any]:
    """The driver JVM and its Hadoop configuration; a clear error where there is no
    driver JVM here (Spark Connect) or ``uri`` is not a URI."""
    if "://" not in uri:
        raise SparkConfigError(f"{uri}: expected a URI (file:///…, s3a://…, hdfs://…)")
    jsc = getattr(spark, "_jsc", None)
    if jsc is None:
        raise SparkConfigError(
            f"{uri}: files are copied through the Hadoop filesystem API of a driver in "
            "this process, which a Spark Connect session does not have; use "
            "--spark-master spark://… (or yarn, k8s://, spark-submit), or a local folder"
        )
    return spark._jvm, jsc.hadoopConfiguration()


__all__ = ["copy_folder_from_uri", "copy_folder_to_uri", "write_by_spark"]
