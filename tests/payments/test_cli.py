"""`daybreak payments` on the command line, including every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from daybreak.cli.payments import app
from daybreak.payments.config import default_pack_text
from payments.tiny import tiny_world

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    tx, cu = tiny_world()
    tx.write_parquet(tmp_path / "tx.parquet")
    cu.write_parquet(tmp_path / "cu.parquet")
    return tmp_path / "tx.parquet", tmp_path / "cu.parquet"


def _run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def _variant(tx: Path, path: Path, **values: str) -> Path:
    """The transactions file with each named column set to one value everywhere."""
    pl.read_parquet(tx).with_columns(pl.lit(v).alias(c) for c, v in values.items()).write_parquet(
        path
    )
    return path


def test_scan_writes_alerts_and_evaluate_reads_them(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx, cu = files
    code, out = _run("scan", "-t", tx, "-c", cu, "--out", tmp_path / "res")
    assert code == 0, out
    assert (tmp_path / "res" / "alerts.jsonl").is_file()
    assert (tmp_path / "res" / "alerts.parquet").is_file()
    truth = tmp_path / "truth"
    truth.mkdir()
    pl.DataFrame({"subject_type": ["customer", "customer"], "subject_id": ["C1", "C3"],
                  "label": [1, 0], "scenario": ["frequent_low_value", "family_remitter"]}
                 ).write_csv(truth / "labels.csv")  # fmt: skip
    code, out = _run("evaluate", "--alerts", tmp_path / "res" / "alerts.jsonl", "--truth", truth)
    assert code == 0, out
    assert "customer:frequent_low_value" in out


def test_csv_input_works(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, cu = files
    frame = pl.read_parquet(tx).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    frame.write_csv(tmp_path / "tx.csv")
    code, out = _run("scan", "-t", tmp_path / "tx.csv", "-c", cu, "--out", tmp_path / "r")
    assert code == 0, out
    assert "alerts" in out


def test_currency_without_a_rate_is_refused(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, cu = files
    isk = _variant(tx, tmp_path / "i.parquet", currency="ISK")
    code, out = _run("scan", "-t", isk, "-c", cu, "--out", tmp_path / "r")
    assert code == 3
    assert "no exchange rate for currency ISK (" in out
    assert "fx_to_reference" in out


def test_unknown_currencies_are_counted_over_the_whole_file(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Every row counts, also rows the detector never reads (domestic card spend)."""
    tx, cu = files
    frame = pl.read_parquet(tx)
    domestic = pl.col("receiver_country") == pl.col("sender_country")
    abroad = frame.filter(~domestic)["txn_id"].max()
    mixed = frame.with_columns(
        pl.when(domestic).then(pl.lit("XAF"))
        .when(pl.col("txn_id") == abroad).then(pl.lit("ISK"))
        .otherwise(pl.col("currency")).alias("currency")
    )  # fmt: skip
    mixed.write_parquet(tmp_path / "mixed.parquet")
    code, out = _run("scan", "-t", tmp_path / "mixed.parquet", "-c", cu, "--out", tmp_path / "r")
    assert code == 3
    n_domestic = frame.filter(domestic).height
    assert n_domestic > 0
    expected = f"no exchange rate for currency ISK (1 rows), XAF ({n_domestic} rows)"
    assert expected in " ".join(out.split()), out


def test_rows_failing_the_schema_are_named(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, _cu = files
    frame = pl.read_parquet(tx).with_columns(
        pl.when(pl.col("txn_id") == "T00002").then(pl.lit("XX1")).otherwise(pl.col("currency"))
        .alias("currency")
    )  # fmt: skip
    frame.write_parquet(tmp_path / "bad.parquet")
    code, out = _run("scan", "-t", tmp_path / "bad.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "row 2, column 'currency'" in out
    assert "ISO 4217" in out


def test_unknown_time_zone_is_refused(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, cu = files
    pl.read_parquet(cu).with_columns(pl.lit("Mars/Olympus").alias("timezone")).write_parquet(
        tmp_path / "c.parquet"
    )
    code, out = _run("scan", "-t", tx, "-c", tmp_path / "c.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "column 'timezone'" in out
    assert "IANA time zone" in out


def test_config_typo_names_key_and_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, _cu = files
    text = default_pack_text().replace("night:\n", "nigth:\n", 1)
    (tmp_path / "rules.yaml").write_text(text)
    line = text.splitlines().index("nigth:") + 1
    code, out = _run("scan", "-t", tx, "--config", tmp_path / "rules.yaml", "--out", tmp_path / "r")
    assert code == 2
    assert f"line {line}, 'nigth': unknown key 'nigth'; did you mean 'night'?" in out


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, out = _run("scan", "-t", empty, "--out", tmp_path / "r")
    assert code == 3
    assert "file is empty" in out
    header = tmp_path / "header.csv"
    header.write_text(",".join(tiny_world()[0].columns) + "\n")
    code, out = _run("scan", "-t", header, "--out", tmp_path / "r")
    assert code == 3
    assert "no transactions" in out


def test_zero_corridor_payments_is_its_own_exit_code(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx, _ = files
    domestic = _variant(tx, tmp_path / "dom.parquet", receiver_country="AU")
    code, out = _run("scan", "-t", domestic, "--out", tmp_path / "r")
    assert code == 4
    assert "nothing to score" in out
    assert not (tmp_path / "r" / "alerts.jsonl").exists()


def test_unknown_engine_and_missing_model(files: tuple[Path, Path], tmp_path: Path) -> None:
    tx, _ = files
    code, out = _run("scan", "-t", tx, "--engine", "oracle", "--out", tmp_path / "r")
    assert code == 2
    assert "unknown engine 'oracle'" in out
    code, out = _run("scan", "-t", tx, "--model", tmp_path, "--out", tmp_path / "r")
    assert code == 2
    assert "not a model folder" in out


def test_parquet_checks_blank_ids_bad_mcc_and_duplicate_ids(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    tx, _cu = files
    frame = pl.read_parquet(tx)
    blank = frame.with_columns(
        pl.when(pl.col("txn_id") == "T00003").then(pl.lit("  ")).otherwise(pl.col("sender_id"))
        .alias("sender_id"),
        pl.when(pl.col("txn_id") == "T00031").then(pl.lit("48a6"))
        .otherwise(pl.col("merchant_category")).alias("merchant_category"),
    )  # fmt: skip
    blank.write_parquet(tmp_path / "blank.parquet")
    code, out = _run("scan", "-t", tmp_path / "blank.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "row 3, column 'sender_id': expected a non-blank value" in out
    assert "row 31, column 'merchant_category': expected a 4-digit merchant category code" in out
    dup = frame.with_columns(
        pl.when(pl.col("txn_id") == "T00002").then(pl.lit("T00001")).otherwise(pl.col("txn_id"))
        .alias("txn_id")
    )  # fmt: skip
    dup.write_parquet(tmp_path / "dup.parquet")
    code, out = _run("scan", "-t", tmp_path / "dup.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "duplicate id(s) 'T00001'" in out


def test_parquet_routing_columns_are_checked_on_rows_the_detector_skips(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """A lower-case country or a missing channel would make a row look irrelevant; the
    scan must name it, with every other problem, rather than skip it."""
    tx, _cu = files
    frame = pl.read_parquet(tx)
    bad = frame.with_columns(
        pl.when(pl.col("txn_id") == "T00004").then(pl.lit("ph"))
        .otherwise(pl.col("receiver_country")).alias("receiver_country"),
        pl.when(pl.col("txn_id") == "T00006").then(pl.lit(None, pl.String))
        .otherwise(pl.col("channel")).alias("channel"),
        pl.when(pl.col("txn_id") == "T00009").then(pl.lit("CAD$"))
        .otherwise(pl.col("currency")).alias("currency"),
    )  # fmt: skip
    bad.write_parquet(tmp_path / "bad.parquet")
    code, out = _run("scan", "-t", tmp_path / "bad.parquet", "--out", tmp_path / "r")
    assert code == 3
    lines = [line for line in out.splitlines() if "row " in line]
    assert "row 4, column 'receiver_country': expected an ISO 3166-1 alpha-2" in lines[0]
    assert "row 6, column 'channel': missing value" in lines[1]
    assert "row 9, column 'currency': expected an ISO 4217 currency code" in lines[2]
    assert not (tmp_path / "r" / "alerts.jsonl").exists()


def test_a_bad_value_in_every_row_is_named_from_the_first_row(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """One value in the whole column: the check reads the file's statistics, not the rows."""
    tx, _cu = files
    one = _variant(tx, tmp_path / "one.parquet", currency="XX1")
    rows = pl.read_parquet(tx).height
    code, out = _run("scan", "-t", one, "--out", tmp_path / "r")
    assert code == 3
    assert (
        f"row 1, column 'currency': expected an ISO 4217 currency code (e.g. AUD) ({rows} rows in all)"
        in out
    )


def test_parquet_header_problems_and_a_bad_config_together(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The file is checked while the pack loads; a pack error is still the one reported."""
    tx, _cu = files
    pl.read_parquet(tx).drop("channel").write_parquet(tmp_path / "short.parquet")
    code, out = _run("scan", "-t", tmp_path / "short.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "missing column(s) ['channel']" in out
    (tmp_path / "rules.yaml").write_text(default_pack_text().replace("night:\n", "nigth:\n", 1))
    code, out = _run("scan", "-t", tmp_path / "short.parquet", "--config", tmp_path / "rules.yaml",
                     "--out", tmp_path / "r")  # fmt: skip
    assert code == 2
    assert "'nigth': unknown key" in out
    code, out = _run("scan", "-t", tmp_path / "absent.parquet", "--out", tmp_path / "r")
    assert code == 3
    assert "absent.parquet" in out
