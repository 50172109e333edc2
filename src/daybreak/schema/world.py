"""Where a world folder keeps each public table: ``<table>.parquet``, else ``<table>.csv``.

A world folder is what ``daybreak synth`` writes and what every reader of a world
(payments scan, entity graph, tipline import, exporters) looks in; this is the one place
that says how a table's file is found, how much memory DuckDB may use reading one, and
when Python's cycle collector stays off while a reader holds a world's worth of data.
"""

from __future__ import annotations

import gc
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

WORLD_SUFFIXES = (".parquet", ".csv")  # preferred first


def world_file(world: Path, table: str) -> Path | None:
    """The file holding ``table`` in ``world`` (Parquet preferred), or None."""
    for suffix in WORLD_SUFFIXES:
        path = Path(world) / f"{table}{suffix}"
        if path.is_file():
            return path
    return None


def no_world_file(world: Path, table: str) -> str:
    """The message for a world folder without ``table``: names the files looked for."""
    return f"{world}: no " + " or ".join(f"{table}{suffix}" for suffix in WORLD_SUFFIXES)


class SettingsConnection(Protocol):
    """What duckdb_limits needs of a DuckDB connection."""

    def execute(self, query: str, parameters: object = ..., /) -> object: ...


# DuckDB's memory cap and the folder it spills to past it (docs/scaling.md), for every
# DuckDB that reads a world: the payments scan (daybreak.engines.duckdb) and the entity
# graph (daybreak.graph.loader). Without them the graph reduces a world within
# DEFAULT_MEMORY_LIMIT (DuckDB's own default is 80% of the machine's memory) and spills
# under the system's temporary folder (DuckDB's own: ".tmp" in the working directory).
ENV_MEMORY_LIMIT = "DAYBREAK_DUCKDB_MEMORY_LIMIT"  # e.g. 4GB
ENV_TEMP_DIR = "DAYBREAK_DUCKDB_TEMP_DIR"  # a folder on a fast local disk
DEFAULT_MEMORY_LIMIT = "2GB"


def duckdb_limits(con: SettingsConnection, *, defaults: bool = True) -> None:
    """Apply the memory cap and spill folder of the environment (and, with
    ``defaults``, this module's when it names none)."""
    fallback = {ENV_MEMORY_LIMIT: DEFAULT_MEMORY_LIMIT,
                ENV_TEMP_DIR: os.path.join(tempfile.gettempdir(), "daybreak-duckdb")}  # fmt: skip
    for setting, env in (("memory_limit", ENV_MEMORY_LIMIT), ("temp_directory", ENV_TEMP_DIR)):
        value = os.environ.get(env) or (fallback[env] if defaults else None)
        if value:
            con.execute(f"SET {setting} = ?", [value])


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a block, then back as it was. Each of its passes
    walks every object made since the last: while the payments scan runs (its data live
    in Arrow buffers; a full pass over the imports' objects would fall inside it) and
    while the entity graph makes millions of small acyclic dicts and tuples (a third of
    its build at 1.5 million edges). The few cycles left are collected after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
