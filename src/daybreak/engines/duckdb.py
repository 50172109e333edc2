"""The DuckDB engine: in-process, the default."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.detectors.dialect import DuckDBDialect
from daybreak.engines import Engine
from daybreak.schema.world import duckdb_limits

T = TypeVar("T")


class DuckDBEngine(Engine):
    def __init__(self, threads: int | None = None, *, keep_row_order: bool = True) -> None:
        """``keep_row_order=False`` lets DuckDB write materialised steps in any order, about
        twice as fast; for pipelines whose results are sorted or aggregated anyway."""
        self.dialect = DuckDBDialect()
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        if not keep_row_order:
            self._con.execute("SET preserve_insertion_order = false")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        # Bigger than memory: a cap, and where DuckDB spills past it (docs/scaling.md).
        duckdb_limits(self._con, defaults=False)
        self._tables: dict[str, pa.Table] = {}

    def register(self, name: str, table: pa.Table) -> None:
        self._tables[name] = table  # keep the Arrow data alive while DuckDB reads it
        self._con.register(name, table)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def register_parquet(self, name: str, path: str, *, row_numbers: bool = True) -> None:
        """A view over a Parquet file, read in place; ``__row`` is the 1-based row number.

        Numbering rows costs a little on every read, so a caller that only needs row
        numbers to report a problem can register a second view without them."""
        quoted = path.replace("'", "''")
        source = f"read_parquet('{quoted}', file_row_number = {str(row_numbers).lower()})"
        columns = (
            "* EXCLUDE (file_row_number), file_row_number + 1 AS __row" if row_numbers else "*"
        )
        self._con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT {columns} FROM {source}')

    def _define(self, name: str, sql: str, materialize: bool) -> None:
        if materialize:
            # Kept as Arrow rather than a DuckDB table: appending to a table keeps column
            # statistics (distinct counts, UTF-8 checks of every string) that a step's
            # few readers never use, and costs more than exporting the rows (~6% of the
            # payments pipeline).
            self.register(name, self._con.sql(sql).to_arrow_table())
        else:
            self._con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')

    def _fetch(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self._con.close()


def run_on_world_parquet(
    world: Path,
    required: Sequence[str],
    run: Callable[[Engine], T],
    optional: Sequence[str] = (),
) -> T:
    """``run`` on a DuckDB engine that reads a world folder's Parquet files in place (no
    validation pass: for files ``daybreak validate`` or ``daybreak synth`` have
    checked). A missing ``required`` table is a DetectorError; a missing ``optional`` one
    is registered empty (header only)."""
    from daybreak.detectors import DetectorError
    from daybreak.platform.inputs import empty
    from daybreak.schema import world_file

    eng = DuckDBEngine(keep_row_order=False)
    try:
        for table in (*required, *optional):
            path = world_file(world, table)
            if path is None or path.suffix != ".parquet":
                if table in required:
                    raise DetectorError(f"{world}: no {table}.parquet")
                eng.register(table, empty(table).to_arrow())
                continue
            eng.register_parquet(table, str(path), row_numbers=False)
        return run(eng)
    finally:
        eng.close()
