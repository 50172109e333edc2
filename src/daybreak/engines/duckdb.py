"""The DuckDB engine: in-process, the default."""

from __future__ import annotations

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.detectors.dialect import DuckDBDialect
from daybreak.engines import Engine


class DuckDBEngine(Engine):
    def __init__(self, threads: int | None = None) -> None:
        self.dialect = DuckDBDialect()
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        self._tables: dict[str, pa.Table] = {}

    def register(self, name: str, table: pa.Table) -> None:
        self._tables[name] = table  # keep the Arrow data alive while DuckDB reads it
        self._con.register(name, table)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def register_parquet(self, name: str, path: str) -> None:
        """A view over a Parquet file, read in place; ``__row`` is the 1-based row number."""
        quoted = path.replace("'", "''")
        self._con.execute(
            f'CREATE OR REPLACE TEMP VIEW "{name}" AS SELECT * EXCLUDE (file_row_number), '
            f"file_row_number + 1 AS __row FROM read_parquet('{quoted}', file_row_number = true)"
        )

    def _define(self, name: str, sql: str, materialize: bool) -> None:
        kind = "TABLE" if materialize else "VIEW"
        self._con.execute(f'CREATE OR REPLACE TEMP {kind} "{name}" AS {sql}')

    def _fetch(self, sql: str) -> pa.Table:
        return self._con.sql(sql).to_arrow_table()

    def close(self) -> None:
        self._con.close()
