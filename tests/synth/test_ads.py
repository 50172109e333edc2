"""Recruitment ads in the synthetic world, written by the CLI (the networks and
look-alikes themselves: tests/platform_signals/test_ads.py)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.schema import read_table


def test_synth_cli_ads_writes_platform_ads_and_their_labels(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["synth", "--out", str(out), "--customers", "300", "--months", "2", "--seed", "3",
            "--ads", "--format", "csv"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ads = read_table(out / "platform_ads.csv", "platform_ads").frame
    labels = pl.read_csv(out / "truth" / "account_labels.csv")
    assert set(labels["subject_type"].to_list()) == {"ad"}
    assert set(labels["subject_id"].to_list()) == set(ads["ad_id"].to_list())
    assert labels["label"].sum() > 0
    params = json.loads((out / "truth" / "params.json").read_text())
    assert "ads_per_network" in params["ads"]
