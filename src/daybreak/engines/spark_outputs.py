"""Results written by Spark to a URI the user gives (``--out file:///shared/run``,
``s3a://bucket/run``, ``hdfs://…``): the executors write, with the cluster's own
storage settings and credentials, and nothing lands in a folder only this machine sees.

Each table becomes ``<uri>/<name>``: a folder of one part file, as Spark writes
(``alerts.parquet/part-00000-….parquet``), read back as one table by Spark, pyarrow,
polars or DuckDB (``read_parquet('…/alerts.parquet/*.parquet')``). Small text (a run's
``summary.json``) is a folder holding one text part file.
"""

from __future__ import annotations

from collections.abc import Mapping
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


__all__ = ["write_by_spark"]
