"""Every bad-input case of the public schema gets an error naming file, row and column."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from daybreak.schema import SchemaError, read_table
from daybreak.schema.validate import failing_columns, failing_columns_in_file, validate_records

HEADER = (
    "txn_id,timestamp,sender_id,sender_name,sender_country,receiver_id,receiver_name,"
    "receiver_country,amount,currency,channel,reference,merchant_category"
)
GOOD = [
    "t1,2025-03-01T22:15:00Z,C1,Ann Lee,AU,gcash:+639171234567,Maria Santos,PH,48.50,AUD,remittance,school fees,",
    "t2,2025-03-02T10:00:00.123Z,C1,,AU,shop:1,,AU,12.00,AUD,card,,5411",
    "t3,2025-03-02T10:00:00+00:00,C2,Bob,AU,bdo:0012,,PH,0,AUD,wire,,",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "tx.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SchemaError) as info:
        read_table(path, "transactions")
    return [str(i) for i in info.value.issues]


def test_good_file_is_typed(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "transactions").frame
    assert frame.height == 3
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert frame.schema["amount"] == pl.Float64
    assert frame["timestamp"][0] == datetime(2025, 3, 1, 22, 15, tzinfo=UTC)
    assert frame["merchant_category"].to_list() == [None, "5411", None]


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("t9,2025-13-01T00:00:00Z,C1,,AU,x:1,,PH,5,AUD,p2p,,", "timestamp", "ISO-8601"),
        ("t9,2025-03-01 22:15:00,C1,,AU,x:1,,PH,5,AUD,p2p,,", "timestamp", "ISO-8601"),
        ("t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,-5,AUD,p2p,,", "amount", "non-negative"),
        ("t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,five,AUD,p2p,,", "amount", "non-negative"),
        ("t9,2025-03-01T22:15:00Z,C1,,XX,x:1,,PH,5,AUD,p2p,,", "sender_country", "ISO 3166"),
        ("t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,5,ABC,p2p,,", "currency", "ISO 4217"),
        ("t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,5,AUD,teleport,,", "channel", "one of wire"),
        ("t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,5,AUD,card,,54", "merchant_category", "4-digit"),
        ("t9,2025-03-01T22:15:00Z,,,AU,x:1,,PH,5,AUD,p2p,,", "sender_id", "missing value"),
        ("t1,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,5,AUD,p2p,,", "txn_id", "duplicate id"),
    ],
)
def test_bad_values_name_row_and_column(
    tmp_path: Path, row: str, column: str, expected: str
) -> None:
    found = problems(write(tmp_path, [*GOOD, row]))
    assert len(found) == 1, found
    assert "tx.csv, row 4 (line 5)" in found[0]
    assert f"column '{column}'" in found[0]
    assert expected in found[0]


def test_missing_and_extra_columns(tmp_path: Path) -> None:
    header = HEADER.replace(",merchant_category", ",mcc")
    found = problems(write(tmp_path, [r for r in GOOD], header=header))
    assert any("missing column(s) ['merchant_category']" in f for f in found)
    assert any("unexpected column(s) ['mcc']" in f for f in found)


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tx.csv"
    body = "\n".join([HEADER, *GOOD]).encode() + "\nt4,2025-03-01T22:15:00Z,C1,Jos\xe9".encode(
        "latin-1"
    )
    path.write_bytes(body + b",AU,x:1,,PH,5,AUD,p2p,,\n")
    found = problems(path)
    assert "row 4 (line 5)" in found[0] and "UTF-8" in found[0]


def test_empty_and_unsupported_files(tmp_path: Path) -> None:
    empty = tmp_path / "tx.csv"
    empty.write_bytes(b"")
    assert "file is empty" in problems(empty)[0]
    other = tmp_path / "tx.xlsx"
    other.write_bytes(b"x")
    assert "unsupported format '.xlsx'" in problems(other)[0]


def test_quarantine_keeps_good_rows_and_records_reasons(tmp_path: Path) -> None:
    bad = "t9,2025-03-01T22:15:00Z,C1,,AU,x:1,,PH,-5,ABC,p2p,,"
    result = read_table(write(tmp_path, [*GOOD, bad]), "transactions", quarantine=tmp_path / "q")
    assert result.frame["txn_id"].to_list() == ["t1", "t2", "t3"]
    assert result.rejected == 1
    assert result.quarantine_file is not None
    rejected = pl.read_csv(result.quarantine_file, infer_schema=False)
    assert rejected["_row"].to_list() == ["4"]
    assert rejected["txn_id"].to_list() == ["t9"]
    reasons = rejected["_reasons"][0]
    assert "amount: expected a non-negative number" in reasons
    assert "currency: expected an ISO 4217" in reasons


def test_parquet_naive_timestamps_are_refused(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "transactions").frame
    frame.with_columns(pl.col("timestamp").dt.replace_time_zone(None)).write_parquet(
        tmp_path / "tx.parquet"
    )
    with pytest.raises(SchemaError) as info:
        read_table(tmp_path / "tx.parquet", "transactions")
    assert all(i.column == "timestamp" for i in info.value.issues)
    assert len(info.value.issues) == 3


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "transactions").frame
    frame.write_parquet(tmp_path / "tx.parquet")
    again = read_table(tmp_path / "tx.parquet", "transactions").frame
    assert again.equals(frame)


def test_customers_timezone_and_bool(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,name,birth_year,gender,country,timezone,known_offender\n"
        "C1,Ann Lee,1961,M,AU,Australia/Sydney,true\n"
        "C2,Bo Li,,,AU,Mars/Olympus,maybe\n"
    )
    with pytest.raises(SchemaError) as info:
        read_table(path, "customers")
    cols = sorted(i.column or "" for i in info.value.issues)
    assert cols == ["known_offender", "timezone"]


def test_failing_columns_names_each_broken_column_once(tmp_path: Path) -> None:
    frame = read_table(write(tmp_path, GOOD), "transactions").frame
    assert failing_columns(frame, "transactions", frame.columns) == []
    broken = frame.with_columns(
        pl.when(pl.col("txn_id") == "t2").then(pl.lit(" ")).otherwise(pl.col("sender_id"))
        .alias("sender_id"),
        pl.when(pl.col("txn_id") == "t3").then(None).otherwise(pl.col("receiver_id"))
        .alias("receiver_id"),
        pl.when(pl.col("txn_id") == "t1").then(-1.0).otherwise(pl.col("amount")).alias("amount"),
    )  # fmt: skip
    everything = failing_columns(broken, "transactions", broken.columns)
    assert everything == ["sender_id", "receiver_id", "amount"]
    # only the columns asked about; a missing optional name is not a problem
    assert failing_columns(broken, "transactions", ["amount", "sender_name"]) == ["amount"]
    # blank is any mix of whitespace, Unicode spaces included (as read_table has it)
    for blank in ("\t", "\u3000", " \u00a0 ", ""):
        named = frame.with_columns(pl.lit(blank).alias("receiver_name"))
        assert failing_columns(named, "transactions", ["receiver_name"]) == ["receiver_name"]
    assert failing_columns(frame.with_columns(pl.lit("~ x").alias("receiver_name")),
                           "transactions", ["receiver_name"]) == []  # fmt: skip


def test_failing_columns_in_a_parquet_file_agree_with_the_frame_check(tmp_path: Path) -> None:
    """The whole-file check filters each column alone (tested per dictionary entry); a
    bad value or a null in one row group of several is still found."""
    frame = read_table(write(tmp_path, GOOD), "transactions").frame
    last = pl.col("txn_id") == "t3"
    cases = {
        "good": frame,
        "lower-case country": frame.with_columns(
            pl.when(last).then(pl.lit("ph")).otherwise(pl.col("receiver_country"))
            .alias("receiver_country")),
        "missing channel": frame.with_columns(
            pl.when(last).then(None).otherwise(pl.col("channel")).alias("channel")),
        "bad merchant code": frame.with_columns(
            pl.when(last).then(pl.lit("54X1")).otherwise(pl.col("merchant_category"))
            .alias("merchant_category")),
        "missing currency": frame.with_columns(
            pl.when(last).then(None).otherwise(pl.col("currency")).alias("currency")),
        "blank sender": frame.with_columns(
            pl.when(last).then(pl.lit(" ")).otherwise(pl.col("sender_id")).alias("sender_id")),
    }  # fmt: skip
    found = {}
    for name, variant in cases.items():
        path = tmp_path / f"{name}.parquet"
        variant.write_parquet(path, row_group_size=1)
        found[name] = failing_columns_in_file(path, "transactions", variant.columns)
        assert found[name] == failing_columns(variant, "transactions", variant.columns), name
    assert found == {
        "good": [],
        "lower-case country": ["receiver_country"],
        "missing channel": ["channel"],
        "bad merchant code": ["merchant_category"],
        "missing currency": ["currency"],
        "blank sender": ["sender_id"],
    }


def test_time_zone_list_is_the_iana_list() -> None:
    import zoneinfo

    from daybreak.schema.codes import timezones

    zones = timezones()
    assert {"Australia/Sydney", "Asia/Manila", "America/New_York", "UTC"} <= zones
    assert zones <= zoneinfo.available_timezones()  # every key loads on this machine
    assert len(zones) > 500


FORMULAS = ['=HYPERLINK("http://127.0.0.1/x")', "+1+1", "-2+3", "@SUM(1)", "\tcmd", "\rcmd"]


@pytest.mark.parametrize("payload", FORMULAS)
def test_quarantined_cells_that_start_a_formula_are_escaped(tmp_path: Path, payload: str) -> None:
    """Issue #18 item 9: rejected rows were written as they came, so opening the file
    in a spreadsheet ran them as formulas (OWASP: prefix such cells with ')."""
    path = tmp_path / "tx.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerows([HEADER.split(","), *(r.split(",") for r in GOOD)])
        when = "2025-03-01T22:15:00Z"
        out.writerow(
            [
                "t9",
                when,
                "C1",
                payload,
                "AU",
                "x:1",
                "Maria Santos",
                "PH",
                "-5",
                "ABC",
                "p2p",
                "",
                "",
            ]
        )
    result = read_table(path, "transactions", quarantine=tmp_path / "q")
    assert result.rejected == 1 and result.quarantine_file is not None
    rejected = pl.read_csv(result.quarantine_file, infer_schema=False)
    row = rejected.row(0, named=True)
    assert row["sender_name"] == "'" + payload
    assert row["amount"] == "'-5"  # a leading minus is a formula start too
    assert row["txn_id"] == "t9" and row["receiver_name"] == "Maria Santos"  # others kept
    assert row["_reasons"].startswith("amount: ")


def test_json_records_are_typed_as_the_same_rows_of_a_file(tmp_path: Path) -> None:
    """validate_records builds its frame column by column: each JSON scalar becomes the
    text a CSV cell holds (numbers as str() writes them, booleans true/false), so the
    typed rows equal those read from the file, and bad records are named by source."""
    records: list[object] = [
        {"txn_id": "t1", "timestamp": "2025-03-01T22:15:00Z", "sender_id": "C1",
         "sender_name": "Ann Lee", "sender_country": "AU", "receiver_id": "gcash:+639171234567",
         "receiver_name": "Maria Santos", "receiver_country": "PH", "amount": 48.5,
         "currency": "AUD", "channel": "remittance", "reference": "school fees"},
        {"txn_id": "t2", "timestamp": "2025-03-02T10:00:00.123Z", "sender_id": "C1",
         "sender_name": None, "sender_country": "AU", "receiver_id": "shop:1",
         "receiver_country": "AU", "amount": 12, "currency": "AUD", "channel": "card",
         "merchant_category": 5411},
        ["not", "an", "object"],
        {"txn_id": 3, "timestamp": "2025-03-02T10:00:00+00:00", "sender_id": "C2",
         "sender_name": "Bob", "sender_country": "AU", "receiver_id": "bdo:0012",
         "receiver_country": "PH", "amount": 0, "currency": "AUD", "channel": "wire",
         "reference": True},
        {"txn_id": "t4", "timestamp": "2025-03-02T10:00:00Z", "sender_id": "C2",
         "sender_country": "XX", "receiver_id": "r", "receiver_country": "PH",
         "amount": 1e-07, "currency": "AUD", "channel": "wire", "reference": {"a": 1}},
        {"txn_id": "t5", "timestamp": "2025-03-02T10:00:00Z", "sender_id": "C2",
         "sender_country": "XX", "receiver_id": "r", "receiver_country": "PH",
         "amount": 1e-07, "currency": "AUD", "channel": "wire"},
    ]  # fmt: skip
    rows = [GOOD[0], GOOD[1], GOOD[2].replace("t3,", "3,").replace(",wire,,", ",wire,true,")]
    from_file = read_table(write(tmp_path, rows), "transactions").frame
    result = validate_records(records, "transactions", [f"msg {i}" for i in range(6)])
    assert result.positions == [0, 1, 3]
    assert result.frame.to_dicts() == from_file.to_dicts()
    assert sorted(result.problems) == [2, 4, 5]
    assert "expected a JSON object, got list" in str(result.problems[2][0])
    assert "msg 4" in str(result.problems[4][0]) and "reference" in str(result.problems[4][0])
    assert [i.column for i in result.problems[5]] == ["sender_country"]
