"""The kit for a source plug-in (``daybreak.sources``): what every face relies on when
it reads a file through one (`daybreak validate --source`, `daybreak sources convert`,
the payments detector's ``--transactions``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from daybreak.plugins import SourceInfo
from daybreak.schema import TABLES
from daybreak.schema.source_read import SourceReadError, read_via_source


def check_source(info: SourceInfo, sample: Path, not_of_the_format: Path) -> pl.DataFrame:
    """``info`` describes itself fully; ``sample`` (a file in the source's format whose
    rows are all valid) reads into its public schema with no row rejected; a file not in
    the format is refused with an error naming that file. Returns the frame read."""
    assert info.name.strip() and info.label.strip(), f"{info.name}: name and label"
    assert info.description.strip(), f"{info.name}: description"
    assert info.table in TABLES, f"{info.name}: {info.table!r} is not a public schema"
    assert all(s.startswith(".") for s in info.suffixes), f"{info.name}: suffixes start '.'"
    result = read_via_source(info, sample)
    assert result.frame.height > 0, f"{info.name}: the sample read as no rows"
    assert result.rejected == 0, f"{info.name}: {result.rejected} sample row(s) rejected"
    assert result.frame.columns == TABLES[info.table].names, f"{info.name}: columns"
    try:
        read_via_source(info, not_of_the_format)
    except SourceReadError as exc:
        assert str(not_of_the_format) in str(exc), f"{info.name}: error does not name the file"
    else:
        raise AssertionError(f"{info.name}: read {not_of_the_format} without an error")
    return result.frame
