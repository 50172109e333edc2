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


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with production cost takes ~0.5 s per hash on this machine; the tests check
    behaviour, not cost (production parameters are argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    from daybreak.store import auth

    monkeypatch.setattr(
        auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
