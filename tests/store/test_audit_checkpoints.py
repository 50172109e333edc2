"""Item 4 of #18: a cut tail, a rewritten head, an emptied log or an older copy of the
database must not verify. The head carries a MAC under the audit key (separate from the
field key) and the head is checkpointed to a file outside the database."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from store_samples import case, report, sub
from typer.testing import CliRunner

from daybreak.cli.main import app
from daybreak.store import Actor, Keyring, Role, TiplineStore
from daybreak.store import checkpoints as cp
from daybreak.store.keys import KeyError_, generate_key
from daybreak.store.tables import audit_head, audit_log

ANA = Actor("ana", Role.ANALYST)
runner = CliRunner()


def _open(db: Path, keys: Keyring) -> TiplineStore:
    return TiplineStore(f"sqlite+pysqlite:///{db}", keys, checkpoint_every=0)


def _work(store: TiplineStore, n: int = 3) -> None:
    store.reports.add_many([sub(report(f"u-{store.reports.count() + i}")) for i in range(n)])
    store.cases.upsert([case()])
    store.cases.get("C-1", ANA)


@pytest.fixture
def closed(tmp_path: Path, keys: Keyring) -> Path:
    """A store that did some work and was closed (which writes a checkpoint)."""
    db = tmp_path / "a.db"
    with _open(db, keys) as store:
        _work(store)
    return db


def _last_seq(store: TiplineStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(audit_head.c.seq)).scalar_one())


def test_closing_the_store_writes_a_checkpoint_of_its_head(closed: Path, keys: Keyring) -> None:
    path = Path(f"{closed}-audit-checkpoints")
    points, problems = cp.read(path)
    assert problems == [] and points
    with _open(closed, keys) as store:
        assert points[-1].seq == _last_seq(store) > 0
        result = store.audit.verify()
    assert result.ok and result.checkpoints == len(points) and result.warnings == ()


def test_a_cut_tail_with_the_head_set_back_is_detected(closed: Path, keys: Keyring) -> None:
    with _open(closed, keys) as store:
        last = _last_seq(store)
        with store.engine.begin() as conn:  # what the issue did: cut, then rewrite the head
            kept = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == last - 2))
            kept_hash = kept.scalar_one()
            conn.execute(delete(audit_log).where(audit_log.c.seq > last - 2))
            conn.execute(update(audit_head).values(seq=last - 2, hash=kept_hash))
        result = store.audit.verify()
    assert not result.ok
    assert any("head's MAC does not match" in p for p in result.problems)
    assert any(f"records entry {last}" in p and "removed" in p for p in result.problems)


def test_an_emptied_log_is_not_intact(closed: Path, keys: Keyring, tmp_path: Path) -> None:
    with _open(closed, keys) as store:
        with store.engine.begin() as conn:
            conn.execute(delete(audit_log))
            conn.execute(delete(audit_head))
        result = store.audit.verify()
    assert not result.ok and result.entries == 0
    assert any("the chain has 0 entries but checkpoint" in p for p in result.problems)
    # The store refused to checkpoint the emptied chain on close: the evidence stays.
    assert max(p.seq for p in cp.read(Path(f"{closed}-audit-checkpoints"))[0]) > 0


def test_an_older_copy_of_the_whole_database_is_detected(tmp_path: Path, keys: Keyring) -> None:
    """A restored backup has a consistent chain, head and head MAC: only the checkpoint
    taken after it knows the chain went further."""
    db = tmp_path / "a.db"
    with _open(db, keys) as store:
        _work(store)
    shutil.copy(db, tmp_path / "old.db")
    with _open(db, keys) as store:
        _work(store)
        checkpointed = _last_seq(store)
    shutil.copy(tmp_path / "old.db", db)
    with _open(db, keys) as store:
        assert store.audit.verify().problems[0].endswith("entries were removed from the end")
        # ... and carrying on past the checkpointed entry does not hide it.
        _work(store, 6)
        assert _last_seq(store) > checkpointed
        result = store.audit.verify()
    assert any(f"entry {checkpointed}: hash differs from checkpoint" in p for p in result.problems)


def test_an_edited_checkpoint_line_is_detected(closed: Path, keys: Keyring) -> None:
    path = Path(f"{closed}-audit-checkpoints")
    seq, rest = path.read_text().splitlines()[-1].split("\t", 1)
    path.write_text(f"{int(seq) - 1}\t{rest}\n")  # moved back to hide later entries
    with _open(closed, keys) as store:
        result = store.audit.verify()
    assert any("MAC does not match (line forged or edited)" in p for p in result.problems)


def test_a_chain_rebuilt_with_the_field_key_alone_is_detected(
    tmp_path: Path,
) -> None:
    """Whoever holds the field key (to read or export data) cannot re-key the chain."""
    field, audit = generate_key(), generate_key()
    db = tmp_path / "a.db"
    with _open(db, Keyring.from_text(field, audit=audit)) as store:
        _work(store)
    # The same field key with another audit key: every entry, head and row MAC fails.
    with _open(db, Keyring.from_text(field, audit=generate_key())) as forger:
        result = forger.audit.verify()
    assert not result.ok and "entry 1" in result.problems[0]


def test_the_audit_key_is_required_and_must_differ_from_the_field_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = generate_key()
    monkeypatch.setenv("DAYBREAK_FIELD_KEY", field)
    monkeypatch.delenv("DAYBREAK_AUDIT_KEY", raising=False)
    monkeypatch.delenv("DAYBREAK_AUDIT_KEY_FILE", raising=False)
    with pytest.raises(KeyError_, match="DAYBREAK_AUDIT_KEY"):
        Keyring.load(tmp_path, allow_generate=False)
    monkeypatch.setenv("DAYBREAK_AUDIT_KEY", field)
    with pytest.raises(KeyError_, match="different key"):
        Keyring.load(tmp_path, allow_generate=False)
    key_file = tmp_path / "audit.key"
    key_file.write_text(generate_key())
    monkeypatch.delenv("DAYBREAK_AUDIT_KEY")
    monkeypatch.setenv("DAYBREAK_AUDIT_KEY_FILE", str(key_file))
    assert Keyring.load(tmp_path, allow_generate=False).audit_separate


def test_the_store_checkpoints_periodically(tmp_path: Path, keys: Keyring) -> None:
    store = TiplineStore(f"sqlite+pysqlite:///{tmp_path / 'a.db'}", keys, checkpoint_every=0.05)
    try:
        _work(store)
        target = _last_seq(store)
        path = Path(f"{tmp_path / 'a.db'}-audit-checkpoints")
        deadline = time.monotonic() + 10
        while cp.last_seq(path) < target and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cp.last_seq(path) == target  # written while the store is still open
    finally:
        store.close()


def test_cli_checkpoint_and_verify_against_an_off_machine_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"DAYBREAK_FIELD_KEY": generate_key(), "DAYBREAK_AUDIT_KEY": generate_key()}
    data = tmp_path / "data"

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, [*args, "--data-dir", str(data)], env=env)
        return result.exit_code, result.output

    code, out = run("admin", "keys", "create", "acme")
    assert code == 0
    code, out = run("audit", "checkpoint")
    assert code == 0 and "checkpoint at entry" in out
    local = data / "daybreak.db-audit-checkpoints"
    copy = tmp_path / "worm" / "checkpoints"
    copy.parent.mkdir()
    shutil.copy(local, copy)  # the copy an auditor keeps off the machine
    code, out = run("audit", "verify", "--checkpoints", str(copy))
    assert code == 0 and "intact" in out and "checkpoint(s) match" in out
    # Delete every entry and the head, and the local checkpoint file with them.
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data / 'daybreak.db'}")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("DELETE FROM audit_head"))
    engine.dispose()
    os.remove(local)
    code, out = run("audit", "verify", "--checkpoints", str(copy))
    assert code == 1 and "BROKEN" in out and "0 entries" in out
    assert "intact" not in out
