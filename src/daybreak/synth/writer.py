"""Write a world to a folder: the public tables (Parquet or CSV) and truth/*.csv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from daybreak.synth.world import World

FORMATS = ("parquet", "csv")


def write_world(world: World, out: Path, fmt: str = "parquet") -> list[Path]:
    """Write every table of ``world`` into ``out``; returns the files written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    out = Path(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in world.tables().items():
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path, compression="zstd", compression_level=1, statistics=False)
        else:
            write_csv(frame, path)
        written.append(path)
    truth = [("labels", world.labels), ("links", world.links)]
    if world.account_labels is not None:
        truth.append(("account_labels", world.account_labels))
    for name, frame in truth:
        path = out / "truth" / f"{name}.csv"
        frame.write_csv(path)
        written.append(path)
    if world.params is not None:
        path = out / "truth" / "params.json"
        path.write_text(json.dumps(world.params, indent=2, ensure_ascii=False) + "\n", "utf-8")
        written.append(path)
    return written


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """ISO-8601 UTC timestamps with Z, amounts with exactly two decimals."""
    frame.write_csv(
        path,
        datetime_format="%Y-%m-%dT%H:%M:%SZ",
        float_precision=2,
    )
