"""platform_accounts: every bad input gets an error naming file, row and column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from daybreak.schema import SchemaError, read_table

HEADER = "service,account_id,created_at,age_band,is_minor,country,verified"
GOOD = [
    "kinnect,u1,2024-05-01T10:00:00Z,13-15,true,PH,false",
    "kinnect,u2,2023-01-01T00:00:00Z,25+,false,GB,true",
    "streamly,u1,2023-01-01T00:00:00Z,,,,no",  # same id on another service: fine
    "streamly,u3,2023-01-01T00:00:00Z,,true,AU,0",  # minor flag without a band
]


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "platform_accounts.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SchemaError) as info:
        read_table(path, "platform_accounts")
    return [str(i) for i in info.value.issues]


def test_good_file_is_typed(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "platform_accounts").frame
    assert frame.height == 4
    assert frame["is_minor"].to_list() == [True, False, None, True]
    assert frame["verified"].to_list() == [False, True, False, False]
    assert frame["created_at"][0] == datetime(2024, 5, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("kinnect,u9,2024-05-01,13-15,true,PH,false", "created_at", "ISO-8601"),
        ("kinnect,u9,2024-05-01T10:00:00Z,12,true,PH,false", "age_band", "under_13, 13-15"),
        ("kinnect,u9,2024-05-01T10:00:00Z,13-15,false,PH,false", "is_minor", "contradicts"),
        ("kinnect,u9,2024-05-01T10:00:00Z,25+,true,PH,false", "is_minor", "contradicts"),
        ("kinnect,u9,2024-05-01T10:00:00Z,25+,false,XX,false", "country", "ISO 3166-1"),
        ("kinnect,u9,2024-05-01T10:00:00Z,25+,false,PH,", "verified", "missing value"),
        (",u9,2024-05-01T10:00:00Z,25+,false,PH,false", "service", "missing value"),
        ("kinnect,u1,2024-05-01T10:00:00Z,25+,false,PH,false", "account_id", "duplicate"),
    ],
)
def test_bad_rows_name_row_and_column(tmp_path: Path, row: str, column: str, expected: str) -> None:
    found = problems(write(tmp_path, [*GOOD, row]))
    assert len(found) == 1, found
    assert f"platform_accounts.csv, row 5 (line 6), column '{column}'" in found[0]
    assert expected in found[0]


def test_quarantine_keeps_the_good_rows(tmp_path: Path) -> None:
    bad = "kinnect,u1,2024-05-01T10:00:00Z,25+,false,PH,false"
    result = read_table(write(tmp_path, [*GOOD, bad]), "platform_accounts",
                        quarantine=tmp_path / "q")  # fmt: skip
    assert result.frame.height == 4 and result.rejected == 1
    assert result.quarantine_file is not None
    assert "duplicate" in result.quarantine_file.read_text()


def test_parquet_with_a_contradiction_is_refused(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "platform_accounts").frame
    path = tmp_path / "platform_accounts.parquet"
    frame.with_columns(is_minor=pl.lit(False)).write_parquet(path)
    found = problems(path)
    # only the 13-15 row contradicts (the others are adults or declare no band)
    assert len(found) == 1 and "row 1, column 'is_minor': contradicts age_band (13-15)" in found[0]
