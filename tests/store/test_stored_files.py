"""Item 6 of #18: what the store puts on disk is private (0600 files, 0700 directories),
``service`` is not stored in clear, and every plain text column is classified."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import String, Text, inspect, select
from store_samples import report, sub

from daybreak.store import Actor, Role, TiplineStore
from daybreak.store.tables import PLAIN_TEXT_COLUMNS, metadata, report_identifiers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tipline.md"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual 022 umask, under which files were created 0644 before."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_database_keys_and_checkpoints_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("DAYBREAK_FIELD_KEY", "DAYBREAK_AUDIT_KEY", "DAYBREAK_AUDIT_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    with TiplineStore.open(data, dev=True) as store:
        store.reports.add_many([sub(report())])
        db = data / "daybreak.db"
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: _mode(p) for p in (db, wal, shm)} == {p.name: 0o600 for p in (db, wal, shm)}
    assert _mode(data) == 0o700
    for name in ("field.key", "audit.key", "daybreak.db-audit-checkpoints"):
        assert _mode(data / name) == 0o600, name


@pytest.mark.usefixtures("open_umask")
def test_an_existing_world_readable_database_is_narrowed(tmp_path: Path, keys: object) -> None:
    db = tmp_path / "old.db"
    db.touch()
    db.chmod(0o644)
    TiplineStore(f"sqlite+pysqlite:///{db}", keys).close()  # type: ignore[arg-type]
    assert _mode(db) == 0o600


def test_service_and_free_text_roles_are_not_stored_in_clear(store: TiplineStore) -> None:
    extra = {"kind": "username", "value": "someone", "role": "Uncle Zebulon's nickname"}
    rec = store.reports.add_many(
        [sub(report(service="zebulonstreamservice", identifiers=[extra]))]
    )[0]
    with store.engine.connect() as conn:
        assert "service" not in {c["name"] for c in inspect(conn).get_columns("reports")}
        roles = set(conn.execute(select(report_identifiers.c.role)).scalars())
    assert roles == {"reported_account", "reported"}
    got = store.reports.get(rec.report_id, Actor("ana", Role.ANALYST))
    assert got is not None and got.report.service == "zebulonstreamservice"
    assert got.report.identifiers[0].role == "Uncle Zebulon's nickname"
    if store.url.startswith("sqlite"):
        store.close()  # checkpoints the WAL into the file
        raw = Path(store.url.split("///", 1)[1]).read_bytes()
        assert b"zebulonstream" not in raw and b"Zebulon" not in raw


def test_every_plain_text_column_is_classified_and_documented() -> None:
    text_columns = {
        f"{t.name}.{c.name}"
        for t in metadata.sorted_tables
        for c in t.columns
        if isinstance(c.type, String | Text)
    }
    assert text_columns == set(PLAIN_TEXT_COLUMNS)
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", DOCS.read_text()))
    missing = sorted(set(PLAIN_TEXT_COLUMNS) - documented)
    assert missing == [], f"plain columns not listed in {DOCS.name}: {missing}"
