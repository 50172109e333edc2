"""platform_ads: contact details and photo hashes of job/model ads and profiles; every bad
input gets an error naming file, row and column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daybreak.schema import SchemaError, read_table

HEADER = (
    "ad_id,service,record_type,account_id,posted_at,city,country,category,contact_phone,"
    "payment_handle,photo_pdq"
)
PDQ = "ab" * 32
GOOD = [
    f"A1,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,online_job,+639171234567,gcash:+639171234567,{PDQ}",
    "A2,kinnect,profile,,2025-03-02T10:00:00Z,,PH,model,,,",  # nothing to link: fine
    f"A3,streamly,ad,u9,2025-03-03T10:00:00Z,Cebu,PH,travel_job,+639171234567,,{PDQ}",
]


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "platform_ads.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_good_file_is_typed(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "platform_ads").frame
    assert frame.height == 3
    assert frame["posted_at"][0] == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert frame["account_id"].to_list() == ["u1", None, "u9"]


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("A9,kinnect,ad,u1,2025-03-01,Manila,PH,model,,,", "posted_at", "ISO-8601"),
        ("A9,kinnect,post,u1,2025-03-01T10:00:00Z,Manila,PH,model,,,", "record_type", "ad, profile"),
        ("A9,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,escort,,,", "category", "online_job"),
        ("A9,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,XX,model,,,", "country", "ISO 3166-1"),
        ("A9,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,model,09171234567,,", "contact_phone",
         "E.164"),
        ("A9,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,model,,,AB12", "photo_pdq", "64 lower"),
        ("A1,kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,model,,,", "ad_id", "duplicate"),
        (",kinnect,ad,u1,2025-03-01T10:00:00Z,Manila,PH,model,,,", "ad_id", "missing value"),
    ],
)  # fmt: skip
def test_bad_rows_name_row_and_column(tmp_path: Path, row: str, column: str, expected: str) -> None:
    with pytest.raises(SchemaError) as info:
        read_table(write(tmp_path, [*GOOD, row]), "platform_ads")
    found = [str(i) for i in info.value.issues]
    assert len(found) == 1, found
    assert f"platform_ads.csv, row 4 (line 5), column '{column}'" in found[0]
    assert expected in found[0]
