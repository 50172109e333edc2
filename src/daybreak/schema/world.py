"""Where a world folder keeps each public table: ``<table>.parquet``, else ``<table>.csv``.

A world folder is what ``daybreak synth`` writes and what every reader of a world
(payments scan, entity graph, tipline import, exporters) looks in; this is the one place
that says how a table's file is found.
"""

from __future__ import annotations

from pathlib import Path

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
