"""The compact in-memory state of incremental real-time scoring (issue #17, part 1):
txn ids held as digests (a digest that matches asks the state file), spending rows as
columns, timestamps exact in microseconds, and a failed batch leaving the file as it
was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from daybreak.engines.payments_realtime import RealtimeState, scan_with_context
from daybreak.payments import realtime_incremental
from daybreak.payments.config import load_pack
from daybreak.payments.realtime_features import (
    _EPOCH,
    CustomerRow,
    Spending,
    _mcc_kinds,
    epoch_micros,
)
from daybreak.payments.realtime_incremental import TxnIndex

synth = pytest.importorskip("daybreak.synth")


def test_the_digest_index_holds_what_was_added_and_merges_without_losing_any(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TxnIndex, "MERGE_AT", 4)  # merge into the sorted array often
    index = TxnIndex(f"T{i:07d}" for i in range(0, 1000, 2))
    for i in range(1, 40, 2):
        assert not index.maybe_held(f"T{i:07d}")
        index.add(f"T{i:07d}")
    assert all(index.maybe_held(f"T{i:07d}") for i in range(0, 1000, 2))
    assert all(index.maybe_held(f"T{i:07d}") for i in range(1, 40, 2))
    assert not any(index.maybe_held(f"T{i:07d}") for i in range(41, 1000, 2))
    assert index.nbytes >= 8 * 500


def test_microseconds_give_the_timestamp_and_the_time_back_exactly() -> None:
    start = datetime(2026, 3, 1, 23, 59, 59, 999_999, tzinfo=UTC)
    for k in range(2000):
        ts = start + timedelta(seconds=k * 7919.123457, microseconds=k * 37)
        us = epoch_micros(ts)
        assert us / 1e6 == ts.timestamp()
        assert _EPOCH + timedelta(microseconds=us) == ts


def test_spending_keeps_flagged_purchases_as_columns() -> None:
    pack = load_pack()
    code = next(iter(_mcc_kinds(pack)))
    corridor = next(iter(pack.corridor_countries))
    ts = datetime(2026, 5, 4, 3, 2, 1, 123_456, tzinfo=UTC)
    spending = Spending()
    rows = [
        {"txn_id": "A1", "channel": "card", "merchant_category": code, "timestamp": ts,
         "receiver_country": "AU", "sender_country": "AU"},
        {"txn_id": "B22", "channel": "card", "merchant_category": "not listed", "timestamp": ts,
         "receiver_country": corridor, "sender_country": "AU"},
        {"txn_id": "C333", "channel": "card", "merchant_category": code,
         "timestamp": ts + timedelta(days=1), "receiver_country": corridor,
         "sender_country": "AU"},
        {"txn_id": "D4", "channel": "transfer", "merchant_category": None, "timestamp": ts,
         "receiver_country": corridor, "sender_country": "AU"},
    ]  # fmt: skip
    taken = [spending.add(r, pack) for r in rows]
    assert taken == [True, True, True, False]
    assert spending.corridor_spend == 2
    flagged = list(spending.flagged(pack))
    assert [(t, us) for t, _, us, _ in flagged] == [("A1", epoch_micros(ts)),
                                                    ("C333", epoch_micros(ts + timedelta(days=1)))]  # fmt: skip
    assert all(kinds == _mcc_kinds(pack)[code] for *_, kinds in flagged)


def test_a_customer_row_reads_as_the_mapping_it_was() -> None:
    row = {"customer_id": "C1", "name": "Ana Cruz", "birth_year": 1970, "gender": "F",
           "country": "AU", "timezone": "Australia/Sydney", "known_offender": False,
           "ignored": 1}  # fmt: skip
    c = CustomerRow(row)
    assert dict(c) == {k: v for k, v in row.items() if k != "ignored"}
    assert c.get("ignored") is None and c.get("timezone") == "Australia/Sydney"


@pytest.fixture(scope="module")
def small() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    world = synth.generate_world(400, 4, 9401)
    tx = world.transactions.sort(["timestamp", "txn_id"])
    pack = load_pack()
    tail = tx.filter(
        pl.col("receiver_country").is_in(list(pack.corridor_countries))
        & (pl.col("receiver_country") != pl.col("sender_country"))
        & ~pl.col("channel").is_in(["card", "cash"])
    ).tail(6)
    return tx.filter(~pl.col("txn_id").is_in(tail["txn_id"].to_list())), tail, world.customers


def test_a_payment_sent_again_under_another_key_is_not_held_twice(
    small: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every id's digest the same (the second state): each payment asks the file, which says
    a new one is new; either way the same answers, and a payment sent again under
    another idempotency key is scored but its row is not added again."""
    history, tail, customers = small
    _, pinned = scan_with_context(history, customers)
    answers = {}
    for collided in (False, True):
        if collided:
            monkeypatch.setattr(realtime_incremental, "_digest", lambda _txn: 7)
        with RealtimeState(tmp_path / f"{collided}.duckdb") as st:
            st.load(history, customers)
            st.pin(pinned)
            before = st.history_rows()
            got = [st.score(tail.slice(i, 1), f"k{i}", str(i)).answer for i in range(tail.height)]
            assert st.history_rows() == before + tail.height
            again = st.score(tail.slice(0, 1), "another-key", "0").answer
            assert st.history_rows() == before + tail.height
            assert again["txn_id"] == got[0]["txn_id"]
            answers[collided] = got
    assert answers[False] == answers[True]


def test_a_failed_batch_leaves_the_file_and_rebuilds_the_memory(
    small: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failure after the batch's lines were written to the journal (its fsync) takes
    them back out: the payment is not held, not replayed by a restart, and scoring it
    again adds it once."""
    history, tail, customers = small
    with RealtimeState(tmp_path / "s.duckdb") as st:
        st.load(history, customers)
        st.refresh_context()
        before = st.history_rows()

        def broken(fd: int) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "fsync", broken)  # after the lines were written
        with pytest.raises(OSError, match="disk full"):
            st.score(tail.slice(0, 1), "k0", "0")
        monkeypatch.undo()
        assert (tmp_path / "s.duckdb.journal").read_bytes() == b""
        assert st.history_rows() == before
        assert st.score(tail.slice(0, 1), "k0", "0").replayed is False
        assert st.history_rows() == before + 1


_SCORE_AND_HANG = """
import json, sys, time
from pathlib import Path
import polars as pl
from daybreak.engines.payments_realtime import RealtimeState
tail = pl.read_parquet(sys.argv[2])
st = RealtimeState(Path(sys.argv[1]), fold_every=1_000_000)  # never folds by itself
answers = [st.score(tail.slice(i, 1), f"k{i}", "d").answer for i in range(tail.height)]
print(json.dumps(answers), flush=True)
time.sleep(600)
"""


def test_answers_journaled_before_a_kill_9_are_in_the_file_after_a_restart(
    small: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """Payments are answered once their batch is in the journal (fsync), not yet in
    the file: a process killed then leaves them to the next open, which folds them in,
    once, with their answers (replayed by key)."""
    history, tail, customers = small
    path = tmp_path / "s.duckdb"
    with RealtimeState(path) as st:
        st.load(history, customers)
        st.refresh_context()
        before = st.history_rows()
    tail.write_parquet(tmp_path / "tail.parquet")
    child = subprocess.Popen(
        [sys.executable, "-c", _SCORE_AND_HANG, str(path), str(tmp_path / "tail.parquet")],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        answers = json.loads(child.stdout.readline())
        assert (tmp_path / "s.duckdb.journal").stat().st_size > 0  # answered, not folded
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        if child.stdout is not None:
            child.stdout.close()
    assert len(answers) == tail.height
    with RealtimeState(path) as st:
        assert st.history_rows() == before + tail.height
        assert (tmp_path / "s.duckdb.journal").read_bytes() == b""
        for i, answer in enumerate(answers):
            again = st.score(tail.slice(i, 1), f"k{i}", "d")
            assert again.replayed and again.answer == answer
        assert st.history_rows() == before + tail.height
    with RealtimeState(path) as st:  # and folding twice adds nothing
        assert st.history_rows() == before + tail.height
        assert st.status()["decisions"] == tail.height
