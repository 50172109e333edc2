"""`daybreak serve`'s hashing budget for its worker processes: one budget for the
deployment, whether the processes share its bucket (PostgreSQL) or each keeps one
(SQLite)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daybreak.api import Settings
from daybreak.cli.main import app
from daybreak.cli.serve import per_process_budget
from daybreak.cli.server import create_app
from daybreak.model.cases import Tier

PG = "postgresql+psycopg://daybreak@127.0.0.1/daybreak"


@pytest.mark.parametrize(
    ("per_minute", "workers", "db", "each"),
    [
        (60, 1, None, 60),  # SQLite in --data-dir, one process: all of it
        (60, 4, None, 15),  # SQLite, four processes with a bucket each: a quarter each
        (60, 7, "sqlite:///x.db", 9),  # rounded up: never 0, at most a few over in all
        (60, 4, PG, 60),  # one bucket in the database for every process: all of it
        (0, 4, None, 0),  # 0: no budget, in every process
    ],
)
def test_each_process_enforces_its_share_of_the_budget(
    per_minute: int, workers: int, db: str | None, each: int
) -> None:
    assert per_process_budget(per_minute, workers, db) == each


def test_a_bad_triage_sla_stops_serve_naming_the_part(tmp_path: Path) -> None:
    """Refused before anything starts: exit 2 and the part that is wrong."""
    args = ["serve", "--data-dir", str(tmp_path), "--dev", "--triage-sla", "1=4h,2=soon"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "2=soon" in result.output and "--triage-sla" in result.output
    assert not any(tmp_path.iterdir())  # no store was opened


def test_the_console_counts_down_with_the_deployment_s_triage_sla(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, dev=True, triage_sla="1=1h")
    served = create_app(settings)
    try:
        sla = served.state.daybreak_console.triage_sla
        assert sla[Tier(1)] == timedelta(hours=1) and sla[Tier(2)] == timedelta(hours=24)
    finally:
        served.state.store.close()
