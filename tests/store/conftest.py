"""Stores on SQLite (a temp file) and on a real PostgreSQL server (``pg_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daybreak.store import Keyring, TiplineStore
from daybreak.store.keys import generate_key
from pg_schema import reset_postgres


@pytest.fixture
def keys() -> Keyring:
    return Keyring.from_text(generate_key())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+pysqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_url")
    reset_postgres(url)
    return url


@pytest.fixture
def store(db_url: str, keys: Keyring) -> Iterator[TiplineStore]:
    s = TiplineStore(db_url, keys)
    yield s
    s.close()
