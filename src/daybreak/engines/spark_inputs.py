"""Input files the Spark executors read where they lie, never through the driver.

A Parquet file or a folder of part files, given as a path every worker mounts at the
same place or as a URI (``file:///``, ``hdfs://``, ``s3a://`` with the credentials of the
user's cluster configuration), is read with ``spark.read.parquet``: the executors read
the footers (schema inference is a Spark job) and the rows; the driver only lists the
files. The rows are checked against the public schema in Spark SQL with the rules of
:mod:`daybreak.payments.sqlcheck`, and a problem names the part file, the row within it,
the column and what was expected, as the DuckDB path does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daybreak.payments.sqlcheck import SPARK_CHECKS, column_checks
from daybreak.schema import TABLES, SchemaError, ValidationIssue

PARQUET_SUFFIXES = (".parquet", ".pq")

# Spark's type names in DuckDB's, which the shared rules are written against.
_DUCKDB_TYPE = {
    "string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "timestamp": "TIMESTAMP WITH TIME ZONE",  # Parquet's isAdjustedToUTC timestamps
    "timestamp_ntz": "TIMESTAMP",
}


def is_uri(source: str | Path) -> bool:
    return "://" in str(source)


def read_by_spark(source: str | Path) -> bool:
    """Whether Spark's executors read ``source`` themselves: a URI, a Parquet file, or a
    folder holding Parquet part files (what Spark itself writes)."""
    if is_uri(source):
        return True
    path = Path(source)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return True
    return path.is_dir() and any(
        p.suffix.lower() in PARQUET_SUFFIXES for p in path.iterdir() if p.is_file()
    )


def spark_uri(source: str | Path) -> str:
    """``source`` as a URI Spark resolves the same way on every machine: a path becomes
    ``file:///`` and absolute (a relative path would be taken from each executor's
    working folder)."""
    return str(source) if is_uri(source) else Path(source).resolve().as_uri()


def _duckdb_type(spark_type: Any) -> str:
    name = str(spark_type.simpleString())
    return _DUCKDB_TYPE.get(name, name.upper())


def read_checked(
    spark: Any, source: str | Path, table: str, view: str, *, check_unique: bool = True
) -> int:
    """Read ``source`` as the public ``table`` into the temporary view ``view`` and check
    every row; returns the row count. Raises SchemaError naming file, row and column.
    ``check_unique=False`` leaves id uniqueness to the caller (the payments scan checks
    the ids of the rows it reads, as on DuckDB)."""
    try:
        frame = spark.read.parquet(spark_uri(source))
    except Exception as exc:  # Spark's errors come from the JVM, typed by message only
        raise SchemaError([ValidationIssue(str(source), None, None,
                                           f"Spark cannot read it as Parquet: {_first_line(exc)}")]) from None  # fmt: skip
    described = {f.name: _duckdb_type(f.dataType) for f in frame.schema.fields}
    checks = column_checks(table, str(source), described, SPARK_CHECKS)
    frame.createOrReplaceTempView(view)
    unique = [c.name for c in TABLES[table].columns if c.unique and check_unique]
    counts = [f"count_if({pred}) AS bad{i}" for i, (_, pred, _) in enumerate(checks)]
    counts += [f"count(`{c}`) - count(DISTINCT `{c}`) AS dup{i}" for i, c in enumerate(unique)]
    head = spark.sql(f"SELECT {', '.join(['count(*) AS n', *counts])} FROM {view}").collect()[0]
    failed = [check for i, check in enumerate(checks) if head[f"bad{i}"]]
    repeated = [c for i, c in enumerate(unique) if head[f"dup{i}"]]
    if failed or repeated:
        raise SchemaError(_locate(spark, frame, failed, repeated, view))
    return int(head["n"])


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _locate(
    spark: Any,
    frame: Any,
    failed: list[tuple[str, str, str]],
    repeated: list[str],
    view: str,
) -> list[ValidationIssue]:
    """Where each failed check first fails: the part file and its row (1-based), read
    from Spark's file metadata, in a second pass made only when something failed."""
    from pyspark.sql import functions as F

    numbered = f"{view}__numbered"
    frame.select(
        "*",
        F.col("_metadata.file_path").alias("__file"),
        F.col("_metadata.row_index").alias("__row"),
    ).createOrReplaceTempView(numbered)
    try:
        where = "struct(__file, __row + 1)"
        firsts = [f"min({where}) FILTER (WHERE {pred}) AS f{i}, count_if({pred}) AS n{i}"
                  for i, (_, pred, _) in enumerate(failed)]  # fmt: skip
        issues = []
        if firsts:
            found = spark.sql(f"SELECT {', '.join(firsts)} FROM {numbered}").collect()[0]
            for i, (column, _, message) in enumerate(failed):
                n = int(found[f"n{i}"])
                more = f" ({n} rows in all)" if n > 1 else ""
                file, row = found[f"f{i}"]
                issues.append(ValidationIssue(file, int(row), column, message + more))
        for column in repeated:
            file, row = spark.sql(
                f"SELECT min({where}) AS f FROM (SELECT __file, __row, row_number() OVER "
                f"(PARTITION BY `{column}` ORDER BY __file, __row) AS k FROM {numbered}) "
                "WHERE k > 1"
            ).collect()[0]["f"]
            issues.append(ValidationIssue(file, int(row), column,
                                          "duplicate id (appears earlier in the input)"))  # fmt: skip
        return issues
    finally:
        spark.catalog.dropTempView(numbered)


__all__ = ["PARQUET_SUFFIXES", "is_uri", "read_by_spark", "read_checked", "spark_uri"]
