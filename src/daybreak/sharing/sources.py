"""Where the identifiers to share come from: a world folder or a kind,value CSV."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from daybreak.graph.loader import load_world
from daybreak.graph.resolution import resolve_exact
from daybreak.sharing.keyed import SHAREABLE, ShareError

_KINDS = {k.value for k in SHAREABLE}


def world_identifiers(world: Path) -> list[tuple[str, str]]:
    """Every identifier node of the world's graph (already normalised)."""
    nodes = resolve_exact(load_world(world)).nodes
    out = []
    for key in nodes["key"].to_list():
        kind, _, value = key.partition(":")
        if kind in _KINDS:
            out.append((kind, value))
    return out


def csv_identifiers(path: Path) -> list[tuple[str, str]]:
    try:
        df = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ShareError(f"{path}: unreadable ({exc})") from exc
    missing = {"kind", "value"} - set(df.columns)
    if missing:
        raise ShareError(f"{path}: missing column(s) {sorted(missing)}; expected kind,value")
    return [(str(k), str(v)) for k, v in df.select("kind", "value").drop_nulls().iter_rows()]
