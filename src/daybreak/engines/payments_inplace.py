"""The large-file path of the DuckDB scan: a Parquet file is read where it lies.

Reading every column of every row would cost several plain aggregation passes, so
validation follows what the detector reads:

- the columns that decide whether a row is read at all (countries, channel, merchant
  code) and the currency are checked on every row, as one-column filters that Polars'
  reader tests once per dictionary entry of the file (milliseconds for 10M rows);
- every column is checked on the rows the detector reads, which Polars' Parquet reader
  selects: it tests the filter columns first and decodes the other columns only for
  the rows kept (~4% of them), where DuckDB would decode every value; Polars checks
  them in memory, and DuckDB names the failing rows only if there are any;
- ``txn_id`` uniqueness is checked among the rows the detector reads (alerts cite them).

Row numbers are computed only when a check fails, to name the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import duckdb
import polars as pl

from daybreak.engines.duckdb import DuckDBEngine
from daybreak.payments.compiler import (
    CORRIDOR_PAYMENTS,
    ROUTING_COLUMNS,
    SPEND_CHANNELS,
    compile_scan,
    relevant_filter,
    relevant_prefilter,
)
from daybreak.payments.config import Pack
from daybreak.payments.inputs import (
    PaymentsInputError,
    currency_counts_sql,
    refuse_duplicate_ids,
    refuse_no_corridor,
    refuse_unknown_currencies,
)
from daybreak.payments.model import TrainedModel
from daybreak.payments.scan import Progress, ScanResult, scan_registered
from daybreak.payments.sqlcheck import check_header, single_values, validate_parquet
from daybreak.schema import TABLES, SchemaError, ValidationIssue
from daybreak.schema.validate import failing_columns, failing_columns_in_file

WHOLE_FILE_COLUMNS = (*ROUTING_COLUMNS, "currency")


class _Connected(NamedTuple):
    engine: DuckDBEngine
    sender_countries: list[tuple[str | None, str | None]]  # (min, max) per row group


class _Checked(NamedTuple):
    issues: list[ValidationIssue]  # from the columns checked on every row
    currencies: dict[str | None, int]  # rows per currency, to check against the pack


class ParquetInPlace:
    """A transactions Parquet file opened for the scan; use it as a context manager.

    Opening starts what needs no typology pack on a worker thread: connecting DuckDB and
    reading the file's statistics, then checking the header and the whole-file columns
    and counting rows per currency. The connection and statistics are ready while the
    caller still loads the pack and the customers (Python work); the checks go on while
    the caller reads the rows, and are waited for before any row is used. After ``scan``
    the same worker closes the engine (freeing its tables takes ~20 ms) while the caller
    writes the results; leaving the context waits for it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-in-place")
        self._connected = self._worker.submit(self._connect)
        self._checked = self._worker.submit(self._check)
        self._releasing = False

    def __enter__(self) -> ParquetInPlace:
        return self

    def __exit__(self, *exc: object) -> None:
        self._release_in_background()
        self._worker.shutdown(wait=True)

    def _release_in_background(self) -> None:
        if not self._releasing:
            self._releasing = True
            self._worker.submit(self._release)

    def _connect(self) -> _Connected:
        # Results are sorted before they are used (scores, evidence, error rows), so the
        # engine need not keep rows in insertion order.
        eng = DuckDBEngine(keep_row_order=False)
        try:
            eng.register_parquet("transactions", str(self.path), row_numbers=False)
            eng.register_parquet("numbered", str(self.path))
            return _Connected(eng, _sender_country_ranges(eng, self.path))
        except BaseException:
            eng.close()
            raise

    def _check(self) -> _Checked:
        eng = self._connected.result().engine
        return _Checked(_check_file(eng, self.path), _currency_counts(eng, self.path))

    def _release(self) -> None:
        if self._connected.exception() is None:
            self._connected.result().engine.close()

    def reads_wide_first(self, pack: Pack) -> bool:
        """Whether :meth:`scan` reads the rows through the wider ``relevant_prefilter``
        before the exact filter: only when the file's statistics show that no row group
        may hold a payment sent from one of ``pack``'s corridor countries (the rows the
        prefilter adds are domestic payments there). Either way the same rows are kept."""
        senders = self._connected.result().sender_countries
        return not _may_send_from(senders, pack.corridor_countries)

    def scan(
        self,
        customers: pl.DataFrame,
        *,
        pack: Pack,
        model: TrainedModel | None = None,
        progress: Progress | None = None,
    ) -> ScanResult:
        say = progress or (lambda _msg: None)
        source = str(self.path)
        say("validating transactions")
        try:
            eng = self._connected.result().engine
            pipeline = compile_scan(pack, eng.dialect)
            # The step reading the raw file is the relevant-row filter: Polars' reader
            # runs it here and the table is registered under that step's name.
            (filtered,) = pipeline.reading("transactions")
            rest = pipeline.given([filtered.name])
            wide_first = self.reads_wide_first(pack)
            try:
                relevant = _read_relevant(self.path, pack, eng, wide_first=wide_first)
            except pl.exceptions.PolarsError:
                self._checked.result()  # a bad header says what is wrong more plainly
                raise
            checked = self._checked.result()
            _load_relevant(eng, self.path, pack, (filtered.name, relevant), checked.issues)
            refuse_unknown_currencies(checked.currencies, pack, source)
            total = sum(checked.currencies.values())
        except SchemaError as exc:
            raise PaymentsInputError(str(exc)) from exc
        except (duckdb.Error, pl.exceptions.PolarsError) as exc:
            raise PaymentsInputError(f"{source}: unreadable Parquet ({exc})") from exc
        if total == 0:
            raise PaymentsInputError(f"{source}: no transactions in the file")
        eng.register("customers", _arrow(_customers_read(customers, relevant)))

        def corridor_count() -> int:
            n = int(eng.fetch(f"SELECT count(*) AS n FROM {CORRIDOR_PAYMENTS}").to_pylist()[0]["n"])
            refuse_no_corridor(n, total, pack, source)
            return n

        result = scan_registered(eng, pack, model, total, corridor_count, progress, rest)
        self._release_in_background()  # the result holds no engine data
        return result


def _check_file(eng: DuckDBEngine, path: Path) -> list[ValidationIssue]:
    """Refuse a bad header (SchemaError) and return the problems of the columns checked
    on every row."""
    con = eng.connection
    check_header(con, path, "transactions", "transactions")
    bad = failing_columns_in_file(path, "transactions", WHOLE_FILE_COLUMNS)
    if not bad:
        return []
    return _issues(lambda: validate_parquet(
        con, path, "transactions", "numbered", check_unique=False, columns=tuple(bad)))  # fmt: skip


def _load_relevant(
    eng: DuckDBEngine,
    path: Path,
    pack: Pack,
    named: tuple[str, pl.DataFrame],
    issues: list[ValidationIssue],
) -> None:
    """Register the rows the detector reads (``named``: the step's name and its rows)
    and validate them. Raises SchemaError with every problem found, ``issues`` (from the
    whole-file checks) included."""
    con = eng.connection
    source = str(path)
    name, relevant = named
    # Read in place by later steps: copying the rows into a DuckDB table would cost a
    # third of reading them, and each step reads only a few columns.
    eng.register(name, _arrow(relevant))
    con.execute(
        "CREATE TEMP VIEW relevant_numbered AS SELECT * FROM numbered t "
        f"WHERE {relevant_filter(pack, eng.dialect)}"
    )
    others = [c for c in TABLES["transactions"].names if c not in WHOLE_FILE_COLUMNS]
    # Polars tests the rows in memory; DuckDB numbers the rows only if one fails.
    failing = tuple(failing_columns(relevant, "transactions", others))
    if failing:
        issues = issues + _issues(lambda: validate_parquet(
            con, path, "transactions", name, check_unique=False, columns=failing,
            locate_in="relevant_numbered"))  # fmt: skip
    if issues:  # every problem at once, in file order, each cell named once
        unique = {(i.row, i.column): i for i in reversed(issues)}
        raise SchemaError(sorted(unique.values(), key=lambda i: (i.row or 0, i.column or "")))
    _refuse_duplicate_ids(relevant, source)


def _customers_read(customers: pl.DataFrame, relevant: pl.DataFrame) -> pl.DataFrame:
    """The customers the pipeline reads: senders of corridor payments (their names and
    time zones) and known offenders (to find their other accounts). A bank's customer
    file lists everyone; joining the payments against all of it cost ~35 ms at 10M rows,
    against these a few. (A relevant row that is not card or cash spend is a corridor
    payment.) The payers are found by a semi join of the customers against the payments'
    senders, reading that one column: filtering whole rows and making the ~1.5M sender ids
    unique cost ~0.2 s of CPU at 10M rows, 15% corridor payments, against ~0.06 s."""
    spend = pl.col("channel").is_in(SPEND_CHANNELS)
    senders = relevant.lazy().filter(~spend).select(pl.col("sender_id").alias("customer_id"))
    payers = customers.lazy().join(senders, on="customer_id", how="semi").collect()
    return customers.filter(
        pl.col("customer_id").is_in(payers["customer_id"].implode())
        | pl.col("known_offender").fill_null(False)
    )


def _arrow(frame: pl.DataFrame) -> object:
    """Arrow with string views, which DuckDB reads without converting every string."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _issues(check: Callable[[], object]) -> list[ValidationIssue]:
    """The problems a validation step raises, so that later steps can add theirs."""
    try:
        check()
    except SchemaError as exc:
        return list(exc.issues)
    return []


def _read_relevant(path: Path, pack: Pack, eng: DuckDBEngine, *, wide_first: bool) -> pl.DataFrame:
    """The compiled step reading ``transactions`` (``relevant_filter``), run by Polars'
    Parquet reader.

    "prefiltered": the reader decodes the filter's columns for every row, then the other
    columns only for the rows kept. With ``wide_first`` the file is read through the
    wider ``relevant_prefilter``, which decodes two columns instead of four (~15% of the
    read at 10M rows), and the exact filter runs on the rows kept. It is wider by the
    domestic payments inside a corridor country, so it is for files without them."""
    keep = pl.sql_expr(relevant_filter(pack, eng.dialect, alias=""))
    rows = pl.scan_parquet(path, parallel="prefiltered")
    if wide_first:
        return (
            rows.filter(pl.sql_expr(relevant_prefilter(pack, eng.dialect))).collect().filter(keep)
        )
    return rows.filter(keep).collect()


def _currency_counts(eng: DuckDBEngine, path: Path) -> dict[str | None, int]:
    """Rows per currency. A file whose statistics show one currency and no nulls (a
    bank's export in its home currency) is not read for it."""
    single = single_values(eng.connection, path, ("currency",))
    if "currency" in single:
        total = eng.fetch("SELECT count(*) AS n FROM transactions").to_pylist()[0]["n"]
        return {single["currency"]: int(total)}
    return currency_counts_sql(eng.fetch, "transactions")


def _sender_country_ranges(eng: DuckDBEngine, path: Path) -> list[tuple[str | None, str | None]]:
    """(min, max) of ``sender_country`` in each row group, from the file's statistics."""
    quoted = str(path).replace("'", "''")
    rows = eng.connection.execute(
        "SELECT stats_min_value, stats_max_value "
        f"FROM parquet_metadata('{quoted}') WHERE path_in_schema = 'sender_country'"
    ).fetchall()
    return [(low, high) for low, high in rows]


def _may_send_from(ranges: list[tuple[str | None, str | None]], countries: Sequence[str]) -> bool:
    """Whether a row may have one of ``countries`` as its sender country, by the file's
    statistics (a row group without them may)."""
    if not ranges:
        return True
    return any(
        low is None or high is None or any(low <= c <= high for c in countries)
        for low, high in ranges
    )


def _refuse_duplicate_ids(relevant: pl.DataFrame, source: str) -> None:
    """``txn_id`` must be unique among the rows the detector reads: alerts cite them.
    (Counting distinct ids in the whole file would cost more than the scan.)"""
    ids = relevant["txn_id"]
    if ids.hash().n_unique() == ids.len():  # distinct hashes: distinct ids, 5x faster
        return
    # none repeated if two different ids only share a hash
    refuse_duplicate_ids(ids.filter(ids.is_duplicated()).unique().sort().head(5).to_list(), source)
