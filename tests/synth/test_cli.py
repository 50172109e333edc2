"""`daybreak synth` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.main import app

runner = CliRunner()
TABLE_FILES = (
    "transactions",
    "customers",
    "reports",
    "platform_events",
    "platform_accounts",
    "media_sightings",
    "identifiers",
)


def test_synth_writes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["synth", "--out", str(out), "--customers", "300", "--months", "2", "--seed", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in TABLE_FILES:
        assert (out / f"{name}.parquet").is_file(), name
    labels = pl.read_csv(out / "truth" / "labels.csv")
    assert labels.filter(pl.col("subject_type") == "customer").height == 300
    assert (out / "truth" / "links.csv").is_file()
    assert "transactions" in result.output


def test_synth_csv_format_and_profile(tmp_path: Path) -> None:
    out = tmp_path / "world"
    result = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--customers",
            "300",
            "--months",
            "1",
            "--format",
            "csv",
            "--profile",
            "us-remitter",
        ],
    )
    assert result.exit_code == 0, result.output
    txns = pl.read_csv(out / "transactions.csv", infer_schema=False)
    assert set(txns.get_column("currency")) == {"USD"}
    assert txns.get_column("timestamp").str.ends_with("Z").all()


def test_synth_rejects_unknown_profile_and_format(tmp_path: Path) -> None:
    bad_profile = runner.invoke(app, ["synth", "--out", str(tmp_path), "--profile", "mars"])
    assert bad_profile.exit_code == 2
    assert "unknown profile 'mars'" in bad_profile.output
    bad_format = runner.invoke(app, ["synth", "--out", str(tmp_path), "--format", "xlsx"])
    assert bad_format.exit_code == 2
    assert "--format must be one of" in bad_format.output
    assert not any(tmp_path.iterdir())


def test_synth_transactions_knob(tmp_path: Path) -> None:
    out = tmp_path / "w"
    result = runner.invoke(
        app,
        [
            "synth",
            "--out",
            str(out),
            "--customers",
            "200",
            "--months",
            "2",
            "--transactions",
            "20000",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = pl.read_parquet(out / "transactions.parquet").height
    assert 17_000 <= rows <= 23_000


def test_synth_refuses_a_file_as_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "not-a-folder"
    target.write_text("x")
    result = runner.invoke(app, ["synth", "--out", str(target), "--customers", "10"])
    assert result.exit_code == 2
    assert "is not a folder" in result.output


def test_synth_randomize_writes_the_drawn_parameters(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["synth", "--out", str(out), "--customers", "300", "--months", "1", "--seed", "3"]
    restricted = [
        "--randomize",
        "--region",
        "US,GB",
        "--language",
        "es",
        "--careful-share",
        "0.4-0.5",
    ]
    result = runner.invoke(app, args + restricted)
    assert result.exit_code == 0, result.output
    params = json.loads((out / "truth" / "params.json").read_text("utf-8"))
    assert params["region"]["sending_region"] in {"US", "GB"}
    assert params["region"]["reference_language"] == "es"
    assert 0.4 <= params["region"]["careful_share"] <= 0.5
    assert params["priors"]["sending_regions"] == ["US", "GB"]
    currency = pl.read_parquet(out / "transactions.parquet").get_column("currency").unique()
    assert currency.to_list() == [params["profile"]["currency"]]
    assert "Drawn region" in result.output


def test_synth_randomize_options_are_checked(tmp_path: Path) -> None:
    cases = [
        (["--region", "US"], "only apply with --randomize"),
        (["--randomize", "--profile", "uk-careful"], "drop --profile"),
        (["--randomize", "--careful-share", "0.9-0.1"], "lo must not exceed hi"),
        (["--randomize", "--language", "xx"], "reference_languages: unknown ['xx']"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["synth", "--out", str(tmp_path / "w"), *extra])
        assert result.exit_code == 2, extra
        assert message in " ".join(result.output.split()), (extra, result.output)
    assert not any(tmp_path.iterdir())
