"""Reading a file through a registered source (``daybreak.sources``): the one path every
face takes, so a plug-in's reader is checked exactly like a CSV in the public schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

from daybreak.plugins import PluginError, SourceInfo, sources
from daybreak.schema.validate import SchemaError, ValidationResult, read_table


class SourceReadError(ValueError):
    """A file a source cannot read, or whose rows do not fit the source's table; the
    message names the original file (never the temporary Parquet file)."""


def source_named(name: str) -> SourceInfo:
    """The registered source ``name``; SourceReadError listing the registered ones."""
    known = sources()
    if name not in known:
        listed = ", ".join(known) or "none"
        raise SourceReadError(f"unknown source {name!r}: registered sources are {listed}")
    return known[name]


def read_via_source(
    source: SourceInfo, path: Path, *, quarantine: Path | None = None
) -> ValidationResult:
    """Convert ``path`` with ``source`` into a Parquet file (pacs.008 streams it batch by
    batch), then validate it as ``source.table`` like any flat file."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_file = Path(tmp) / f"{path.stem}.parquet"
        try:
            rows = source.write_parquet(path, tmp_file)
        except (ValueError, PluginError, OSError) as exc:  # the source's own clear errors
            raise SourceReadError(str(exc)) from exc
        if rows == 0:
            raise SourceReadError(f"{path}: no {source.table} in the file ({source.label})")
        try:
            return read_table(tmp_file, source.table, quarantine=quarantine)
        except SchemaError as exc:
            raise SourceReadError(str(exc).replace(str(tmp_file), str(path))) from exc
