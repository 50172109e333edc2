"""Streamed transactions and platform events, stored as Parquet files of their public
table: ``<output_dir>/<table>/part-<last seq>-<random>.parquet``, readable as one table
with ``polars.read_parquet("<output_dir>/<table>/*.parquet")``.

Each file records, in its Parquet key-value metadata, the stream and the stream
sequence numbers of the messages it holds. A file is written to a hidden temporary name,
flushed to disk and renamed, so it is either whole or absent; only then are its messages
acknowledged. A message redelivered after a crash (written, not yet acknowledged) is
found in that metadata and acknowledged without being written again.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from daybreak.schema.columns import TABLES, ColumnType

META_KEY = b"daybreak.stream"
_TMP_PREFIX = ".part-"


class StreamFiles:
    """The Parquet files of one inbound stream under ``output_dir``."""

    def __init__(self, output_dir: Path, stream: str) -> None:
        self.output_dir = output_dir
        self.stream = stream
        output_dir.mkdir(parents=True, exist_ok=True)

    def folder(self, table: str) -> Path:
        return self.output_dir / table

    def remove_partial(self) -> int:
        """Delete temporary files a killed writer left (never renamed: not durable)."""
        removed = 0
        for tmp in self.output_dir.glob(f"*/{_TMP_PREFIX}*"):
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed

    def stored_seqs(self, above: int) -> set[int]:
        """Sequence numbers above ``above`` (the consumer's acknowledgement floor: all
        at or below it are acknowledged and never come back) already in a file."""
        found: set[int] = set()
        for path in self.output_dir.glob("*/part-*.parquet"):
            last = int(path.name.split("-")[1])
            if last <= above:
                continue  # every message of this file is at or below the floor
            meta = pq.read_metadata(path).metadata or {}
            info = json.loads(meta.get(META_KEY, b"{}"))
            if info.get("stream") == self.stream:
                found.update(s for s in info.get("seqs", ()) if s > above)
        return found

    def write(self, table: str, frame: pl.DataFrame, seqs: Iterable[int]) -> Path:
        """Write ``frame`` (rows of ``table``, from the messages ``seqs``) durably."""
        seq_list = sorted(seqs)
        folder = self.folder(table)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{seq_list[-1]:020d}-{secrets.token_hex(4)}.parquet"
        arrow = frame.to_arrow()
        info = json.dumps({"stream": self.stream, "seqs": seq_list}).encode()
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), META_KEY: info})
        tmp = folder / f"{_TMP_PREFIX}{name}"
        with tmp.open("wb") as fh:
            pq.write_table(
                arrow,
                fh,
                # Dictionaries only where values repeat (codes); statistics only for
                # the times readers filter on: per-batch files, a third cheaper to write.
                use_dictionary=_code_columns(table, arrow.column_names),
                write_statistics=_time_columns(table, arrow.column_names),
                compression="snappy",
            )
            fh.flush()
            os.fsync(fh.fileno())
        final = folder / name
        os.replace(tmp, final)
        fsync_dir(folder)  # the rename itself survives a power cut
        return final


_CODE_TYPES = (
    ColumnType.ENUM,
    ColumnType.COUNTRY,
    ColumnType.CURRENCY,
    ColumnType.TIMEZONE,
    ColumnType.MCC,
    ColumnType.BOOLEAN,
)


def _code_columns(table: str, names: list[str]) -> list[str]:
    spec = TABLES.get(table)
    return (
        [c.name for c in spec.columns if c.type in _CODE_TYPES and c.name in names] if spec else []
    )


def _time_columns(table: str, names: list[str]) -> list[str]:
    spec = TABLES.get(table)
    kind = ColumnType.TIMESTAMP
    return [c.name for c in spec.columns if c.type == kind and c.name in names] if spec else []


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
