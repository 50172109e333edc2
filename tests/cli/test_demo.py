"""`daybreak demo --no-serve` runs every stage on a small world, and re-runs update."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.store import SYSTEM, TiplineStore

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_every_stage_and_reruns_without_duplicates(tmp_path: Path) -> None:
    args = [
        "demo",
        "--workdir",
        str(tmp_path),
        "--customers",
        "2000",
        "--months",
        "3",
        "--no-serve",
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for stage in (
        "synthetic world",
        "payments scan",
        "media hash matching",
        "tipline intake",
        "entity graph and fused cases",
        "exports of CASE-",
    ):
        assert stage in first.output
    lines = (tmp_path / "results" / "alerts.jsonl").read_text().splitlines()
    alerts = [json.loads(line) for line in lines]
    assert alerts and all(a["explanation"] and a["evidence_txn_ids"] for a in alerts)
    assert "average precision" in first.output

    store = TiplineStore.open(tmp_path / "data", dev=True)
    try:
        cases = store.list_cases(SYSTEM)
        assert cases, "the demo stores fused cases"
        fused = [c for c in cases if {"payments", "reports", "media"} <= set(c.sources)]
        assert fused, "some case fuses payments, a tipline report and a media match"
        assert all("independent sources" in c.explanation for c in fused)
        assert store.count_reports() > 0
    finally:
        store.close()
    exports = sorted(p.name.split(".")[1] for p in (tmp_path / "exports").iterdir())
    assert {"stix", "ftm"} <= set(exports)

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    store = TiplineStore.open(tmp_path / "data", dev=True)
    try:
        assert sorted(c.case_id for c in store.list_cases(SYSTEM)) == sorted(
            c.case_id for c in cases
        )
    finally:
        store.close()


def test_demo_refuses_an_unknown_profile(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--workdir", str(tmp_path), "--profile", "nowhere", "--no-serve"]
    )
    assert result.exit_code == 2
    assert "nowhere" in result.output
