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

_TEXTUAL = ("VARCHAR",)


def _lit(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values))


def _rule(col: Column, sql_type: str) -> tuple[str, str] | None:
    """(bad-row predicate, what was expected) for one present value, or None."""
    c = f'"{col.name}"'
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
                f"lower(CAST({c} AS VARCHAR)) NOT IN ('true', '1', 'yes', 'false', '0', 'no')",
                "expected true or false",
            )
        case ColumnType.COUNTRY:
            return f"{c} NOT IN (SELECT code FROM __countries)", (
                "expected an ISO 3166-1 alpha-2 country code (e.g. PH)"
            )
        case ColumnType.CURRENCY:
            return f"{c} NOT IN (SELECT code FROM __currencies)", (
                "expected an ISO 4217 currency code (e.g. AUD)"
            )
        case ColumnType.TIMEZONE:
            return f"{c} NOT IN (SELECT code FROM __timezones)", (
                "expected an IANA time zone (e.g. Australia/Sydney)"
            )
        case ColumnType.MCC:
            return f"{c} NOT IN (SELECT code FROM __mcc)", (
                "expected a 4-digit merchant category code"
            )
        case ColumnType.ENUM:
            return f"{c} NOT IN ({_lit(col.choices)})", f"expected one of {', '.join(col.choices)}"
        case _:
            # Blank values sort below "!" (empty, or starting with a space or control
            # character): that cheap comparison guards the regex.
            v = f"CAST({c} AS VARCHAR)"
            return (
                f"({v} < '!' AND regexp_full_match({v}, '\\s*'))",
                "expected a non-blank value",
            )


def validate_parquet(
    con: Any,
    path: Path,
    table: str,
    relation: str,
    *,
    check_unique: bool = True,
    only_where: tuple[tuple[str, ...], str] | None = None,
) -> int:
    """Check ``relation`` (a DuckDB view over ``path`` with a ``__row`` column, 1-based)
    against the public ``table`` schema. Returns the row count; raises SchemaError.

    ``check_unique=False`` leaves id uniqueness to the caller: counting 10M distinct ids
    costs more than the whole scan, and the payments scan checks the ids it uses.
    ``only_where=(columns, condition)`` checks ``columns`` on every row and the other
    columns only on rows where ``condition`` (over those columns, table alias ``t``)
    holds: the rows a detector reads. Reading every text column of every row costs
    several times a plain aggregation pass."""
    spec = TABLES[table]
    name = str(path)
    # Code lists as tables: an IN over a subquery is a hash join, an IN over 250
    # literals is 250 comparisons per row.
    for ref, codes in (("__countries", countries()), ("__currencies", currencies()),
                       ("__timezones", timezones()),
                       ("__mcc", frozenset(f"{i:04d}" for i in range(10000)))):  # fmt: skip
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ref} AS SELECT unnest([{_lit(codes)}]) AS code")
    described = {r[0]: str(r[1]) for r in con.sql(f"DESCRIBE {relation}").fetchall()}
    columns = [c for c in described if c != "__row"]
    missing = [c for c in spec.names if c not in columns]
    extra = [c for c in columns if c not in spec.names]
    issues: list[ValidationIssue] = []
    if missing:
        issues.append(ValidationIssue(name, None, None,
                                      f"missing column(s) {missing}; {table} needs {spec.names}"))  # fmt: skip
    if extra:
        issues.append(ValidationIssue(
            name, None, None, f"unexpected column(s) {extra}; {table} has exactly {spec.names}"))  # fmt: skip
    if issues:
        raise SchemaError(issues)
    checks: list[tuple[str, str, str]] = []  # (column, predicate, message)
    for col in spec.columns:
        sql_type = described[col.name]
        if col.type == ColumnType.TIMESTAMP and sql_type != "TIMESTAMP WITH TIME ZONE":
            issues.append(ValidationIssue(
                name, None, col.name,
                f"column type {sql_type}: expected a UTC timestamp (timestamp with time zone)"))  # fmt: skip
            continue
        if not col.nullable:
            checks.append((col.name, f'"{col.name}" IS NULL', "missing value"))
        rule = _rule(col, sql_type)
        if rule:
            checks.append((col.name, f'("{col.name}" IS NOT NULL AND {rule[0]})', rule[1]))
    if issues:
        raise SchemaError(issues)
    # One aggregate pass: for each check, how many rows fail and the first that does.
    aggs = ", ".join(
        f"count(*) FILTER (WHERE {pred}) AS n{i}, min(__row) FILTER (WHERE {pred}) AS r{i}"
        for i, (_, pred, _) in enumerate(checks)
    )
    everywhere = checks
    where_sql = ""
    if only_where is not None:
        cols, condition = only_where
        everywhere = [c for c in checks if c[0] in cols]
        selected = [c for c in checks if c[0] not in cols]
        where_sql = condition
    unique = [c for c in spec.columns if c.unique and check_unique]

    def bad_count(subset: list[tuple[str, str, str]], where: str) -> int:
        if not subset:
            return 0
        any_bad = " OR ".join(f"({pred})" for _, pred, _ in subset)
        filt = f" WHERE {where}" if where else ""
        # FILTER plans the code-list joins better than a WHERE of ORs
        got = con.execute(
            f"SELECT count(*) FILTER (WHERE {any_bad}) FROM {relation} t{filt}"
        ).fetchall()[0]
        return int(got[0])

    distinct = "".join(f', count("{c.name}"), count(DISTINCT hash("{c.name}"))' for c in unique)
    counted = con.execute(f"SELECT count(*){distinct} FROM {relation}").fetchall()[0]
    head = counted
    total = int(counted[0])
    bad_rows = bad_count(everywhere, "")
    if only_where is not None:
        bad_rows += bad_count(selected, where_sql)
    if bad_rows:
        aggs = ", ".join(
            f"count(*) FILTER (WHERE {pred}) AS n{i}, min(__row) FILTER (WHERE {pred}) AS r{i}"
            for i, (_, pred, _) in enumerate(checks)
        )
        found = con.execute(f"SELECT {aggs} FROM {relation}").fetchall()[0]
        for i, (column, _, message) in enumerate(checks):
            n, first = found[2 * i], found[2 * i + 1]
            if n:
                more = f" ({n} rows in all)" if n > 1 else ""
                issues.append(ValidationIssue(name, int(first), column, message + more))
    for i, col in enumerate(unique):
        if head[1 + 2 * i] == head[2 + 2 * i]:
            continue
        c = f'"{col.name}"'
        first = con.execute(
            f"SELECT min(__row) FROM (SELECT __row, row_number() OVER "
            f"(PARTITION BY {c} ORDER BY __row) AS k FROM {relation}) WHERE k > 1"
        ).fetchall()[0]
        if first[0] is not None:  # equal hashes of different values are not an error
            issues.append(ValidationIssue(name, int(first[0]), col.name,
                                          "duplicate id (appears earlier in the file)"))  # fmt: skip
    if issues:
        raise SchemaError(issues)
    return total
