"""Turning integer-coded columns into Polars frames in the public schema."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.schema.columns import TABLES, ColumnType

_DTYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.TIMESTAMP: pl.Datetime("us", "UTC"),
    ColumnType.DECIMAL: pl.Float64(),
    ColumnType.INTEGER: pl.Int64(),
    ColumnType.BOOLEAN: pl.Boolean(),
}


def dtype(table: str, column: str) -> pl.DataType:
    return _DTYPES.get(TABLES[table].column(column).type, pl.String())


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema={c: dtype(table, c) for c in TABLES[table].names})


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in schema order and types (fails loudly if one is missing)."""
    return frame.select(pl.col(c).cast(dtype(table, c)) for c in TABLES[table].names)


def lookup(values: Sequence[str] | pl.Series, codes: npt.NDArray[np.integer]) -> pl.Series:
    """``values[codes]`` as a String series; negative codes become null."""
    table = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    idx = pl.Series(codes)  # any integer width: polars gathers with it directly
    if bool((codes < 0).any()):
        idx = pl.select(pl.when(idx >= 0).then(idx)).to_series()
    return table.gather(idx)


def utc(us: npt.NDArray[np.int64]) -> pl.Series:
    return (
        pl.Series(us.astype(np.int64, copy=False))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )


_FIVE_DIGITS = np.frombuffer(
    "".join(f"{k:05d}" for k in range(100_000)).encode("ascii"), dtype=np.uint8
).reshape(100_000, 5)


def ids(prefix: str, n: int, width: int = 9) -> pl.Series:
    """``prefix`` + zero-padded 1..n, built as one Arrow buffer (no per-row Python):
    the digits come five at a time from a lookup table."""
    w = len(prefix) + width
    buf = np.empty((n, w), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    # k = 1..n is sequential, so each group of five digits is a block copy of the table:
    # the lowest group cycles through it, the next repeats each entry 100,000 times, ...
    block = 1
    pos = w
    while pos > len(prefix):
        take = min(5, pos - len(prefix))
        if block == 1:
            group = np.tile(_FIVE_DIGITS[:, 5 - take :], (n // 100_000 + 1, 1))
        else:
            rows = _FIVE_DIGITS[np.arange(0, n // block + 1) % 100_000, 5 - take :]
            group = np.repeat(rows, block, axis=0)
        buf[:, pos - take : pos] = group[1 : n + 1]
        block *= 100_000
        pos -= take
    offsets = np.arange(0, w * (n + 1), w, dtype=np.int64)
    arr = pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
    )
    out = pl.from_arrow(arr)
    assert isinstance(out, pl.Series)
    return out.cast(pl.String)


MCC_STRINGS = pl.Series([f"{k:04d}" for k in range(10000)], dtype=pl.String)
