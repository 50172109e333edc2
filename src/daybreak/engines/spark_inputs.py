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
from daybreak.schema.columns import ColumnType

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
    """Whether Spark's executors read ``source`` themselves: a URI, a Parquet or CSV
    file, or a folder holding Parquet part files (what Spark itself writes)."""
    if is_uri(source):
        return True
    path = Path(source)
    if path.suffix.lower() in (*PARQUET_SUFFIXES, ".csv"):
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
    the ids of the rows it reads, as on DuckDB). A ``.csv`` source is read as CSV
    (:func:`read_csv_checked`), anything else as Parquet."""
    if str(source).lower().endswith(".csv"):
        return read_csv_checked(spark, source, table, view, check_unique=check_unique)
    try:
        frame = spark.read.parquet(spark_uri(source))
    except Exception as exc:  # Spark's errors come from the JVM, typed by message only
        raise SchemaError([ValidationIssue(str(source), None, None,
                                           f"Spark cannot read it as Parquet: {_first_line(exc)}")]) from None  # fmt: skip
    described = {f.name: _duckdb_type(f.dataType) for f in frame.schema.fields}
    checks = column_checks(table, str(source), described, SPARK_CHECKS)
    frame.createOrReplaceTempView(view)
    located = (frame, "_metadata.row_index")
    return _check_rows(spark, view, table, checks, located, check_unique=check_unique)


def _check_rows(
    spark: Any,
    view: str,
    table: str,
    checks: list[tuple[str, str, str]],
    located: tuple[Any, str],
    *,
    check_unique: bool,
) -> int:
    """Count the rows of ``view`` that fail each check in one pass; on any failure,
    raise SchemaError locating the first: ``located`` is the frame to number and the
    SQL of its 0-based row within its file."""
    unique = [c.name for c in TABLES[table].columns if c.unique and check_unique]
    counts = [f"count_if({pred}) AS bad{i}" for i, (_, pred, _) in enumerate(checks)]
    counts += [f"count(`{c}`) - count(DISTINCT `{c}`) AS dup{i}" for i, c in enumerate(unique)]
    head = spark.sql(f"SELECT {', '.join(['count(*) AS n', *counts])} FROM {view}").collect()[0]
    failed = [check for i, check in enumerate(checks) if head[f"bad{i}"]]
    repeated = [c for i, c in enumerate(unique) if head[f"dup{i}"]]
    if failed or repeated:
        raise SchemaError(_locate(spark, *located, failed, repeated, view))
    return int(head["n"])


# Text that polars' reader takes as a timestamp (``daybreak.schema.validate``): ISO 8601
# with a Z or an offset, seconds required, a fraction optional.
_ISO_TIMESTAMP = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$"
)
_CORRUPT = "__malformed"


def read_csv_checked(
    spark: Any, source: str | Path, table: str, view: str, *, check_unique: bool = True
) -> int:
    """A CSV file with a header, read by the executors (``spark.read.csv``) as text and
    checked with the rules the Parquet path uses; ``view`` holds the typed rows. A row
    with more or fewer fields than the header is an error naming its line."""
    from pyspark.sql.types import StringType, StructField, StructType

    uri, name = spark_uri(source), str(source)
    try:
        header = spark.read.option("header", "true").csv(uri).columns
    except Exception as exc:
        raise SchemaError([ValidationIssue(name, None, None,
                                           f"Spark cannot read it as CSV: {_first_line(exc)}")]) from None  # fmt: skip
    spec = TABLES[table]
    described = {
        c: "TIMESTAMP WITH TIME ZONE" if c in spec.names and spec.column(c).type == ColumnType.TIMESTAMP else "VARCHAR"
        for c in header
    }  # fmt: skip
    checks = column_checks(table, name, described, SPARK_CHECKS)
    # Without pruning, every query parses whole rows: a pruned read leaves a row with
    # too many fields unflagged when the query reads only some columns.
    spark.conf.set("spark.sql.csv.parser.columnPruning.enabled", "false")
    fields = [StructField(c, StringType()) for c in [*header, _CORRUPT]]
    raw = (
        spark.read.schema(StructType(fields))
        .options(header="true", mode="PERMISSIVE", columnNameOfCorruptRecord=_CORRUPT)
        .csv(uri)
    )
    raw_view = f"{view}__text"
    raw.createOrReplaceTempView(raw_view)
    for col in spec.columns:
        if col.type == ColumnType.TIMESTAMP:
            checks.append((col.name, f"(`{col.name}` IS NOT NULL AND {_csv_value(col.name, col.type)} IS NULL)",
                           "expected an ISO-8601 UTC timestamp like 2025-03-01T22:15:00Z"))  # fmt: skip
    # a row that is not the header's shape (the column is left unnamed: "")
    checks.append(("", f"`{_CORRUPT}` IS NOT NULL", f"expected the header's {len(header)} fields"))
    # CSV has no row index in Spark's file metadata: rows are numbered in file order
    # (split start, then position within the split), only when something failed.
    order = "row_number() OVER (PARTITION BY _metadata.file_path ORDER BY _metadata.file_block_start, monotonically_increasing_id()) - 1"  # fmt: skip
    total = _check_rows(spark, raw_view, table, checks, (raw, order), check_unique=check_unique)
    typed = ", ".join(f"{_csv_value(c.name, c.type)} AS `{c.name}`" for c in spec.columns)
    spark.sql(f"SELECT {typed} FROM {raw_view}").createOrReplaceTempView(view)
    return total


def _csv_value(column: str, kind: ColumnType) -> str:
    """A CSV cell (text) as the value ``read_table`` makes of it."""
    c = f"`{column}`"
    match kind:
        case ColumnType.TIMESTAMP:
            return f"CASE WHEN {c} RLIKE '{_ISO_TIMESTAMP}' THEN CAST({c} AS TIMESTAMP) END"
        case ColumnType.DECIMAL:
            return f"CAST({c} AS DOUBLE)"
        case ColumnType.INTEGER:
            return f"CAST({c} AS BIGINT)"
        case ColumnType.BOOLEAN:
            return f"CASE WHEN lower({c}) IN ('true', '1', 'yes') THEN true WHEN lower({c}) IN ('false', '0', 'no') THEN false END"
        case _:
            return c


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _locate(
    spark: Any,
    frame: Any,
    row: str,
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
        F.expr(row).alias("__row"),
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


__all__ = [
    "PARQUET_SUFFIXES",
    "is_uri",
    "read_by_spark",
    "read_checked",
    "read_csv_checked",
    "spark_uri",
]
