"""The entity graph's world, read and reduced on Spark: the executors read the tables
where they lie, and only aggregated frames come back to this process through Spark.

The same SQL as DuckDB's (:mod:`daybreak.graph.sql`, written in DuckDB's dialect) is
turned into Spark SQL by sqlglot, as the payments rules are: ten million payments become
one row per sender->receiver pair on the executors, platform events one row per
(account, counterparty, event type) and per (account, IP or device). Each table is a
Parquet file (or a folder of part files) or a CSV file, given as a path every worker
mounts at the same place, or a world folder given as a URI (``file:///``, ``hdfs://``,
``s3a://``); each is checked on the executors against the public schema, and a problem
names the file, the row and the column (:mod:`daybreak.engines.spark_inputs`).

Identifier normalisation (phone numbers, e-mail addresses, URLs: Python libraries, not
SQL) runs on the executors too (:func:`keys_on_executors`): the distinct raw values of
each aggregated frame go to them as Arrow, the one definition
(:func:`daybreak.graph.keys.identifier_key`) runs there in parallel by ``mapInArrow``,
and the keys come back to be joined to the frame by value. What still runs here is the
graph itself (networkx). The small tables (customers, reports, media sightings, platform
accounts and ads) come back whole: cases quote them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.engines.spark import _utc
from daybreak.engines.spark_inputs import is_uri, read_checked
from daybreak.graph import loader, sql
from daybreak.graph.pipeline import WorldGraph, build_world_graph
from daybreak.graph.resolution import ExactLinks, KeyMap, _key_map
from daybreak.schema import TABLES, SchemaError, world_file
from daybreak.schema.world import WORLD_SUFFIXES, no_world_file

REQUIRED = ("transactions", "customers")


@cache
def spark_sql(duckdb_sql: str) -> str:
    """One of :mod:`daybreak.graph.sql`'s queries in Spark's dialect."""
    import sqlglot

    return str(sqlglot.transpile(duckdb_sql, read="duckdb", write="spark")[0])


@dataclass
class SparkWorld:
    """A world registered as Spark views: its reduced frames, and look-ups of the
    records alerts cite (run on the executors, only the asked rows come back)."""

    spark: Any
    frames: loader.WorldFrames
    source: str

    def transactions_by_id(self, txn_ids: Sequence[str]) -> pl.DataFrame:
        return self._by_id(sql.TRANSACTIONS_BY_ID, txn_ids)

    def events_by_id(self, event_ids: Sequence[str]) -> pl.DataFrame:
        return self._by_id(sql.EVENTS_BY_ID, event_ids)

    def _by_id(self, query: str, ids: Sequence[str]) -> pl.DataFrame:
        from daybreak.detectors.dialect import DuckDBDialect

        listed = query.replace("?", DuckDBDialect().string_array(sorted(set(ids))))
        return _collect(self.spark, spark_sql(listed))


def load_world(spark: Any, world: str | Path, *, include_shops: bool = False) -> SparkWorld:
    """Register the world's tables as Spark views read by the executors, and reduce
    them there to the frames graph building needs (the DuckDB path's
    :func:`daybreak.graph.loader.load_world`)."""
    for name in (*loader.LARGE_TABLES, *loader.SMALL_TABLES):
        _register(spark, world, name)
    what = str(world).rstrip("/")

    def run(query: str, table: str) -> pl.DataFrame:
        try:
            return _collect(spark, spark_sql(query))
        except Exception as exc:  # Spark's errors come from the JVM, typed by message only
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise loader.WorldError(f"{what}/{table}: {first}") from None

    frames = loader.WorldFrames(
        customers=_small(spark, "customers"),
        reports=_small(spark, "reports"),
        identifiers=run(sql.IDENTIFIER_OWNERS, "identifiers"),
        media_sightings=_small(spark, "media_sightings"),
        payment_edges=run(sql.payment_edges(include_shops), "transactions"),
        event_edges=run(sql.EVENT_EDGES, "platform_events"),
        event_ips=run(sql.event_attribute_edges("ip"), "platform_events"),
        event_devices=run(sql.event_attribute_edges("device_id"), "platform_events"),
        platform_accounts=_small(spark, "platform_accounts"),
        platform_ads=_small(spark, "platform_ads"),
    )
    return SparkWorld(spark, frames, what)


def world_source(world: str | Path, table: str) -> str | Path | None:
    """Where ``table`` lies in ``world``: a file of the folder (Parquet preferred, as
    on DuckDB), or for a world given as a URI ``<uri>/<table>.parquet`` (a file or a
    folder of part files), if it exists; None when the world has no such table."""
    if not is_uri(world):
        folder = Path(world)
        if not folder.is_dir():
            raise loader.WorldError(
                f"{world}: not a folder (expected a world written by `daybreak synth`)"
            )
        found = world_file(folder, table)
        if found is None and (folder / f"{table}.parquet").is_dir():
            return folder / f"{table}.parquet"  # part files, as Spark writes them
        return found
    return _uri_source(str(world).rstrip("/"), table)


def _uri_source(world: str, table: str) -> str | None:
    """``<world>/<table>.parquet`` or ``.csv`` if the storage lists it (a look-up of
    names; no file is opened here)."""
    import pyarrow.fs as pafs  # type: ignore[import-untyped]

    for suffix in WORLD_SUFFIXES:
        uri = f"{world}/{table}{suffix}"
        try:
            fs, path = pafs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
            if fs.get_file_info(path).type != pafs.FileType.NotFound:
                return uri
        except (OSError, ValueError):
            return f"{world}/{table}.parquet"  # storage pyarrow cannot list: Spark says
    return None


def _register(spark: Any, world: str | Path, table: str) -> None:
    source = world_source(world, table)
    if source is None:
        if table in REQUIRED:
            raise loader.WorldError(no_world_file(Path(str(world)), table))
        _empty(spark, table).createOrReplaceTempView(table)
        return
    try:
        read_checked(spark, source, table, table)
    except SchemaError as exc:
        raise loader.WorldError(str(exc)) from None


def _empty(spark: Any, table: str) -> Any:
    """An absent table as no rows of its columns. The schema is given, not inferred:
    Spark Connect cannot infer one from an empty dataset."""
    from pyspark.sql.pandas.types import from_arrow_schema

    empty = pl.DataFrame(schema=loader.polars_schema(TABLES[table]))
    arrow = empty.to_arrow(compat_level=pl.CompatLevel.oldest())
    return spark.createDataFrame([], schema=from_arrow_schema(arrow.schema))


def _small(spark: Any, table: str) -> pl.DataFrame:
    """A small table as the DuckDB path reads it (typed as ``read_table`` types it)."""
    frame = _collect(spark, f"SELECT * FROM {table}")
    return frame.select(
        [pl.col(name).cast(dtype) for name, dtype in loader.polars_schema(TABLES[table]).items()]
    )


def _collect(spark: Any, query: str) -> pl.DataFrame:
    frame = pl.from_arrow(_utc(spark.sql(query).toArrow()))
    assert isinstance(frame, pl.DataFrame)
    return frame


__all__ = ["SparkWorld", "keys_on_executors", "load_world", "spark_sql", "world_source"]


def world_graph_on_spark(
    world: str | Path,
    spark: Any,
    *,
    probabilistic: bool = True,
    min_same_person: float = 0.9,
    merchant_edges: bool = False,
) -> WorldGraph:
    """:func:`daybreak.graph.pipeline.build_world_graph` with the world read and reduced
    by Spark's executors, and splink on Spark with its people table made there."""

    read = load_world(spark, world, include_shops=merchant_edges)
    return build_world_graph(
        Path(read.source),
        probabilistic=probabilistic,
        backend="spark",
        min_same_person=min_same_person,
        merchant_edges=merchant_edges,
        spark_session=spark,
        world=(read.frames, read),
        people=lambda _customers, links: people_on_spark(spark, links),
        key_map=keys_on_executors(spark),
    )


KEYED = "_kind string, _raw string, _key string, _err string"


def keys_on_executors(spark: Any) -> KeyMap:
    """Entity resolution's key map (:data:`daybreak.graph.resolution.KeyMap`) run by
    Spark's executors: the distinct (kind, raw value) pairs go up as Arrow, spread over
    the session's shuffle partitions, and each executor runs the same Python
    (``resolution._key_map``, so :func:`daybreak.graph.keys.identifier_key`) on its
    share; the keys and the errors of values that do not normalise come back."""

    def key_map(pairs: pl.DataFrame, to_key: Callable[[str, str], str]) -> pl.DataFrame:
        if pairs.is_empty():
            return _key_map(pairs, to_key)  # nothing to send: the empty frame, typed
        parts = int(spark.conf.get("spark.sql.shuffle.partitions", "8"))
        sent = spark.createDataFrame(pairs.to_arrow(compat_level=pl.CompatLevel.oldest()))
        keyed = sent.repartition(max(1, parts)).mapInArrow(_normalised(to_key), KEYED)
        frame = pl.from_arrow(keyed.toArrow())
        assert isinstance(frame, pl.DataFrame)
        return frame

    return key_map


def _normalised(to_key: Callable[[str, str], str]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The function each executor runs on its Arrow batches of (_kind, _raw) pairs."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        for batch in batches:
            pairs = pl.from_arrow(batch)
            assert isinstance(pairs, pl.DataFrame)
            keyed = _key_map(pairs, to_key).to_arrow(compat_level=pl.CompatLevel.oldest())
            yield from keyed.to_batches()

    return run


def people_on_spark(spark: Any, links: ExactLinks) -> Any:
    """Splink's people table as a Spark DataFrame: the customers' rows made on the
    executors from the world's ``customers`` view (names folded in Spark SQL,
    :mod:`daybreak.graph.people_sql`); the identity keys and the beneficiaries come
    from the exact links, normalised here, and go up as Arrow."""
    from daybreak.graph.matching import beneficiaries, person_identifiers
    from daybreak.graph.people_sql import people_sql

    for view, frame in (("person_identifiers", person_identifiers(links)),
                        ("beneficiaries", beneficiaries(links))):  # fmt: skip
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        spark.createDataFrame(arrow).createOrReplaceTempView(view)
    return spark.sql(people_sql())
