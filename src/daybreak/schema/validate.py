"""Read a file in a public schema and validate every row, vectorised with Polars.

Every problem names the file, the row (and CSV line) and the column, and says what was
expected. Without a quarantine folder any bad row fails the whole read (nothing is
dropped silently); with one, bad rows are written to ``<quarantine>/<file>.rejected.csv``
with their reasons (cells that a spreadsheet would run as a formula start with ``'``)
and the good rows proceed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from daybreak.schema.codes import countries, currencies, timezones
from daybreak.schema.columns import AGE_BANDS, MINOR_AGE_BANDS, TABLES, Column, ColumnType, Table

MAX_LISTED = 20
_ROW = "__row"
_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S%.fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%.f%:z")


@dataclass(frozen=True)
class ValidationIssue:
    file: str
    row: int | None  # 1-based data row; None for file-level problems
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
            if self.file.endswith(".csv"):
                where += f" (line {self.row + 1})"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class SchemaError(ValueError):
    """A file that does not fit its schema; ``issues`` lists every problem found."""

    def __init__(self, issues: list[ValidationIssue]) -> None:
        self.issues = issues
        shown = "\n".join(f"  - {i}" for i in issues[:MAX_LISTED])
        more = len(issues) - MAX_LISTED
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(f"{len(issues)} problem(s):\n{shown}{tail}")


@dataclass
class ValidationResult:
    frame: pl.DataFrame
    rejected: int = 0
    quarantine_file: Path | None = None
    issues: list[ValidationIssue] = field(default_factory=list)


def read_table(
    path: Path | str,
    table: Table | str,
    *,
    quarantine: Path | None = None,
) -> ValidationResult:
    """Read ``path`` (CSV or Parquet) as ``table`` and return its validated rows."""
    path = Path(path)
    spec = TABLES[table] if isinstance(table, str) else table
    name = str(path)
    raw = _read_raw(path)
    _check_header(name, raw.columns, spec)
    raw = raw.select(spec.names).with_row_index(_ROW, offset=1)
    parsed, problems = _parse(raw, spec)
    bad = problems.filter(pl.col("reasons").list.len() > 0)
    issues = [
        ValidationIssue(name, int(row), col, msg)
        for row, reasons in bad.select(_ROW, "reasons").iter_rows()
        for col, msg in (r.split("\t", 1) for r in reasons)
    ]
    if issues and quarantine is None:
        raise SchemaError(issues)
    good = parsed.filter(~pl.col(_ROW).is_in(bad[_ROW].implode())).drop(_ROW)
    result = ValidationResult(good, rejected=bad.height, issues=issues)
    if issues and quarantine is not None:
        quarantine.mkdir(parents=True, exist_ok=True)
        out = quarantine / f"{path.stem}.rejected.csv"
        rejected = raw.join(bad, on=_ROW).with_columns(
            pl.col("reasons").list.join("; ").str.replace_all("\t", ": ").alias("_reasons")
        )
        rejected.rename({_ROW: "_row"}).drop("reasons").select(
            "_row", "_reasons", *spec.names
        ).with_columns(spreadsheet_safe(pl.all().cast(pl.String))).write_csv(out)
        result.quarantine_file = out
    return result


FORMULA_START = "^[=+\\-@\t\r]"


def spreadsheet_safe(cells: pl.Expr) -> pl.Expr:
    """String cells a spreadsheet would run as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, TAB or CR) get a leading single quote, as OWASP's CSV-injection
    guidance says: a rejected-rows file is opened by people, and its cells are the
    untrusted input that was refused. Other cells are unchanged."""
    return (
        pl.when(cells.str.contains(FORMULA_START))
        .then(pl.lit("'") + cells)
        .otherwise(cells)
        .name.keep()
    )


def failing_columns(frame: pl.DataFrame, table: str, columns: Sequence[str]) -> list[str]:
    """Which of ``columns`` of ``frame`` break a rule of ``table`` somewhere: one
    vectorised pass that names no rows, for callers that locate rows only on failure."""
    spec = TABLES[table]
    tests = []
    for col in spec.columns:
        if col.name not in columns:
            continue
        dtype = frame.schema[col.name]
        if col.type == ColumnType.STRING and dtype == pl.String:
            # A blank value starts with a byte outside "!".."~" (or is empty): strip only
            # those, not every value (four times faster).
            text = pl.col(col.name)
            maybe_blank = text.filter((text < "!") | (text > "~"))
            found = (maybe_blank.str.strip_chars() == "").any()
        else:
            found = _column_rules(dtype, col)[1].any()
        if not col.nullable:
            found = found | pl.col(col.name).is_null().any()
        tests.append(found.alias(col.name))
    if not tests:
        return []
    results = frame.select(tests).row(0, named=True)
    return [c for c, failed in results.items() if failed]


def failing_columns_in_file(path: Path, table: str, columns: Sequence[str]) -> list[str]:
    """Which of ``columns`` of a Parquet file break a rule of ``table`` somewhere, read
    where the file lies. Each column's test is a filter on that column alone, which
    Polars' reader evaluates once per dictionary entry of a page rather than once per
    row (~15 ms for three columns of 10M rows). The file must have the columns (check
    its header first)."""
    rows = pl.scan_parquet(path)
    schema = rows.collect_schema()
    failing = []
    for col in TABLES[table].columns:
        if col.name not in columns:
            continue
        bad = _column_rules(schema[col.name], col)[1]
        if not col.nullable:
            bad = bad | pl.col(col.name).is_null()
        if rows.filter(bad).select(pl.len()).collect().item():
            failing.append(col.name)
    return failing


def _read_raw(path: Path) -> pl.DataFrame:
    name = str(path)
    if not path.is_file():
        raise SchemaError([ValidationIssue(name, None, None, "file not found")])
    if path.stat().st_size == 0:
        raise SchemaError([ValidationIssue(name, None, None, "file is empty")])
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            _check_utf8(path)
            return pl.read_csv(path, infer_schema=False, null_values=[""])
        if suffix in (".parquet", ".pq"):
            return pl.read_parquet(path)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError([ValidationIssue(name, None, None, f"unreadable: {exc}")]) from exc
    raise SchemaError(
        [
            ValidationIssue(
                name, None, None, f"unsupported format '{suffix}': expected .csv or .parquet"
            )
        ]
    )


def _check_utf8(path: Path) -> None:
    """Find the first line that is not UTF-8, so the error can name it."""
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                row = line_no - 1 if line_no > 1 else None
                raise SchemaError(
                    [
                        ValidationIssue(
                            str(path),
                            row,
                            None,
                            f"not UTF-8 text (byte {exc.start}): save the file as UTF-8",
                        )
                    ]
                ) from exc


def _check_header(name: str, columns: list[str], spec: Table) -> None:
    missing = [c for c in spec.names if c not in columns]
    extra = [c for c in columns if c not in spec.names]
    issues = _shape_issues(name, spec, missing, extra, "column")
    if issues:
        raise SchemaError(issues)


def _shape_issues(
    name: str, spec: Table, missing: list[str], extra: list[str], unit: str, hint: str = ""
) -> list[ValidationIssue]:
    """The missing and unexpected columns of a file (fields of a record), named."""
    issues = []
    if missing:
        needs = f"missing {unit}(s) {missing}; {spec.name} needs {spec.names}{hint}"
        issues.append(ValidationIssue(name, None, None, needs))
    if extra:
        has = f"unexpected {unit}(s) {extra}; {spec.name} has exactly {spec.names}"
        issues.append(ValidationIssue(name, None, None, has))
    return issues


@dataclass
class RecordsResult:
    """Records validated one by one (:func:`validate_records`): the good ones as a typed
    frame (in input order) with their positions, and each bad one's problems."""

    frame: pl.DataFrame
    positions: list[int]  # 0-based index in the input of each row of ``frame``
    problems: dict[int, list[ValidationIssue]]


def validate_records(
    records: Sequence[object], table: Table | str, source: Sequence[str]
) -> RecordsResult:
    """Validate JSON-decoded records (one object each, keyed by column name; nullable
    columns may be left out) against ``table`` with the same rules as files, except
    uniqueness (records arrive one at a
    time; the caller deduplicates). ``source[i]`` names record ``i`` in its issues (a
    message subject and sequence, say)."""
    spec = TABLES[table] if isinstance(table, str) else table
    well_formed = _well_formed_frame(records, spec)
    if well_formed is not None:
        return RecordsResult(well_formed, list(range(len(records))), {})
    return _validate_one_by_one(records, spec, source)


def validate_record(
    record: object, table: Table | str, source: str
) -> tuple[dict[str, Any] | None, list[ValidationIssue]]:
    """One JSON-decoded record validated as :func:`validate_records` validates it: (its
    typed row, the values of that function's frame row, and no problems) or (None, every
    problem named). A well-formed record is typed in Python (:func:`certain_record`):
    a one-row frame, and Arrow's parse of its timestamp, cost a request most of its
    validation; any other goes through :func:`validate_records`."""
    spec = TABLES[table] if isinstance(table, str) else table
    row = certain_record(record, spec)
    if row is not None:
        return row, []
    result = validate_records([record], spec, [source])
    problems = result.problems.get(0)
    if problems:
        return None, problems
    try:
        return result.frame.row(0, named=True), []
    except ValueError:  # a valid date Python cannot hold: year 0
        return None, [
            ValidationIssue(source, None, c.name, "expected a year from 1 to 9999")
            for c in spec.columns
            if c.type == ColumnType.TIMESTAMP and _outside_python(result.frame[c.name])
        ]


def _outside_python(values: pl.Series) -> bool:
    try:
        values.to_list()
    except ValueError:
        return True
    return False


def certain_record(record: object, spec: Table) -> dict[str, Any] | None:
    """``record`` typed as the per-record path types it (its frame's row: floats for
    decimals, zoned datetimes for timestamps, None for a field left out), if each value
    certainly passes its column's rule (as :func:`_certain_column` has it), else None.
    Tables with rules across columns are left to the frame path."""
    if type(record) is not dict or not _plain_fields(record, spec) or _row_rules(spec.name):
        return None
    row: dict[str, Any] = {}
    for col in spec.columns:
        value = record.get(col.name)
        if value is not None:
            value = _certain_value(col, value)
            if value is None:
                return None
        elif not col.nullable:
            return None
        row[col.name] = value
    return row


def _certain_value(col: Column, value: object) -> object | None:
    """One present value typed, if it certainly passes ``col``'s rule, else None."""
    kind = type(value)
    match col.type:
        case ColumnType.DECIMAL:
            if kind is not int and kind is not float:
                return None
            try:
                number = float(cast(float, value))
            except OverflowError:
                return None
            return None if math.isnan(number) or number < 0 else number
        case ColumnType.INTEGER:
            return value if kind is int and _within([cast(int, value)], col) else None
        case ColumnType.BOOLEAN:
            return value if kind is bool else None
    if kind is not str:
        return None
    text = cast(str, value)
    if col.type == ColumnType.TIMESTAMP:
        return _certain_timestamp(text)
    return text if _certain_text(col, [text]) else None


def _certain_timestamp(text: str) -> datetime | None:
    """A timestamp of :data:`_CERTAIN_TIMESTAMP`'s shape as the per-record path parses
    it (a UTC datetime), if Python reads it as a valid date and time, else None."""
    if _CERTAIN_TIMESTAMP_RE.fullmatch(text) is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:  # no such day, hour 24, a leap second: the frame path decides
        return None
    return parsed.replace(tzinfo=_UTC)


_UTC = ZoneInfo("UTC")


def _validate_one_by_one(
    records: Sequence[object], spec: Table, source: Sequence[str]
) -> RecordsResult:
    """Every rule on every record, each problem named: the path of a batch that
    :func:`_well_formed_frame` cannot vouch for."""
    problems: dict[int, list[ValidationIssue]] = {}
    shaped: list[Mapping[str, object]] = []
    positions: list[int] = []
    for i, record in enumerate(records):
        if type(record) is dict and _plain_fields(record, spec):
            shaped.append(record)  # the usual case, checked cheaply
            positions.append(i)
            continue
        shape = _record_shape_issues(record, spec, source[i])
        if shape:
            problems[i] = shape
            continue
        assert isinstance(record, Mapping)
        shaped.append(record)
        positions.append(i)
    # Column by column (a dict per row costs more than the checks), text as _cell
    # makes it; strings, nearly every value, need no call.
    raw = pl.DataFrame(
        [pl.Series(c, _cells([r.get(c) for r in shaped]), dtype=pl.String) for c in spec.names]
    ).with_row_index(_ROW)
    parsed, found = _parse(raw, spec, check_unique=False)
    for row, reasons in found.filter(pl.col("reasons").list.len() > 0).iter_rows():
        at = positions[row]
        problems[at] = [
            ValidationIssue(source[at], None, col, msg)
            for col, msg in (r.split("\t", 1) for r in reasons)
        ]
    keep = [row for row, at in enumerate(positions) if at not in problems]
    good = parsed.filter(pl.col(_ROW).is_in(keep)).drop(_ROW)
    return RecordsResult(good, [positions[row] for row in keep], problems)


def _well_formed_frame(records: Sequence[object], spec: Table) -> pl.DataFrame | None:
    """The typed frame of ``records`` if every value certainly passes its column's rule,
    else None. Checked on whole columns with a few C-level passes each (types, set
    inclusion, min and max), far cheaper than the per-record path's expressions on a
    small batch. Certainly, not exactly: a value these checks cannot vouch for (a number
    given as text, a name starting with a non-ASCII character that is blank-looking...)
    sends the batch to the per-record path, which finds and names every problem, or
    accepts it. The frame equals the one that path builds for the same records."""
    if not records or not _DICT.issuperset(map(type, records)):
        return None
    rows = cast(Sequence[dict[str, object]], records)
    if not spec.name_set.issuperset(set().union(*rows)):
        return None
    series = []
    for col in spec.columns:
        # map(dict.get, ...) rather than a comprehension: no bytecode per value (every
        # record is exactly a dict, checked above), a fifth cheaper on a 500-row batch
        values = list(map(dict.get, rows, repeat(col.name, len(rows))))
        typed = _certain_column(col, values)
        if typed is None:
            return None
        series.append(typed)
    frame = pl.DataFrame(series)
    cross = _row_rules(spec.name)
    if cross and frame.select(pl.concat_list(cross).list.drop_nulls().list.len().sum()).item():
        return None
    return frame


_DICT = frozenset((dict,))
_NONE = type(None)
_STR = frozenset((str,))
_NUMBER = frozenset((int, float))
_INT64 = (-(2**63), 2**63 - 1)


def _certain_column(col: Column, values: list[object]) -> pl.Series | None:
    """One column's values typed as the per-record path types them, if each certainly
    passes the column's rule (:func:`_column_rules`), else None."""
    types = set(map(type, values))
    present = values
    if _NONE in types:
        if not col.nullable:
            return None  # a missing value
        types.discard(_NONE)
        present = [v for v in values if v is not None]
    match col.type:
        case ColumnType.DECIMAL:
            if not _NUMBER.issuperset(types):
                return None  # bool, text: the per-record path reads them as text
            if int in types:
                try:  # rounded as the per-record path's parse of str(value) rounds
                    values = [float(v) if type(v) is int else v for v in values]
                except OverflowError:
                    return None
            series = pl.Series(col.name, values, dtype=pl.Float64)
            if series.is_nan().any() or (series.min() or 0.0) < 0:  # type: ignore[operator]
                return None
            return series
        case ColumnType.INTEGER:
            if types - {int} or not _within(cast(list[int], present), col):
                return None
            return pl.Series(col.name, values, dtype=pl.Int64)
        case ColumnType.BOOLEAN:
            if types - {bool}:
                return None
            return pl.Series(col.name, values, dtype=pl.Boolean)
    if not _STR.issuperset(types):
        return None  # numbers and booleans in a text column: read as text one by one
    if col.type == ColumnType.TIMESTAMP:
        parsed = _certain_timestamps(values)
        return None if parsed is None else parsed.alias(col.name)
    if not _certain_text(col, cast(list[str], present)):
        return None
    return pl.Series(col.name, values, dtype=pl.String)


def _certain_timestamps(values: list[object]) -> pl.Series | None:
    """The timestamps as the per-record path parses them, if every value has the shape
    of its first or last format at a UTC offset (``2025-03-01T22:15:00Z``, with up to six
    decimals, or ``+00:00``) and is a valid date and time, else None. Arrow's
    ISO-8601 parser reads them: for these shapes it gives the same instant as Polars'
    parse, and it refuses what that parse refuses (tested on every edge of each field;
    it also refuses leap seconds, which then take the per-record path)."""
    text = pa.array(values, pa.string())
    shaped = pc.match_substring_regex(text, _CERTAIN_TIMESTAMP)
    if shaped.null_count != text.null_count or not pc.all(shaped).as_py():
        return None
    try:
        parsed = pc.cast(text, pa.timestamp("us", "UTC"))
    except pa.ArrowInvalid:
        return None
    return cast(pl.Series, pl.from_arrow(parsed))


def warm_up() -> None:
    """Load now what the first validation of a timestamp loads lazily: pyarrow's compute
    functions import pandas on first use (1.3 s of CPU, 5 s under load), which would
    otherwise stall the first requests a server validates."""
    _certain_timestamps(["2025-01-01T00:00:00Z"])


_CERTAIN_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|\+00:00)$"
)
_CERTAIN_TIMESTAMP_RE = re.compile(_CERTAIN_TIMESTAMP)


def _within(present: list[int], col: Column) -> bool:
    """Whole numbers in the column's range (and in Int64's, as the cast needs)."""
    if not present:
        return True
    low = _INT64[0] if col.minimum is None else max(col.minimum, _INT64[0])
    high = _INT64[1] if col.maximum is None else min(col.maximum, _INT64[1])
    return low <= min(present) and max(present) <= high


def _certain_text(col: Column, present: list[str]) -> bool:
    if not present:
        return True
    match col.type:
        case ColumnType.STRING:
            # Every value starts with a printable ASCII character (min and max bound
            # the first characters), else each has a character Python does not strip:
            # Python's whitespace includes all of Polars' (Unicode White_Space).
            return (min(present) >= "!" and max(present) < "\x7f") or all(map(str.strip, present))
        case ColumnType.MCC:
            return all(len(v) == 4 and v.isascii() and v.isdigit() for v in set(present))
    return _choices(col).issuperset(present)


def _choices(col: Column) -> frozenset[str]:
    match col.type:
        case ColumnType.COUNTRY:
            return countries()
        case ColumnType.CURRENCY:
            return currencies()
        case ColumnType.TIMEZONE:
            return timezones()
        case ColumnType.ENUM:
            return frozenset(col.choices)
    raise ValueError(f"{col.name}: {col.type} is not a column of codes")


def _record_shape_issues(record: object, spec: Table, name: str) -> list[ValidationIssue]:
    if type(record) is dict and _plain_fields(record, spec):
        return []  # the usual case, checked cheaply: the right keys, scalar values
    if not isinstance(record, Mapping):
        kind = type(record).__name__
        return [ValidationIssue(name, None, None, f"expected a JSON object, got {kind}")]
    missing = [c.name for c in spec.columns if not c.nullable and c.name not in record]
    extra = sorted(str(k) for k in record if k not in spec.names)
    hint = " (optional ones may be left out)"
    issues = _shape_issues(name, spec, missing, extra, "field", hint)
    for c in spec.names:
        if isinstance(record.get(c), Mapping | list):
            issues.append(
                ValidationIssue(name, None, c, "expected a single value, not an object or list")
            )
    return issues


def _plain_fields(record: dict[object, object], spec: Table) -> bool:
    keys = record.keys()
    return (
        keys <= spec.name_set
        and spec.required <= keys
        and _NESTED.isdisjoint(map(type, record.values()))
    )


_NESTED = frozenset((dict, list))


def _cells(values: list[object]) -> list[str | None]:
    if _TEXT.issuperset(map(type, values)):
        return values  # type: ignore[return-value]  # str or None, checked
    return [v if v is None or type(v) is str else _cell(v) for v in values]


_TEXT = frozenset((str, type(None)))


def _cell(value: object) -> str | None:
    """A JSON scalar as the text a CSV cell would hold (true/false in lower case)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(
    raw: pl.DataFrame, spec: Table, *, check_unique: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (typed frame, frame of per-row reasons 'column<TAB>message')."""
    typed = []
    reasons = []
    for col in spec.columns:
        value, bad, message = _column_rules(raw.schema[col.name], col)
        typed.append(value.alias(col.name))
        if not col.nullable:
            reasons.append(
                pl.when(pl.col(col.name).is_null()).then(pl.lit(f"{col.name}\tmissing value"))
            )
        reasons.append(pl.when(bad).then(pl.lit(f"{col.name}\t{message}")))
        if col.unique and check_unique:
            reasons.append(
                pl.when(
                    pl.col(col.name).is_not_null() & ~pl.col(col.name).is_first_distinct()
                ).then(pl.lit(f"{col.name}\tduplicate id (appears earlier in the file)"))
            )
    if spec.key and check_unique:
        reasons.append(
            pl.when(pl.all_horizontal(pl.col(c).is_not_null() for c in spec.key)).then(
                pl.when(~pl.struct(spec.key).is_first_distinct()).then(
                    pl.lit(f"{spec.key[-1]}\tduplicate {' + '.join(spec.key)} (appears earlier)")
                )
            )
        )
    frame = raw.with_columns(typed)
    problems = raw.select(pl.col(_ROW), pl.concat_list(reasons).list.drop_nulls().alias("reasons"))
    cross = _row_rules(spec.name)
    if cross:
        found = frame.select(pl.concat_list(cross).list.drop_nulls().alias("cross"))["cross"]
        problems = problems.with_columns(pl.col("reasons").list.concat(found))
    return frame, problems


def _row_rules(table: str) -> list[pl.Expr]:
    """Rules across columns of one row, read from the typed values ('column<TAB>message'
    when broken, else null)."""
    if table == "platform_ads":
        return _ad_rules()
    if table != "platform_accounts":
        return []
    minor_band = pl.col("age_band").is_in(list(MINOR_AGE_BANDS))
    return [
        # only a valid band can contradict (a bad one is reported on its own column)
        pl.when(
            pl.col("age_band").is_in(list(AGE_BANDS)) & (pl.col("is_minor") != minor_band)
        ).then(
            pl.lit("is_minor\tcontradicts age_band (")
            + pl.col("age_band")
            + pl.lit(f"): expected true exactly for {', '.join(MINOR_AGE_BANDS)}")
        )
    ]


def _ad_rules() -> list[pl.Expr]:
    """An ad's phone is E.164 and its photo a PDQ hash: values the graph keys on."""
    return [
        pl.when(
            pl.col("contact_phone").is_not_null()
            & ~pl.col("contact_phone").str.contains(r"^\+[1-9][0-9]{6,14}$")
        ).then(pl.lit("contact_phone\texpected an E.164 phone like +639171234567")),
        pl.when(
            pl.col("photo_pdq").is_not_null() & ~pl.col("photo_pdq").str.contains(r"^[0-9a-f]{64}$")
        ).then(pl.lit("photo_pdq\texpected a PDQ hash: 64 lower-case hex digits")),
    ]


def _column_rules(dtype: pl.DataType, col: Column) -> tuple[pl.Expr, pl.Expr, str]:
    """(typed value, bad-row predicate, what was expected) for one column."""
    src = pl.col(col.name)
    text = src.cast(pl.String) if dtype != pl.String else src
    present = src.is_not_null()
    match col.type:
        case ColumnType.TIMESTAMP:
            value = _timestamp(src, dtype)
            return (
                value,
                present & value.is_null(),
                "expected an ISO-8601 UTC timestamp like 2025-03-01T22:15:00Z",
            )
        case ColumnType.DECIMAL:
            value = src.cast(pl.Float64, strict=False)
            bad = present & (value.is_null() | value.is_nan() | (value < 0))
            return value, bad, "expected a non-negative number"
        case ColumnType.INTEGER:
            value = src.cast(pl.Int64, strict=False)
            bad = present & value.is_null()
            expected = "expected a whole number"
            if col.minimum is not None and col.maximum is not None:
                bad = bad | (present & ~value.is_between(col.minimum, col.maximum))
                expected += f" from {col.minimum} to {col.maximum}"
            return value, bad, expected
        case ColumnType.BOOLEAN:
            if dtype == pl.Boolean:
                return src, pl.lit(False), ""
            lowered = text.str.to_lowercase()
            value = (
                pl.when(lowered.is_in(["true", "1", "yes"]))
                .then(True)
                .when(lowered.is_in(["false", "0", "no"]))
                .then(False)
                .otherwise(None)
            )
            return value, present & value.is_null(), "expected true or false"
        case ColumnType.COUNTRY:
            return (
                text,
                present & ~text.is_in(sorted(countries())),
                "expected an ISO 3166-1 alpha-2 country code (e.g. PH)",
            )
        case ColumnType.CURRENCY:
            return (
                text,
                present & ~text.is_in(sorted(currencies())),
                "expected an ISO 4217 currency code (e.g. AUD)",
            )
        case ColumnType.TIMEZONE:
            return (
                text,
                present & ~text.is_in(sorted(timezones())),
                "expected an IANA time zone (e.g. Australia/Sydney)",
            )
        case ColumnType.MCC:
            return (
                text,
                present & ~text.str.contains(r"^[0-9]{4}$"),
                "expected a 4-digit merchant category code",
            )
        case ColumnType.ENUM:
            return (
                text,
                present & ~text.is_in(list(col.choices)),
                f"expected one of {', '.join(col.choices)}",
            )
        case _:
            return text, present & (text.str.strip_chars() == ""), "expected a non-blank value"


def _timestamp(src: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            # A naive timestamp is ambiguous: refuse it rather than guess the zone.
            return pl.lit(None, dtype=pl.Datetime("us", "UTC"))
        return src.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    text = src.cast(pl.String)
    parsed = [
        text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
        for fmt in _TS_FORMATS
    ]
    return pl.coalesce(parsed)
