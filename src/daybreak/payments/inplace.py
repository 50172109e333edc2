"""The large-file path of the DuckDB scan: a Parquet file is read where it lies.

Reading every column of every row would cost several plain aggregation passes, so
validation follows what the detector reads:

- the columns that decide whether a row is read at all (countries, channel, merchant
  code) and the currency are checked on every row, as one-column predicates that DuckDB
  tests once per dictionary entry of the file (milliseconds for 10M rows);
- every column is checked on the rows the detector reads, which Polars' Parquet reader
  selects: it tests the filter columns first and decodes the other columns only for
  the rows kept (~4% of them), where DuckDB would decode every value; Polars checks
  them in memory, and DuckDB names the failing rows only if there are any;
- ``txn_id`` uniqueness is checked among the rows the detector reads (alerts cite them).

Row numbers are computed only when a check fails, to name the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

from daybreak.detectors.pipeline import Pipeline
from daybreak.engines.duckdb import DuckDBEngine
from daybreak.payments.compiler import ROUTING_COLUMNS, compile_scan, relevant_filter
from daybreak.payments.config import Pack
from daybreak.payments.inputs import PaymentsInputError, check_currencies_sql, refuse_no_corridor
from daybreak.payments.model import TrainedModel
from daybreak.payments.scan import Progress, ScanResult, scan_registered
from daybreak.payments.sqlcheck import check_header, columns_failing, validate_parquet
from daybreak.schema import TABLES, SchemaError, ValidationIssue
from daybreak.schema.validate import failing_columns

WHOLE_FILE_COLUMNS = (*ROUTING_COLUMNS, "currency")


class ParquetInPlace:
    """A transactions Parquet file opened for the scan; use it as a context manager.

    Opening starts what needs no typology pack on a worker thread: connecting DuckDB,
    checking the header and the whole-file columns. That overlaps loading the pack and
    the customers, which is Python work on the caller's thread. After ``scan`` the same
    worker closes the engine (freeing its tables takes ~20 ms) while the caller writes
    the results; leaving the context waits for it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-in-place")
        self._opened = self._worker.submit(self._open)
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

    def _open(self) -> tuple[DuckDBEngine, list[ValidationIssue]]:
        # Results are sorted before they are used (scores, evidence, error rows), so the
        # engine need not keep rows in insertion order.
        eng = DuckDBEngine(keep_row_order=False)
        try:
            return eng, _check_file(eng, self.path)
        except BaseException:
            eng.close()
            raise

    def _release(self) -> None:
        if self._opened.exception() is None:
            self._opened.result()[0].close()

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
            eng, issues = self._opened.result()
            total = _load_relevant(eng, self.path, pack, issues)
        except SchemaError as exc:
            raise PaymentsInputError(str(exc)) from exc
        except (duckdb.Error, pl.exceptions.PolarsError) as exc:
            raise PaymentsInputError(f"{source}: unreadable Parquet ({exc})") from exc
        if total == 0:
            raise PaymentsInputError(f"{source}: no transactions in the file")
        eng.register("customers", _arrow(customers))

        def corridor_count() -> int:
            n = int(eng.fetch("SELECT count(*) AS n FROM pay").to_pylist()[0]["n"])
            refuse_no_corridor(n, total, pack, source)
            return n

        pipeline = compile_scan(pack, eng.dialect)
        assert pipeline.steps[0].name == "relevant"  # loaded by _load_relevant instead
        rest = Pipeline(pipeline.steps[1:])
        result = scan_registered(eng, pack, model, total, corridor_count, progress, rest)
        self._release_in_background()  # the result holds no engine data
        return result


def scan_parquet_in_place(
    transactions: Path,
    customers: pl.DataFrame,
    *,
    pack: Pack,
    model: TrainedModel | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    with ParquetInPlace(transactions) as source:
        return source.scan(customers, pack=pack, model=model, progress=progress)


def _check_file(eng: DuckDBEngine, path: Path) -> list[ValidationIssue]:
    """Register the file's views, refuse a bad header (SchemaError) and return the
    problems of the columns checked on every row."""
    con = eng.connection
    eng.register_parquet("transactions", str(path), row_numbers=False)
    eng.register_parquet("numbered", str(path))
    check_header(con, path, "transactions", "transactions")
    bad = columns_failing(con, "transactions", "transactions", WHOLE_FILE_COLUMNS, path)
    if not bad:
        return []
    return _issues(lambda: validate_parquet(
        con, path, "transactions", "numbered", check_unique=False, columns=tuple(bad)))  # fmt: skip


def _load_relevant(eng: DuckDBEngine, path: Path, pack: Pack, issues: list[ValidationIssue]) -> int:
    """Register the rows the detector reads as ``relevant`` and validate them; return the
    file's row count. Raises SchemaError with every problem found, ``issues`` (from the
    whole-file checks) included."""
    con = eng.connection
    source = str(path)
    # Read in place by later steps: copying the rows into a DuckDB table would cost a
    # third of reading them, and each step reads only a few columns.
    relevant = _read_relevant(path, pack, eng)
    eng.register("relevant", _arrow(relevant))
    con.execute(
        "CREATE TEMP VIEW relevant_numbered AS SELECT * FROM numbered t "
        f"WHERE {relevant_filter(pack, eng.dialect)}"
    )
    others = [c for c in TABLES["transactions"].names if c not in WHOLE_FILE_COLUMNS]
    # Polars tests the rows in memory; DuckDB numbers the rows only if one fails.
    failing = tuple(failing_columns(relevant, "transactions", others))
    if failing:
        issues = issues + _issues(lambda: validate_parquet(
            con, path, "transactions", "relevant", check_unique=False, columns=failing,
            locate_in="relevant_numbered"))  # fmt: skip
    if issues:  # every problem at once, in file order, each cell named once
        unique = {(i.row, i.column): i for i in reversed(issues)}
        raise SchemaError(sorted(unique.values(), key=lambda i: (i.row or 0, i.column or "")))
    _refuse_duplicate_ids(relevant, source)
    check_currencies_sql(eng.fetch, "transactions", pack, source)
    return int(eng.fetch("SELECT count(*) AS n FROM transactions").to_pylist()[0]["n"])


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


def _read_relevant(path: Path, pack: Pack, eng: DuckDBEngine) -> pl.DataFrame:
    """The compiled ``relevant`` step, run by Polars' Parquet reader."""
    keep = pl.sql_expr(relevant_filter(pack, eng.dialect, alias=""))
    # "prefiltered": decode the filter columns, then the others only for rows kept
    return pl.scan_parquet(path, parallel="prefiltered").filter(keep).collect()


def _refuse_duplicate_ids(relevant: pl.DataFrame, source: str) -> None:
    """``txn_id`` must be unique among the rows the detector reads: alerts cite them.
    (Counting distinct ids in the whole file would cost more than the scan.)"""
    ids = relevant["txn_id"]
    if ids.hash().n_unique() == ids.len():  # distinct hashes: distinct ids, 5x faster
        return
    dup = ids.filter(ids.is_duplicated()).unique().sort().head(5).to_list()
    if not dup:
        return  # two ids whose hashes collide
    raise PaymentsInputError(
        f"{source}, column 'txn_id': duplicate id(s) {', '.join(map(repr, dup))}; every "
        "transaction needs a unique txn_id"
    )
