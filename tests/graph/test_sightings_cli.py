"""`daybreak graph sightings` on a synthetic world: the payments detector's alerts and
the world's tipline reports, resolved into people, written for `daybreak estimate`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.graph import keys

runner = CliRunner()
COLUMNS = ["person", "list", "role", "country", "quarter", "alerts", "seen_as"]


def test_sightings_writes_who_each_source_saw(synth_world: Path, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    detect = ["detect", "payments", "--world", str(synth_world), "--out", str(alerts)]
    assert runner.invoke(app, detect).exit_code == 0
    raised = [json.loads(line) for line in alerts.read_text().splitlines()]
    assert raised, "the synthetic world has payers for the detector to find"
    out = tmp_path / "sightings.csv"
    args = ["graph", "sightings", "--world", str(synth_world), "--alerts", str(alerts)]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = pl.read_csv(out)
    assert rows.columns == COLUMNS
    assert rows.select("person", "list").is_unique().all()
    assert set(rows["list"]) == {"payments", "tipline"}
    assert set(rows["role"]) <= {"payer", "facilitator", "victim", "other"}
    assert all(re.fullmatch(r"\d{4}Q[1-4]|unknown", q) for q in rows["quarter"])
    # every payments alert is behind a payments row, and each such row names its subject
    pay = rows.filter(pl.col("list") == "payments")
    behind = {a for ids in pay["alerts"] for a in ids.split()}
    assert behind == {a["alert_id"] for a in raised}
    for a in raised:
        key = (
            keys.customer_key(a["subject_id"])
            if a["subject_type"] == "customer"
            else keys.beneficiary_key(a["subject_id"])
        )
        row = pay.filter(pl.col("alerts").str.contains(a["alert_id"], literal=True))
        assert any(key in seen.split() for seen in row["seen_as"]), a["alert_id"]
    assert set(pay["role"]) <= {"payer", "facilitator"}
    # the tipline list holds the world's reports, and only them
    reports = set(pl.read_parquet(synth_world / "reports.parquet")["report_id"])
    tips = rows.filter(pl.col("list") == "tipline")
    named = {a.removeprefix("tipline:") for ids in tips["alerts"] for a in ids.split()}
    assert named and named <= reports
    # the printed summary is the file's
    people, total = re.search(
        r"(\d+) people on (\d+) \(person, list\) rows", result.output
    ).groups()  # type: ignore[union-attr]
    assert (int(people), int(total)) == (rows["person"].n_unique(), rows.height)
    assert f"payments {pay.height}, tipline {tips.height}" in result.output

    # without reports, and as Parquet: the same payments rows, no tipline list
    parquet = tmp_path / "sightings.parquet"
    result = runner.invoke(app, [*args, "--no-reports", "--out", str(parquet)])
    assert result.exit_code == 0, result.output
    alone = pl.read_parquet(parquet)
    assert set(alone["list"]) == {"payments"}
    assert (
        alone.select("person", "alerts", "seen_as")
        .sort("person")
        .equals(pay.select("person", "alerts", "seen_as").sort("person"))
    )


def test_sightings_refuses_an_unknown_file_type(synth_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "sightings.txt"
    result = runner.invoke(
        app, ["graph", "sightings", "--world", str(synth_world), "--out", str(out)]
    )
    assert result.exit_code == 2 and "expected a .csv or .parquet file" in result.output
    assert not out.exists()
