from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from daybreak.cli.main import app

runner = CliRunner()
HEADER = "customer_id,name,birth_year,gender,country,timezone,known_offender\n"


def test_validate_reports_rows_and_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "C1,Ann,1960,M,AU,Australia/Perth,false\nC1,Bo,1970,F,ZZ,UTC,\n")
    result = runner.invoke(app, ["validate", str(path), "--table", "customers"])
    assert result.exit_code == 2
    assert "row 2 (line 3), column 'customer_id'" in result.output
    assert "column 'country'" in result.output


def test_validate_quarantine_proceeds(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "C1,Ann,1960,M,AU,Australia/Perth,false\nC2,Bo,1970,F,ZZ,UTC,\n")
    q = tmp_path / "q"
    result = runner.invoke(
        app, ["validate", str(path), "--table", "customers", "--quarantine", str(q)]
    )
    assert result.exit_code == 0, result.output
    assert "1 valid row(s)" in result.output
    assert (q / "customers.rejected.csv").read_text().count("\n") == 2


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    result = runner.invoke(app, ["validate", str(path), "--table", "nope"])
    assert result.exit_code == 2 and "unknown table 'nope'" in result.output
