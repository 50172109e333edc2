"""`daybreak sources` and `daybreak validate --source`: registered readers of other
formats, Daybreak's own (pacs.008) and the example plug-in's (ledger), from the CLI."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.schema import TABLES

runner = CliRunner()
HEADER = (
    "Booked;Ref;Payer;PayerName;PayerCountry;Payee;PayeeName;PayeeCountry;Amount;Ccy;Channel;Memo"
)
GOOD = "2025-01-31 13:00:12;L1;C1;Ann Lee;AU;gcash:+639170000001;Maria;PH;150,00;AUD;remittance;"
BAD_CHANNEL = "2025-01-31 14:00:00;L2;C2;Bo Tan;AU;gcash:+639170000002;Jo;PH;99,50;AUD;fax;gift"


def _ledger(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", "utf-8")
    return path


def test_sources_list_names_the_built_in_and_the_plugin_sources() -> None:
    listed = runner.invoke(app, ["sources", "list"])
    assert listed.exit_code == 0, listed.output
    for word in ("pacs008", ".xml", "ledger", ".ledger", "transactions"):
        assert word in listed.output


def test_convert_writes_the_public_schema_from_a_plugin_format(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "day.ledger", GOOD)
    out = tmp_path / "world" / "transactions.parquet"
    done = runner.invoke(app, ["sources", "convert", "ledger", str(ledger), "--out", str(out)])
    assert done.exit_code == 0, done.output
    frame = pl.read_parquet(out)
    assert frame.columns == TABLES["transactions"].names
    row = frame.row(0, named=True)
    assert (row["txn_id"], row["amount"], row["receiver_id"]) == (
        "L1",
        150.0,
        "gcash:+639170000001",
    )


def test_validate_reads_through_a_source_by_name_or_by_suffix(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "day.ledger", GOOD, BAD_CHANNEL)
    named = runner.invoke(app, ["validate", str(ledger), "--source", "ledger"])
    assert named.exit_code == 2
    # the error names the ledger file and the row, never the temporary Parquet file
    assert "day.ledger, row 2, column 'channel'" in named.output
    by_suffix = runner.invoke(
        app, ["validate", str(ledger), "-t", "transactions", "--quarantine", str(tmp_path / "q")]
    )
    assert by_suffix.exit_code == 0, by_suffix.output
    assert "1 valid row(s)" in by_suffix.output and "source 'ledger'" in by_suffix.output
    assert (tmp_path / "q" / "day.rejected.csv").exists()


def test_unknown_or_mismatched_sources_are_clear_errors(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "day.ledger", GOOD)
    unknown = runner.invoke(app, ["sources", "convert", "nope", str(ledger), "-o", "x.parquet"])
    assert unknown.exit_code == 2 and "registered sources are ledger, pacs008" in unknown.output
    wrong = runner.invoke(app, ["validate", str(ledger), "-t", "customers", "-s", "ledger"])
    assert wrong.exit_code == 2 and "reads the 'transactions' schema" in wrong.output
    neither = runner.invoke(app, ["validate", str(tmp_path / "x.csv")])
    assert neither.exit_code == 2 and "--table is required" in neither.output
    not_a_ledger = tmp_path / "other.ledger"
    not_a_ledger.write_text("a;b\n1;2\n", "utf-8")
    refused = runner.invoke(app, ["validate", str(not_a_ledger), "-s", "ledger"])
    assert refused.exit_code == 2 and "other.ledger: not a ledger export" in refused.output
