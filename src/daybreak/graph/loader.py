"""The only module in :mod:`daybreak.graph` that touches files and engines.

Small tables (customers, reports, identifiers, media sightings, platform accounts) are
read and validated
through :func:`daybreak.schema.read_table`; the large ones (transactions, platform events)
are aggregated to edges inside DuckDB (:mod:`daybreak.graph.sql`) so that only one row
per sender->receiver pair ever reaches Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from daybreak.graph import sql
from daybreak.schema import TABLES, read_table, world_file
from daybreak.schema.columns import ColumnType, Table
from daybreak.schema.world import duckdb_limits, no_world_file

SMALL_TABLES = (
    "customers", "reports", "identifiers", "media_sightings", "platform_accounts", "platform_ads",
)  # fmt: skip
LARGE_TABLES = ("transactions", "platform_events")

_DUCK_TYPES = {
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.DECIMAL: "DOUBLE",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.BOOLEAN: "BOOLEAN",
}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the memory cap applied (see duckdb_limits)."""
    con = duckdb.connect()
    duckdb_limits(con)
    return con


class WorldError(ValueError):
    """A world folder that cannot be read; the message names the file."""


@dataclass(frozen=True)
class WorldFrames:
    """Everything graph building needs, already reduced to edge-sized frames."""

    customers: pl.DataFrame
    reports: pl.DataFrame
    identifiers: pl.DataFrame  # + txn_sender_id, event_account (owner of the row)
    media_sightings: pl.DataFrame
    payment_edges: pl.DataFrame
    event_edges: pl.DataFrame
    event_ips: pl.DataFrame
    event_devices: pl.DataFrame
    # what each service knows about its accounts (empty when the world has no file)
    platform_accounts: pl.DataFrame
    # job/model ads and profiles (empty when the world has no file)
    platform_ads: pl.DataFrame


def _empty_view_sql(spec: Table) -> str:
    cols = ", ".join(
        f"NULL::{_DUCK_TYPES.get(c.type, 'VARCHAR')} AS {c.name}" for c in spec.columns
    )
    return f"SELECT {cols} WHERE false"


def _scan_sql(path: Path) -> str:
    quoted = str(path).replace("'", "''")
    if path.suffix == ".csv":
        return f"SELECT * FROM read_csv('{quoted}', header=true, auto_detect=true)"
    return f"SELECT * FROM read_parquet('{quoted}')"


def open_world(
    world: Path, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per world table (empty when the file is
    absent, except transactions and customers, which every world must have)."""
    world = Path(world)
    if not world.is_dir():
        raise WorldError(f"{world}: not a folder (expected a world written by `daybreak synth`)")
    con = con or connect()
    for name in (*LARGE_TABLES, *SMALL_TABLES):
        path = world_file(world, name)
        if path is None and name in ("transactions", "customers"):
            raise WorldError(no_world_file(world, name))
        body = _empty_view_sql(TABLES[name]) if path is None else _scan_sql(path)
        try:
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        except duckdb.Error as exc:
            raise WorldError(f"{path}: unreadable ({exc})") from exc
    return con


def _read_small(world: Path, name: str) -> pl.DataFrame:
    path = world_file(world, name)
    if path is None:
        return pl.DataFrame(schema=polars_schema(TABLES[name]))
    return read_table(path, name).frame


def polars_schema(spec: Table) -> dict[str, pl.DataType]:
    """The polars types ``read_table`` gives the columns of ``spec``."""
    types: dict[ColumnType, pl.DataType] = {
        ColumnType.TIMESTAMP: pl.Datetime("us", "UTC"),
        ColumnType.DECIMAL: pl.Float64(),
        ColumnType.INTEGER: pl.Int64(),
        ColumnType.BOOLEAN: pl.Boolean(),
    }
    return {c.name: types.get(c.type, pl.String()) for c in spec.columns}


def _frame(rel: duckdb.DuckDBPyRelation) -> pl.DataFrame:
    # DuckDB returns Arrow; polars wraps it without copying.
    table = rel.to_arrow_table()
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _run(con: duckdb.DuckDBPyConnection, query: str, what: str) -> pl.DataFrame:
    try:
        return _frame(con.sql(query))
    except duckdb.Error as exc:
        raise WorldError(f"{what}: {exc}") from exc


def load_world(
    world: Path, con: duckdb.DuckDBPyConnection | None = None, *, include_shops: bool = False
) -> WorldFrames:
    """The world reduced to frames; payments to shops and ATMs are left out unless
    ``include_shops`` (see :data:`daybreak.graph.sql.SHOPS`)."""
    world = Path(world)
    con = open_world(world, con)
    small = {name: _read_small(world, name) for name in SMALL_TABLES}
    # Validated small tables replace the raw views so that joins see clean rows.
    for name in SMALL_TABLES:
        con.register(f"{name}_validated", small[name].to_arrow())
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {name}_validated")
    return WorldFrames(
        customers=small["customers"],
        reports=small["reports"],
        identifiers=_run(con, sql.IDENTIFIER_OWNERS, f"{world}/identifiers"),
        media_sightings=small["media_sightings"],
        payment_edges=_run(con, sql.payment_edges(include_shops), f"{world}/transactions"),
        event_edges=_run(con, sql.EVENT_EDGES, f"{world}/platform_events"),
        event_ips=_run(con, sql.event_attribute_edges("ip"), f"{world}/platform_events"),
        event_devices=_run(con, sql.event_attribute_edges("device_id"), f"{world}/platform_events"),
        platform_accounts=small["platform_accounts"],
        platform_ads=small["platform_ads"],
    )


def transactions_by_id(con: duckdb.DuckDBPyConnection, txn_ids: Sequence[str]) -> pl.DataFrame:
    return _frame(con.sql(sql.TRANSACTIONS_BY_ID, params=[list(txn_ids)]))


def read_truth_links(world: Path) -> pl.DataFrame:
    path = Path(world) / "truth" / "links.csv"
    if not path.is_file():
        raise WorldError(f"{path}: not found (the world has no truth links)")
    return pl.read_csv(path, schema_overrides={"case_id": pl.String, "record_id": pl.String})


def events_by_id(con: duckdb.DuckDBPyConnection, event_ids: Sequence[str]) -> pl.DataFrame:
    return _frame(con.sql(sql.EVENTS_BY_ID, params=[list(event_ids)]))
