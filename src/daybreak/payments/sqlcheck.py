"""Schema validation of a Parquet file inside DuckDB, for large scans.

``daybreak.schema.read_table`` validates with Polars after loading every row; at tens of
millions of rows that costs more than the whole scan. This module applies the same
column rules (from ``daybreak.schema.TABLES``) as one SQL pass over the file, so the
scan never copies the data out of DuckDB, and reports problems with the same
``SchemaError`` / ``ValidationIssue`` (file, row, column, what was expected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from daybreak.schema import TABLES, SchemaError, ValidationIssue
from daybreak.schema.codes import countries, currencies, timezones
from daybreak.schema.columns import Column, ColumnType


def _lit(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


class CheckSQL:
    """How DuckDB writes the checks that differ between engines. Column types are
    described in DuckDB's names (``VARCHAR``, ``DOUBLE``, ``TIMESTAMP WITH TIME ZONE``)
    whatever the engine, so one set of rules serves both."""

    quote = '"'

    def name(self, column: str) -> str:
        return f"{self.quote}{column}{self.quote}"

    def in_codes(self, value: str, table: str, codes: frozenset[str]) -> str:
        # Read from the tables ``prepare_code_tables`` makes: an IN over a subquery is
        # a hash join, an IN over 250 literals is 250 comparisons per row.
        return f"{value} IN (SELECT code FROM {table})"

    def four_digits(self, text: str) -> str:
        return f"{text} GLOB '[0-9][0-9][0-9][0-9]'"

    def blank(self, text: str) -> str:
        return f"regexp_full_match({text}, '\\s*')"


class SparkCheckSQL(CheckSQL):
    """Spark SQL: no GLOB, and no subquery inside an aggregate's FILTER; Spark turns a
    long IN list into a hash set (``InSet``) itself."""

    quote = "`"

    def in_codes(self, value: str, table: str, codes: frozenset[str]) -> str:
        return f"{value} IN ({_lit(codes)})"

    def four_digits(self, text: str) -> str:
        return f"{text} RLIKE '^[0-9]{{4}}$'"

    def blank(self, text: str) -> str:
        return f"{text} RLIKE '^\\\\s*$'"  # the regex, once Spark unescapes the literal: ^\s*$


DUCKDB_CHECKS = CheckSQL()
SPARK_CHECKS = SparkCheckSQL()


def _rule(col: Column, sql_type: str, sql: CheckSQL = DUCKDB_CHECKS) -> tuple[str, str] | None:
    """(bad-row predicate, what was expected) for one present value, or None."""
    c = sql.name(col.name)

    match col.type:
        case ColumnType.TIMESTAMP:
            return None  # checked on the column type: it must be timestamp with time zone
        case ColumnType.DECIMAL:
            v = c if sql_type == "DOUBLE" else f"try_cast({c} AS DOUBLE)"
            return f"({v} IS NULL OR isnan({v}) OR {v} < 0)", "expected a non-negative number"
        case ColumnType.INTEGER:
            v = f"try_cast({c} AS BIGINT)"
            bad = f"{v} IS NULL"
            expected = "expected a whole number"
            if col.minimum is not None and col.maximum is not None:
                bad = f"({bad} OR {v} NOT BETWEEN {col.minimum} AND {col.maximum})"
                expected += f" from {col.minimum} to {col.maximum}"
            return bad, expected
        case ColumnType.BOOLEAN:
            if sql_type == "BOOLEAN":
                return None
            return (
                f"lower(CAST({c} AS STRING)) NOT IN ('true', '1', 'yes', 'false', '0', 'no')",
                "expected true or false",
            )
        case ColumnType.COUNTRY:
            return f"NOT {sql.in_codes(c, '__countries', countries())}", (
                "expected an ISO 3166-1 alpha-2 country code (e.g. PH)"
            )
        case ColumnType.CURRENCY:
            return f"NOT {sql.in_codes(c, '__currencies', currencies())}", (
                "expected an ISO 4217 currency code (e.g. AUD)"
            )
        case ColumnType.TIMEZONE:
            return f"NOT {sql.in_codes(c, '__timezones', timezones())}", (
                "expected an IANA time zone (e.g. Australia/Sydney)"
            )
        case ColumnType.MCC:
            v = c if sql_type == "VARCHAR" else f"CAST({c} AS STRING)"
            return f"NOT ({sql.four_digits(v)})", ("expected a 4-digit merchant category code")
        case ColumnType.ENUM:
            return (
                f"{c} NOT IN ({_lit(tuple(col.choices))})",
                f"expected one of {', '.join(col.choices)}",
            )
        case _:
            # Blank values sort below "!" (empty, or starting with a space or control
            # character): that cheap comparison guards the regex.
            v = f"CAST({c} AS STRING)"
            return (
                f"({v} < '!' AND {sql.blank(v)})",
                "expected a non-blank value",
            )


# Column types whose checks read a code table (see ``_rule``)
_CODED = (ColumnType.COUNTRY, ColumnType.CURRENCY, ColumnType.TIMEZONE)


def prepare_code_tables(con: Any) -> None:
    """Code lists as tables: an IN over a subquery is a hash join, an IN over 250
    literals is 250 comparisons per row. Created once per connection."""
    if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '__timezones'"
    ).fetchall()[0][0]:
        return
    for ref, codes in (("__countries", countries()), ("__currencies", currencies()),
                       ("__timezones", timezones())):  # fmt: skip
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ref} AS SELECT unnest([{_lit(codes)}]) AS code")


def _described(con: Any, relation: str) -> dict[str, str]:
    return {r[0]: str(r[1]) for r in con.sql(f"DESCRIBE {relation}").fetchall()}


def column_checks(
    table: str, name: str, described: dict[str, str], sql: CheckSQL = DUCKDB_CHECKS
) -> list[tuple[str, str, str]]:
    """(column, bad-row predicate, what was expected) for every column of ``table``
    (``described``: column name to DuckDB type name); raises SchemaError for a missing
    or extra column or a timestamp without a zone."""
    spec = TABLES[table]
    present = [c for c in described if c != "__row"]
    missing = [c for c in spec.names if c not in present]
    extra = [c for c in present if c not in spec.names]
    issues: list[ValidationIssue] = []
    if missing:
        issues.append(ValidationIssue(name, None, None,
                                      f"missing column(s) {missing}; {table} needs {spec.names}"))  # fmt: skip
    if extra:
        issues.append(ValidationIssue(
            name, None, None, f"unexpected column(s) {extra}; {table} has exactly {spec.names}"))  # fmt: skip
    if issues:
        raise SchemaError(issues)
    checks: list[tuple[str, str, str]] = []
    for col in spec.columns:
        sql_type = described[col.name]
        if col.type == ColumnType.TIMESTAMP and sql_type != "TIMESTAMP WITH TIME ZONE":
            issues.append(ValidationIssue(
                name, None, col.name,
                f"column type {sql_type}: expected a UTC timestamp (timestamp with time zone)"))  # fmt: skip
            continue
        c = sql.name(col.name)
        if not col.nullable:
            checks.append((col.name, f"{c} IS NULL", "missing value"))
        rule = _rule(col, sql_type, sql)
        if rule:
            checks.append((col.name, f"({c} IS NOT NULL AND {rule[0]})", rule[1]))
    if issues:
        raise SchemaError(issues)
    return checks


def check_header(con: Any, path: Path, table: str, relation: str) -> None:
    """Refuse missing or extra columns and zone-less timestamps before reading rows."""
    column_checks(table, str(path), _described(con, relation))


def single_values(con: Any, parquet: Path, columns: tuple[str, ...]) -> dict[str, str]:
    """Columns whose every row group has statistics with one value and no nulls. Values
    of 16 bytes or more are left out: a writer may cut long statistics short, so equal
    bounds would not prove one value."""
    quoted = str(parquet).replace("'", "''")
    rows = con.execute(
        "SELECT path_in_schema, min(stats_min_value), max(stats_max_value) "
        f"FROM parquet_metadata('{quoted}') GROUP BY path_in_schema "
        "HAVING count(stats_min_value) = count(*) AND count(stats_max_value) = count(*) "
        "AND count(stats_null_count) = count(*) AND sum(stats_null_count) = 0"
    ).fetchall()
    return {
        name: low
        for name, low, high in rows
        if name in columns and low == high and len(low.encode()) < 16
    }


def validate_parquet(
    con: Any,
    path: Path,
    table: str,
    relation: str,
    *,
    check_unique: bool = True,
    columns: tuple[str, ...] | None = None,
    locate_in: str | None = None,
) -> int:
    """Check ``relation`` against the public ``table`` schema. Returns the row count;
    raises SchemaError naming file, row, column and what was expected.

    Rows are numbered by a ``__row`` column (1-based). ``locate_in`` is a relation with the
    same rows and ``__row`` when ``relation`` has none: numbering rows costs a pass, so
    it is read only when a check fails, to say which rows.
    ``check_unique=False`` leaves id uniqueness to the caller: counting 10M distinct ids
    costs more than the whole scan, and the payments scan checks the ids it uses.
    ``columns`` limits the checks to those columns (the header is always checked)."""
    spec = TABLES[table]
    name = str(path)
    checks = column_checks(table, name, _described(con, relation))
    if columns is not None:
        checks = [c for c in checks if c[0] in columns]
    checked = {c for c, _, _ in checks}
    if any(col.type in _CODED and col.name in checked for col in spec.columns):
        prepare_code_tables(con)
    numbered = locate_in or relation
    unique = [c for c in spec.columns if c.unique and check_unique]
    distinct = "".join(f', count("{c.name}"), count(DISTINCT hash("{c.name}"))' for c in unique)
    any_bad = " OR ".join(f"({pred})" for _, pred, _ in checks) or "false"
    # FILTER plans the code-list joins better than a WHERE of ORs
    head = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {any_bad}){distinct} FROM {relation}"
    ).fetchall()[0]
    total, bad_rows = int(head[0]), int(head[1])
    issues: list[ValidationIssue] = []
    if bad_rows:
        # One aggregate pass: for each check, how many rows fail and the first that does.
        aggs = ", ".join(
            f"count(*) FILTER (WHERE {pred}) AS n{i}, min(__row) FILTER (WHERE {pred}) AS r{i}"
            for i, (_, pred, _) in enumerate(checks)
        )
        found = con.execute(f"SELECT {aggs} FROM {numbered}").fetchall()[0]
        for i, (column, _, message) in enumerate(checks):
            n, first = found[2 * i], found[2 * i + 1]
            if n:
                more = f" ({n} rows in all)" if n > 1 else ""
                issues.append(ValidationIssue(name, int(first), column, message + more))
    for i, col in enumerate(unique):
        if head[2 + 2 * i] == head[3 + 2 * i]:
            continue
        c = f'"{col.name}"'
        first = con.execute(
            f"SELECT min(__row) FROM (SELECT __row, row_number() OVER "
            f"(PARTITION BY {c} ORDER BY __row) AS k FROM {numbered}) WHERE k > 1"
        ).fetchall()[0]
        if first[0] is not None:  # equal hashes of different values are not an error
            issues.append(ValidationIssue(name, int(first[0]), col.name,
                                          "duplicate id (appears earlier in the file)"))  # fmt: skip
    if issues:
        raise SchemaError(issues)
    return total
