"""The `daybreak graph` and `daybreak cases` commands end to end on the tiny world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graph_world import payment_alerts
from typer.testing import CliRunner

from daybreak.cli.main import app

runner = CliRunner()


def _write_alerts(path: Path) -> Path:
    # The payments detector's file form: evidence_txn_ids, no evidence_source.
    with path.open("w", encoding="utf-8") as fh:
        for a in payment_alerts():
            row = a.model_dump(mode="json", exclude={"evidence_ids", "evidence_source"})
            row["evidence_txn_ids"] = list(a.evidence_ids)
            fh.write(json.dumps(row) + "\n")
    return path


def test_graph_build_writes_inspectable_files(tiny_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "graph"
    res = runner.invoke(app, ["graph", "build", "--world", str(tiny_world), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("nodes.parquet", "edges.parquet", "issues.csv", "match_weights.csv",
                 "splink_model.json", "hubs.csv", "summary.json"):  # fmt: skip
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["normalisation_issues"] == 1
    assert summary["edges_by_relation"]["paid"] == 10  # one per payer->payee pair
    weights = (out / "match_weights.csv").read_text()
    assert "mw_name" in weights.splitlines()[0] and "customer:C1" in weights
    res = runner.invoke(app, ["graph", "paths", "--graph", str(out), "--from", "report:R1"])
    assert res.exit_code == 0, res.output
    assert "report:R1 -> payment_handle:gcash:+639171234567 -> customer:" in res.output


def test_cases_build_list_and_rerun(tiny_world: Path, tmp_path: Path) -> None:
    alerts = _write_alerts(tmp_path / "alerts.jsonl")
    out = tmp_path / "cases"
    args = [
        "cases",
        "build",
        "--world",
        str(tiny_world),
        "--alerts",
        str(alerts),
        "--out",
        str(out),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["cases", "list", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 3
    assert {"id", "priority", "explanation"} <= set(rows[0])
    assert rows[0]["priority"] >= rows[-1]["priority"]
    assert "live stream" in rows[0]["explanation"]
    # Re-running on the same data updates, never duplicates.
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, ["cases", "list", "--out", str(out), "--json"])
    assert [json.loads(x)["id"] for x in again.output.splitlines()] == [r["id"] for r in rows]
    res = runner.invoke(app, ["cases", "evaluate", "--world", str(tiny_world), "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert result["truth_cases"] == 2 and result["truth_cases_found"] == 2


def test_bad_alerts_file_is_a_clear_error(tiny_world: Path, tmp_path: Path) -> None:
    bad = tmp_path / "alerts.jsonl"
    bad.write_text('{"subject_type": "customer", "subject_id": "C1"}\nnot json\n')
    res = runner.invoke(
        app,
        [
            "cases",
            "build",
            "--world",
            str(tiny_world),
            "--alerts",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert res.exit_code == 2
    assert "alerts.jsonl: line 1" in res.output and "score" in res.output
    assert "Traceback" not in res.output


def test_missing_world_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["graph", "build", "--world", str(tmp_path), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "transactions" in res.output


def test_list_without_cases_says_what_to_do(tmp_path: Path) -> None:
    res = runner.invoke(app, ["cases", "list", "--out", str(tmp_path), "--json"])
    assert res.exit_code == 2 and "cases build" in res.output


def test_cases_persist_to_the_store(
    tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daybreak.store.keys import generate_key

    monkeypatch.setenv("DAYBREAK_FIELD_KEY", generate_key())
    monkeypatch.setenv("DAYBREAK_AUDIT_KEY", generate_key())
    db = f"sqlite:///{tmp_path / 'cases.sqlite'}"
    alerts = _write_alerts(tmp_path / "alerts.jsonl")
    args = ["cases", "build", "--world", str(tiny_world), "--alerts", str(alerts),
            "--out", str(tmp_path / "c"), "--db", db]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "3 case(s) created, 0 updated" in res.output
    res = runner.invoke(app, args)
    assert "0 case(s) created, 3 updated" in res.output
    listed = runner.invoke(app, ["cases", "list", "--out", str(tmp_path), "--db", db, "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == 3
