"""`daybreak serve`'s hashing budget for its worker processes: one budget for the
deployment, whether the processes share its bucket (PostgreSQL) or each keeps one
(SQLite)."""

from __future__ import annotations

import pytest

from daybreak.cli.serve import per_process_budget

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
