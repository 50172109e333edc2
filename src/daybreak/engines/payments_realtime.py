"""Real-time payment scoring run on DuckDB: pinned context, restricted re-scans, the
state file and the decisions.

What is computed (the compiled scan, the context queries, the neighbourhood, the
decision) is :mod:`daybreak.payments.realtime`; this module runs it. The state is one
DuckDB file (``RealtimeState``): the relevant transactions seen so far (batch loads and
every scored payment), the customers, the pinned context with its version, and the
stored answers by idempotency key.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]

from daybreak.engines import Engine, fetch_frame, open_engine
from daybreak.engines.duckdb import DuckDBEngine
from daybreak.model import DEFAULT_ORG
from daybreak.payments.compiler import (
    PINNED_INPUTS,
    SPEND_CHANNELS,
    compile_evidence,
    compile_scan,
    relevant_filter,
)
from daybreak.payments.config import Pack, load_pack
from daybreak.payments.inputs import check_against_pack, refuse_unknown_currencies
from daybreak.payments.realtime import (
    CONTEXT_QUERIES,
    PinnedContext,
    SubjectScore,
    decision_of,
    labelled_neighbourhoods_sql,
    neighbourhood_sql,
    runs_of,
    seeds_sql,
    subject_score,
)
from daybreak.payments.realtime_features import epoch_micros
from daybreak.payments.realtime_incremental import IncrementalScores, TxnIndex

# The batch scan's own scoring steps (calibration, the sole-sender cap), reused so a
# real-time score is the batch one.
from daybreak.payments.scan import (
    ScanResult,
    _capped_by_sole_sender,
    _score,
    scan_registered,
    suspect_score,
)

COMPAT = pl.CompatLevel.oldest()


def take_context(eng: Engine, pack: Pack) -> PinnedContext:
    """The context of the scan that just ran on ``eng`` (its tables are still there)."""
    tables = {name: fetch_frame(eng, sql) for name, sql in CONTEXT_QUERIES.items()}
    return PinnedContext.of(tables, pack.version)


def register_context(eng: Engine, context: PinnedContext) -> None:
    for name, frame in context.tables.items():
        eng.register(name, frame.to_arrow(compat_level=COMPAT))


def scan_with_context(
    transactions: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    pack: Pack | None = None,
    context: PinnedContext | None = None,
    engine: Engine | None = None,
) -> tuple[ScanResult, PinnedContext]:
    """The batch scan of the frames: under ``context`` when given (pinned), else the
    plain scan; returns the result and the context it ran under (the one given, or the
    one this scan derived)."""
    pack = pack or load_pack()
    corridor = check_against_pack(transactions, pack, "transactions")
    eng = engine or open_engine("duckdb")
    try:
        eng.register("transactions", transactions.to_arrow(compat_level=COMPAT))
        eng.register("customers", customers.to_arrow(compat_level=COMPAT))
        pipeline = None
        if context is not None:
            register_context(eng, context)
            pipeline = compile_scan(pack, eng.dialect, pinned=True)
        result = scan_registered(
            eng, pack, None, transactions.height, corridor, None, pipeline=pipeline
        )
        return result, context or take_context(eng, pack)
    finally:
        if engine is None:
            eng.close()


# --- the state file -------------------------------------------------------------------

# No primary keys on the history and the customers: an index on every row tripled the
# file (29,087 rows: 1.1 MB without, 3.2 MB with); rows are deduplicated by anti-joins
# instead (``_append``), whose scan of the ids is small next to the neighbourhood's.
HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS st.history (
  txn_id VARCHAR, "timestamp" TIMESTAMPTZ, sender_id VARCHAR, sender_name VARCHAR,
  sender_country VARCHAR, receiver_id VARCHAR, receiver_name VARCHAR, receiver_country VARCHAR,
  amount DOUBLE, currency VARCHAR, channel VARCHAR, reference VARCHAR,
  merchant_category VARCHAR)
"""
CUSTOMERS_DDL = """
CREATE TABLE IF NOT EXISTS st.customers (
  customer_id VARCHAR, name VARCHAR, birth_year BIGINT, gender VARCHAR,
  country VARCHAR, timezone VARCHAR, known_offender BOOLEAN)
"""
META_DDL = """
CREATE TABLE IF NOT EXISTS st.context_meta (
  id INTEGER PRIMARY KEY, version VARCHAR, pack_version VARCHAR,
  refreshed_at TIMESTAMPTZ, transactions BIGINT, pack VARCHAR)
"""
DECISIONS_DDL = """
CREATE TABLE IF NOT EXISTS st.decisions (
  idempotency_key VARCHAR PRIMARY KEY, digest VARCHAR, txn_id VARCHAR, answer VARCHAR,
  decided_at TIMESTAMPTZ)
"""
# The organisation whose payments the history holds: a decision's explanation names
# transactions of that history, so only that organisation's actors may score against it.
OWNER_DDL = """
CREATE TABLE IF NOT EXISTS st.owner (id INTEGER PRIMARY KEY, org_id VARCHAR)
"""
STATE_FILE = "payments-realtime.duckdb"


class OtherOrganisation(ValueError):
    """Loading or scoring for another organisation than the one the state belongs to."""


def state_path(data_dir: Path) -> Path:
    """The state file in a Daybreak data folder (``daybreak serve --data-dir``)."""
    return data_dir / STATE_FILE


class NoContext(RuntimeError):
    """Scoring before any context was pinned (``daybreak payments realtime refresh``)."""


class IdempotencyConflict(ValueError):
    """An idempotency key seen before with a different payment."""


class QueueFull(RuntimeError):
    """More payments waiting for a scoring run than the state takes (back-pressure:
    the caller retries after ``retry_after`` seconds)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Scored:
    """A stored or fresh answer; ``replayed``: returned for an idempotency key seen
    before with the same payment."""

    answer: dict[str, Any]
    replayed: bool


@dataclass
class _Waiting:
    """A payment waiting for a scoring run, and its answer (``future``) once the run is
    over."""

    payment: dict[str, Any]  # the validated payment's row (the transactions columns)
    key: str | None
    digest: str
    future: Future[Scored] = field(default_factory=Future)

    @property
    def done(self) -> bool:
        return self.future.done()

    def answer(self, result: Scored) -> None:
        self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        self.future.set_exception(error)


class _TableEngine(DuckDBEngine):
    """DuckDB with every step and input held as a DuckDB table: the restricted scan's
    inputs are small, and a scan of a registered Arrow table costs a few milliseconds
    of setup each time a query reads it (most of a small scan's time)."""

    def register(self, name: str, table: pa.Table) -> None:
        self.connection.register("_arrow_in", table)
        try:
            self.connection.execute(
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _arrow_in'
            )
        finally:
            self.connection.unregister("_arrow_in")

    def _define(self, name: str, sql: str, materialize: bool) -> None:
        kind = "TABLE" if materialize else "VIEW"
        self.connection.execute(f'CREATE OR REPLACE TEMP {kind} "{name}" AS {sql}')


class RealtimeState:
    """The incremental state in one DuckDB file and the scoring on it.

    One connection (an in-memory database with the file attached as ``st``) serves
    every call in turn under a lock: the restricted scan's steps are views and Arrow
    tables of that connection.

    Scoring is micro-batched: payments that come while a scoring run is going wait in
    a queue (at most ``max_queue``; more raise QueueFull) and the next run takes them
    together (at most ``max_batch``). Incrementally (the default) they are scored one
    after the other from the in-memory state
    (:class:`daybreak.payments.realtime_incremental.IncrementalScores`), their rows and
    answers appended to a journal next to the file (``<file>.journal``, one fsync a
    batch) before they are answered, and folded into the file ``fold_every`` at a time
    (and before anything reads the file: status, loads, refreshes, closing); a restart
    folds what a stopped process left in the journal. With restricted scans they are split into runs in arrival order
    so that no payment shares its neighbourhood with an earlier one of its run
    (:func:`daybreak.payments.realtime.runs_of`), each run one restricted scan of the
    union of its payments' neighbourhoods."""

    def __init__(
        self,
        path: Path,
        pack: Pack | None = None,
        *,
        threads: int = 1,
        max_queue: int = 256,
        max_batch: int = 64,
        incremental: bool = True,
        fold_every: int = 4096,
    ) -> None:
        """``pack``: the typology pack to score with; by default the one the pinned
        context was made with (recorded in the file), else the built-in one.
        ``incremental``: score with the cached per-customer state in memory
        (:class:`IncrementalScores`, no SQL per payment; the default), else with a
        restricted scan per run (the compiled SQL). ``fold_every``: journaled payments
        and answers the file takes in one transaction (class docstring)."""
        self.path = path
        self.fold_every = fold_every
        self._journal_path = path.with_name(path.name + ".journal")
        self._journal: Any = None  # the open journal (binary, append), once written
        self._unfolded_rows: list[dict[str, Any]] = []  # journaled, not in the file yet
        self._journal_schema: dict[str, pl.DataType] | None = None  # see _rows_frame
        self._unfolded_answers: dict[str, list[Any]] = {}  # by key, likewise
        self.incremental = incremental
        self._scorer: IncrementalScores | None = None  # built on first use
        self._pending: set[str] = set()  # txn_ids scored but not yet in the file
        self._keys: TxnIndex | None = None  # digests of the stored idempotency keys
        self.max_queue = max_queue
        self.max_batch = max_batch
        self._queue: list[_Waiting] = []
        self._wake = threading.Condition()  # guards the queue; wakes the scoring thread
        self._worker: threading.Thread | None = None  # started by the first payment
        self._closed = False
        # the txn_ids of the last scoring runs, in order (status, tests, benchmark)
        self.runs: deque[tuple[str, ...]] = deque(maxlen=10_000)
        # the payments each micro-batch scored (status, benchmark): incrementally a
        # "run" above is one payment, scored in its batch's order
        self.batches: deque[int] = deque(maxlen=10_000)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._eng = _TableEngine(threads=threads)
        self._con = self._eng.connection
        quoted = str(path).replace("'", "''")
        self._con.execute(f"ATTACH '{quoted}' AS st")
        for ddl in (HISTORY_DDL, CUSTOMERS_DDL, META_DDL, DECISIONS_DDL, OWNER_DDL):
            self._con.execute(ddl)
        owner = self._one("SELECT org_id FROM st.owner WHERE id = 1")
        self._owner: str | None = str(owner[0]) if owner else None
        self.pack = pack or self._recorded_pack() or load_pack()
        self._lock = threading.RLock()
        d = self._eng.dialect
        self._pipeline = compile_scan(self.pack, d, pinned=True)
        self._evidence = compile_evidence(d)
        self._relevant = relevant_filter(self.pack, d, alias="")
        self._hood = neighbourhood_sql(
            self.pack.network_iterations, "st.history", "seeds", "st.pinned_entities"
        )
        self._hoods = labelled_neighbourhoods_sql(
            self.pack.network_iterations, "history_and_waiting", "waiting", "st.pinned_entities"
        )
        # why there is no context, for the refusal: none pinned, or one pinned by an
        # earlier version that lacks inputs this version reads
        self._no_context = (
            "no pinned context yet: load a history and run `daybreak payments realtime refresh`"
        )
        self.context: PinnedContext | None = self._read_context()
        if self.context is not None:
            register_context(self._eng, self.context)
        self._replay_journal()

    # -- loading and context --

    @property
    def org_id(self) -> str | None:
        """The organisation the state belongs to (set by the first ``load``); kept in
        memory, since the connection is busy with the scoring runs."""
        return self._owner

    def check_owner(self, org_id: str) -> None:
        """Raise OtherOrganisation unless ``org_id`` owns the state (or none does yet)."""
        owner = self._owner
        if owner is not None and owner != org_id:
            raise OtherOrganisation(
                f"the real-time state belongs to organisation {owner!r}, not {org_id!r}"
            )

    def load(
        self,
        transactions: pl.DataFrame,
        customers: pl.DataFrame | None = None,
        *,
        org_id: str = DEFAULT_ORG,
    ) -> int:
        """Append a batch of ``org_id``'s payments: the relevant transactions not seen
        before (by ``txn_id``) and the customers (a customer given again is replaced).
        The first load makes ``org_id`` the state's owner; another organisation's load
        raises OtherOrganisation. Returns the rows added."""
        refuse_unknown_currencies(
            dict(transactions.group_by("currency").len().iter_rows()), self.pack, "transactions"
        )
        with self._lock:
            self._fold()
            self.check_owner(org_id)
            self._con.execute("INSERT OR IGNORE INTO st.owner VALUES (1, ?)", [org_id])
            self._owner = org_id
            before = self.history_rows()
            self._scorer = None  # rebuilt from the file on the next payment
            self._append(transactions)
            if customers is not None and customers.height:
                self._con.register("customers_in", customers.to_arrow(compat_level=COMPAT))
                try:
                    self._con.execute(
                        "DELETE FROM st.customers WHERE customer_id IN "
                        "(SELECT customer_id FROM customers_in)"
                    )
                    self._con.execute(
                        "INSERT INTO st.customers SELECT * FROM customers_in "
                        "QUALIFY row_number() OVER (PARTITION BY customer_id) = 1"
                    )
                finally:
                    self._con.unregister("customers_in")
            return self.history_rows() - before

    def _append(self, transactions: pl.DataFrame, *, new: bool = False) -> None:
        """Add the relevant rows whose ``txn_id`` is not held yet (one row of each id);
        ``new``: the caller knows they are relevant, distinct and not held (the
        in-memory state checked), so the anti-join over the history is skipped."""
        self._con.register("rows_in", transactions.to_arrow(compat_level=COMPAT))
        try:
            if new:
                self._con.execute("INSERT INTO st.history SELECT * FROM rows_in")
                return
            self._con.execute(
                f"INSERT INTO st.history SELECT * FROM rows_in WHERE {self._relevant} "
                "AND txn_id NOT IN (SELECT txn_id FROM st.history) "
                "QUALIFY row_number() OVER (PARTITION BY txn_id) = 1"
            )
        finally:
            self._con.unregister("rows_in")

    def history_rows(self) -> int:
        with self._lock:
            self._fold()
            return int(self._one("SELECT count(*) FROM st.history")[0])

    def refresh_context(self) -> tuple[ScanResult, PinnedContext]:
        """Scan the whole history (the batch scan), pin the context it derives and
        record it with its version; returns the scan's result and the context."""
        with self._lock:
            self._fold()
            tx = self._frame("SELECT * FROM st.history ORDER BY txn_id")
            cu = self._frame("SELECT * FROM st.customers ORDER BY customer_id")
            result, context = scan_with_context(tx, cu, pack=self.pack)
            self._pin(context, tx.height)
            return result, context

    def pin(self, context: PinnedContext) -> None:
        """Score under ``context`` from now on (one taken from another scan of the same
        pack, e.g. of a larger world), recorded in the state file."""
        with self._lock:
            self._pin(context, None)

    def _pin(self, context: PinnedContext, transactions: int | None) -> None:
        for name, frame in context.tables.items():
            self._con.register("context_in", frame.to_arrow(compat_level=COMPAT))
            try:
                self._con.execute(f"CREATE OR REPLACE TABLE st.{name} AS SELECT * FROM context_in")
            finally:
                self._con.unregister("context_in")
        self._con.execute(
            "INSERT OR REPLACE INTO st.context_meta VALUES (1, ?, ?, ?, ?, ?)",
            [context.version, self.pack.version, datetime.now(UTC), transactions,
             self.pack.model_dump_json()],
        )  # fmt: skip
        self.context = context
        self._scorer = None
        register_context(self._eng, context)

    def _recorded_pack(self) -> Pack | None:
        row = self._one("SELECT pack FROM st.context_meta WHERE id = 1")
        return Pack.model_validate_json(row[0]) if row is not None and row[0] else None

    def status(self) -> dict[str, Any]:
        """What the state holds: rows, customers, stored answers, the context."""
        with self._lock:
            self._fold()
        meta = self._one(
            "SELECT version, pack_version, refreshed_at, transactions FROM st.context_meta"
        )
        return {
            "path": str(self.path),
            "organisation": self._owner,
            "transactions": self.history_rows(),
            "customers": int(self._one("SELECT count(*) FROM st.customers")[0]),
            "decisions": int(self._one("SELECT count(*) FROM st.decisions")[0]),
            "context_version": meta[0] if meta else None,
            "pack_version": meta[1] if meta else self.pack.version,
            "refreshed_at": meta[2].isoformat() if meta and meta[2] else None,
            "context_transactions": meta[3] if meta else None,
        }

    def _read_context(self) -> PinnedContext | None:
        row = self._one("SELECT version FROM st.context_meta WHERE id = 1")
        if row is None:
            return None
        held = {
            str(r[0])
            for r in self._con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'st'"
            ).fetchall()
        }
        missing = sorted(set(PINNED_INPUTS) - held)
        if missing:  # pinned by an earlier version: scoring waits for a refresh
            self._no_context = (
                f"the pinned context {row[0]} was pinned by an earlier version and lacks "
                f"{', '.join(missing)}: run `daybreak payments realtime refresh`"
            )
            return None
        tables = {name: self._frame(f"SELECT * FROM st.{name}") for name in PINNED_INPUTS}
        return PinnedContext(tables, str(row[0]))

    def _one(self, sql: str, params: list[Any] | None = None) -> Any:
        """The first row of ``sql`` (None when none), the result read to its end: the
        connection refuses other work while a result is pending."""
        rows = self._con.execute(sql, params or []).fetchall()
        return rows[0] if rows else None

    def _frame(self, sql: str) -> pl.DataFrame:
        out = pl.from_arrow(self._con.sql(sql).to_arrow_table())
        assert isinstance(out, pl.DataFrame)
        return out

    # -- scoring --

    def score(
        self,
        payment: pl.DataFrame | Mapping[str, Any],
        idempotency_key: str | None = None,
        digest: str = "",
    ) -> Scored:
        """:meth:`submit` and wait for the answer."""
        return self.submit(payment, idempotency_key, digest).result()

    def submit(
        self,
        payment: pl.DataFrame | Mapping[str, Any],
        idempotency_key: str | None = None,
        digest: str = "",
    ) -> Future[Scored]:
        """Queue one payment (a validated one-row transactions frame, or its row as
        ``validate_record`` types it: no frame on the request's path) for the scoring
        thread, which appends it and decides on it
        (:func:`daybreak.payments.realtime.decision_of`); an idempotency key seen before
        answers with the stored answer for the same payment (``digest``) and fails with
        IdempotencyConflict for another one. Payments that come while a run is going
        wait and are taken together by the next one (class docstring); QueueFull, at
        once, when too many wait. The future is answered once the payment's row and
        answer are committed to the file."""
        if isinstance(payment, pl.DataFrame):
            if payment.height != 1:
                raise ValueError(f"expected one payment, got {payment.height}")
            row = payment.row(0, named=True)
        else:
            row = dict(payment)
        waiting = _Waiting(row, idempotency_key, digest)
        with self._wake:
            if self._closed:
                raise RuntimeError("the real-time state is closed")
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} payments are waiting to be scored", 1)
            self._queue.append(waiting)
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="daybreak-realtime-scoring", daemon=True
                )
                self._worker.start()
            self._wake.notify()
        return waiting.future

    def _work(self) -> None:
        """The scoring thread: take what waits (at most ``max_batch``), score it, again
        (one thread: no hand-off between request threads for the lock)."""
        while True:
            with self._wake:
                while not self._queue and not self._closed:
                    self._wake.wait()
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
            with self._lock:
                try:
                    self._score_batch(batch)
                except BaseException as exc:  # every payment of the batch learns why
                    for w in batch:
                        if not w.done:
                            w.fail(exc)

    def _score_batch(self, batch: list[_Waiting]) -> None:
        """Answer every waiting payment of ``batch`` (arrival order), run after run
        (caller holds the lock)."""
        while batch:
            fresh = self._not_answered_before(batch)
            if not fresh:
                return
            if self.context is None:
                for w in fresh:
                    w.fail(NoContext(self._no_context))
                return
            if self.incremental:
                self._score_incrementally(fresh)
                return
            take = self._run_length(fresh)
            run, batch = fresh[:take], fresh[take:]
            try:
                for w, answer in zip(run, self._score_run([w.payment for w in run]), strict=True):
                    if w.key is not None:
                        self._con.execute(
                            "INSERT INTO st.decisions VALUES (?, ?, ?, ?, ?)",
                            [w.key, w.digest, answer["txn_id"], orjson.dumps(answer).decode(),
                             datetime.now(UTC)],
                        )  # fmt: skip
                        self._remember_key(w.key)
                    w.answer(Scored(answer, False))
            except Exception as exc:  # every payment of the failed run learns why
                for w in run:
                    if not w.done:
                        w.fail(exc)

    def prepare(self) -> None:
        """Build the in-memory state now (incremental scoring, with a pinned context)
        rather than on the first payment."""
        with self._lock:
            if self.incremental and self.context is not None:
                self._incremental_scores()

    def _incremental_scores(self) -> IncrementalScores:
        """The in-memory state, built from the file's history under the pinned context
        on first use (after a start, a load or a refresh)."""
        assert self.context is not None
        if self._scorer is None:
            self._fold()  # the journaled rows too
            history = self._frame("SELECT * FROM st.history ORDER BY txn_id")
            self._scorer = IncrementalScores(
                self.pack,
                self.context,
                self._frame("SELECT * FROM st.customers").to_dicts(),
                # a slice at a time: the rows as dicts are far larger than what is kept
                (r for part in history.iter_slices(20_000) for r in part.iter_rows(named=True)),
                self._held,
            )
        return self._scorer

    def _held(self, txn_id: str) -> bool:
        """Whether the state holds ``txn_id``: among the rows of the batch being scored,
        or in the file (a scan of the ids: asked only when the in-memory digests match,
        for a payment sent again under another idempotency key)."""
        return txn_id in self._pending or (
            self._one("SELECT 1 FROM st.history WHERE txn_id = ? LIMIT 1", [txn_id]) is not None
        )

    def _score_incrementally(self, fresh: list[_Waiting]) -> None:
        """Score ``fresh`` one after the other in arrival order from the in-memory
        state (each answer sees the payments before it and not later ones), then write
        their rows and answers to the file in one go, then answer them (caller holds
        the lock). A failure drops the in-memory state (rebuilt from the file)."""
        assert self.context is not None
        rt = self.pack.realtime
        done: list[tuple[_Waiting, Scored]] = []
        rows: list[dict[str, Any]] = []
        decisions: list[list[Any]] = []
        keys: dict[str, tuple[str, dict[str, Any]]] = {}
        try:
            scorer = self._incremental_scores()
            for w in fresh:
                if w.key is not None and w.key in keys:  # sent again within this batch
                    digest, answer = keys[w.key]
                    if digest != w.digest:
                        w.fail(IdempotencyConflict(
                            "this Idempotency-Key was used before with a different payment"
                        ))  # fmt: skip
                    else:
                        done.append((w, Scored(answer, True)))
                    continue
                row = w.payment
                if scorer.add(row):
                    rows.append(row)
                    self._pending.add(str(row["txn_id"]))
                receiver = str(row["receiver_id"]) if scorer.is_corridor(row) else None
                payer, beneficiary = scorer.scores(str(row["sender_id"]), receiver)
                answer = decision_of(
                    str(row["txn_id"]), payer, beneficiary, self.context.version,
                    rt.review, rt.hold,
                ).to_json()  # fmt: skip
                if w.key is not None:
                    keys[w.key] = (w.digest, answer)
                    decisions.append([w.key, w.digest, answer["txn_id"],
                                      orjson.dumps(answer).decode(), datetime.now(UTC)])  # fmt: skip
                done.append((w, Scored(answer, False)))
                self.runs.append((str(row["txn_id"]),))
            # The batch's rows and answers go to the journal, one fsync for the batch;
            # the file takes them a few thousand at a time (``_fold``): a DuckDB
            # transaction costs ~10 ms of CPU however few its rows.
            self._journal_batch(rows, decisions)
        except Exception as exc:  # every payment of the batch learns why
            self._pending -= {str(w.payment["txn_id"]) for w in fresh}
            self._scorer = None  # rebuilt from the file and the journal
            for w in fresh:
                if not w.done:
                    w.fail(exc)
            return
        self.batches.append(len(fresh))
        for w, scored in done:
            w.answer(scored)
        if len(self._unfolded_answers) + len(self._unfolded_rows) >= self.fold_every:
            self._fold()

    # -- the journal: scored payments not yet in the file --

    def _journal_batch(self, rows: list[dict[str, Any]], decisions: list[list[Any]]) -> None:
        """Append a batch's rows and answers to the journal and fsync it (the batch is
        then durable: a restart replays it into the file), and keep them in memory
        until the next fold (caller holds the lock)."""
        journaled = [_journal_row(row) for row in rows]
        # orjson: the journal's encoding was a tenth of a payment's scoring thread
        lines = [orjson.dumps(["row", row]) for row in journaled]
        for d in decisions:
            lines.append(orjson.dumps(["answer", d[0], d[1], d[2], d[3], epoch_micros(d[4])]))
        if not lines:
            return
        if self._journal is None:
            self._journal = open(self._journal_path, "ab")  # noqa: SIM115 (kept open)
        end = self._journal.tell()
        try:
            self._journal.write(b"\n".join(lines) + b"\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())
        except BaseException:
            # not answered, so not journaled: a restart must not replay it
            with contextlib.suppress(OSError):
                self._journal.truncate(end)
            raise
        self._unfolded_rows.extend(journaled)
        for d in decisions:
            self._unfolded_answers[d[0]] = d
            self._remember_key(d[0])

    def _fold(self) -> None:
        """Write the journaled rows and answers to the file in one transaction, then
        empty the journal (caller holds the lock). A crash between the two replays
        the journal on the next open: the rows are deduplicated by ``txn_id`` and the
        answers by key, so nothing is held twice."""
        if not self._unfolded_rows and not self._unfolded_answers:
            return
        try:
            self._con.execute("BEGIN TRANSACTION")
            if self._unfolded_rows:
                self._append(self._rows_frame(self._unfolded_rows), new=True)
            if self._unfolded_answers:
                self._store_answers(list(self._unfolded_answers.values()))
            self._con.execute("COMMIT")
        except Exception:
            self._rollback()
            raise
        self._unfolded_rows.clear()
        self._unfolded_answers.clear()
        self._pending.clear()
        self._empty_journal()

    def _empty_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        with open(self._journal_path, "wb") as f:
            os.fsync(f.fileno())

    def _replay_journal(self) -> None:
        """Fold a journal left by a process that stopped before folding it (on open).
        A last line cut short by a crash was never answered: it is dropped."""
        if not self._journal_path.exists():
            return
        rows: list[dict[str, Any]] = []
        answers: list[list[Any]] = []
        for line in self._journal_path.read_bytes().splitlines():
            try:
                kind, *rest = json.loads(line)
            except ValueError:
                continue
            if kind == "row":
                rows.append(rest[0])
            else:
                answers.append(rest)
        if rows or answers:
            self._con.execute("BEGIN TRANSACTION")
            if rows:
                self._append(self._rows_frame(rows))  # deduplicated: some may be held
            if answers:
                self._store_answers(answers, replayed=True)
            self._con.execute("COMMIT")
        self._empty_journal()

    def _rows_frame(self, rows: list[dict[str, Any]]) -> pl.DataFrame:
        """Rows as the journal has them (:func:`_journal_row`) as a frame of the
        history's columns."""
        if self._journal_schema is None:
            schema = dict(self._frame("SELECT * FROM st.history LIMIT 0").schema)
            self._journal_schema = {
                k: pl.Int64() if k == "timestamp" else v for k, v in schema.items()
            }
        return pl.DataFrame(rows, schema=self._journal_schema).with_columns(
            pl.from_epoch("timestamp", "us").dt.replace_time_zone("UTC")
        )

    def _not_answered_before(self, batch: list[_Waiting]) -> list[_Waiting]:
        """Answer those of ``batch`` whose key was used before from the stored decisions
        (one query for the batch, and only when the in-memory digests of the stored keys
        may hold one of them: a query costs milliseconds); the others, in order."""
        if self._keys is None:  # the keys stored so far, read once
            self._keys = TxnIndex(
                str(k) for (k,) in self._con.execute(
                    "SELECT idempotency_key FROM st.decisions").fetchall()
            )  # fmt: skip
        known = self._keys
        # only keys the digest index may hold are looked up (usually none)
        keys = sorted({w.key for w in batch if w.key is not None and known.maybe_held(w.key)})
        stored: dict[str, tuple[str, str]] = {}
        if keys:
            marks = ", ".join("?" * len(keys))
            rows = self._con.execute(
                "SELECT idempotency_key, digest, answer FROM st.decisions "
                f"WHERE idempotency_key IN ({marks})",
                keys,
            ).fetchall()
            stored = {str(k): (str(d), str(a)) for k, d, a in rows}
            for k in keys:
                if k in self._unfolded_answers:
                    d = self._unfolded_answers[k]
                    stored[k] = (d[1], d[3])
        fresh = []
        for w in batch:
            hit = stored.get(w.key) if w.key is not None else None
            if hit is None:
                fresh.append(w)
            elif hit[0] != w.digest:
                w.fail(IdempotencyConflict(
                    "this Idempotency-Key was used before with a different payment"
                ))  # fmt: skip
            else:
                w.answer(Scored(json.loads(hit[1]), True))
        return fresh

    def _remember_key(self, key: str) -> None:
        if self._keys is not None:
            self._keys.add(key)

    def _store_answers(self, decisions: list[list[Any]], *, replayed: bool = False) -> None:
        """Insert answers (key, digest, txn_id, answer, decided_at as a datetime or
        epoch microseconds) as one Arrow table: a parameterised insert a row costs about
        a millisecond each. ``replayed``: keys stored already are skipped."""
        columns = list(zip(*decisions, strict=True))
        # the times as microseconds: Arrow converts zoned datetimes through pandas,
        # whose first import took seconds
        micros = [t if isinstance(t, int) else epoch_micros(t) for t in columns[4]]
        table = pa.table(
            [pa.array(columns[i], pa.string()) for i in range(4)] + [pa.array(micros, pa.int64())],
            names=["idempotency_key", "digest", "txn_id", "answer", "decided_us"],
        )
        self._con.register("answers_in", table)
        try:
            self._con.execute(
                f"INSERT {'OR IGNORE ' if replayed else ''}INTO st.decisions "
                "SELECT idempotency_key, digest, txn_id, answer, "
                "make_timestamptz(decided_us) FROM answers_in"
            )
        finally:
            self._con.unregister("answers_in")

    def _rollback(self) -> None:
        """End a failed batch's transaction, if one is open."""
        with contextlib.suppress(duckdb.Error):  # none was open (failed before BEGIN)
            self._con.execute("ROLLBACK")

    def _parties(self, row: dict[str, Any]) -> tuple[str, str, str | None]:
        receiver = str(row["receiver_id"]) if self._is_corridor(row) else None
        return str(row["txn_id"]), str(row["sender_id"]), receiver

    def _run_length(self, fresh: list[_Waiting]) -> int:
        """How many of ``fresh`` the next run takes (:func:`runs_of`), their
        neighbourhoods taken over the history with all of them in it (a superset of
        each one's own: a conservative split)."""
        if len(fresh) == 1:
            return 1
        parties = [self._parties(w.payment) for w in fresh]
        keys = [
            w.key if w.key is not None else f"txn:{p[0]}"
            for w, p in zip(fresh, parties, strict=True)
        ]
        con = self._con
        con.register(
            "waiting_in",
            self._rows_frame([_journal_row(w.payment) for w in fresh]).to_arrow(
                compat_level=COMPAT
            ),
        )
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE waiting_rows AS SELECT * FROM waiting_in "
                f"WHERE {self._relevant}"
            )
        finally:
            con.unregister("waiting_in")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW history_and_waiting AS "
            "SELECT * FROM st.history UNION ALL SELECT * FROM waiting_rows"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE waiting (k INTEGER, sender_id VARCHAR, receiver_id VARCHAR)"
        )
        con.executemany(
            "INSERT INTO waiting VALUES (?, ?, ?)",
            [[k, s, r] for k, (_, s, r) in enumerate(parties)],
        )
        hoods: dict[int, set[str]] = {}
        for k, sender in con.execute(self._hoods).fetchall():
            hoods.setdefault(int(k), set()).add(str(sender))
        return runs_of(
            [(key, s, r) for key, (_, s, r) in zip(keys, parties, strict=True)],
            {k: frozenset(v) for k, v in hoods.items()},
        )

    def _score_run(self, payments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Append the run's payments and decide on each from one restricted scan of
        their neighbourhoods' union (caller holds the lock)."""
        assert self.context is not None
        parties = [self._parties(p) for p in payments]
        self._append(self._rows_frame([_journal_row(p) for p in payments]))
        self._scan_neighbourhood([(s, r) for _, s, r in parties])
        rt = self.pack.realtime
        answers = []
        for txn_id, sender, receiver in parties:
            payer, beneficiary = self._scores_from_scan(sender, receiver)
            answers.append(decision_of(
                txn_id, payer, beneficiary, self.context.version, rt.review, rt.hold
            ).to_json())  # fmt: skip
        self.runs.append(tuple(p[0] for p in parties))
        self.batches.append(len(parties))
        return answers

    def _is_corridor(self, row: dict[str, Any]) -> bool:
        return (
            row["receiver_country"] in self.pack.corridor_countries
            and row["receiver_country"] != row["sender_country"]
            and row["channel"] not in SPEND_CHANNELS
        )

    def subject_scores(
        self, sender_id: str, receiver_id: str | None
    ) -> tuple[SubjectScore, SubjectScore | None]:
        """The payer's and (when given) the beneficiary's scores from the restricted
        scan of their neighbourhood under the pinned context (caller holds the lock)."""
        self._scan_neighbourhood([(sender_id, receiver_id)])
        return self._scores_from_scan(sender_id, receiver_id)

    def _scan_neighbourhood(self, pairs: list[tuple[str, str | None]]) -> None:
        """The restricted scan of the union of the neighbourhoods of ``pairs`` (payer,
        corridor beneficiary or None) under the pinned context."""
        assert self.context is not None
        con = self._con
        con.execute("CREATE OR REPLACE TEMP TABLE payment (sender_id VARCHAR, receiver_id VARCHAR)")
        con.executemany("INSERT INTO payment VALUES (?, ?)", [list(p) for p in pairs])
        seeds = seeds_sql("st.history", "st.pinned_entities")
        con.execute(f"CREATE OR REPLACE TEMP TABLE seeds AS {seeds}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE hood AS {self._hood}")
        con.execute(
            "CREATE OR REPLACE TEMP VIEW transactions AS SELECT * FROM st.history "
            "WHERE sender_id IN (SELECT sender_id FROM hood)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP VIEW customers AS SELECT * FROM st.customers "
            "WHERE customer_id IN (SELECT sender_id FROM hood) OR known_offender"
        )
        self._eng.run(self._pipeline)

    def _scores_from_scan(
        self, sender_id: str, receiver_id: str | None
    ) -> tuple[SubjectScore, SubjectScore | None]:
        """A payer's and beneficiary's scores from the restricted scan just run."""
        cust = _score(
            self._frame(
                "SELECT * FROM customer_scores WHERE sender_id = $s OR sender_id IN "
                "(SELECT sole_sender FROM beneficiary_scores WHERE receiver_id = $r)"
                .replace("$s", self._eng.dialect.string(sender_id))
                .replace("$r", self._eng.dialect.string(receiver_id or ""))
            ),
            self.pack, "customer", None,
        )  # fmt: skip
        bene = pl.DataFrame()
        if receiver_id is not None:
            found = self._frame(
                "SELECT * FROM beneficiary_scores WHERE receiver_id = "
                + self._eng.dialect.string(receiver_id)
            )
            bene = _capped_by_sole_sender(
                _score(found, self.pack, "beneficiary", None),
                cust,
                suspect_score(self.pack, None),
            )
        payer_row = _row(cust, "sender_id", sender_id)
        bene_row = _row(bene, "receiver_id", receiver_id) if receiver_id is not None else None
        evidence = self._evidence_ids(
            [("customer", sender_id)] * (payer_row is not None)
            + [("beneficiary", receiver_id or "")] * (bene_row is not None)
        )
        payer = subject_score(
            self.pack, "customer", sender_id, payer_row, evidence.get(("customer", sender_id), [])
        )
        if receiver_id is None:
            return payer, None
        beneficiary = subject_score(
            self.pack, "beneficiary", receiver_id, bene_row,
            evidence.get(("beneficiary", receiver_id), []),
        )  # fmt: skip
        return payer, beneficiary

    def _evidence_ids(self, subjects: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        if not subjects:
            return {}
        alerted = pl.DataFrame(subjects, schema=["subject_type", "subject_id"], orient="row")
        self._eng.register("alerted", alerted.to_arrow(compat_level=COMPAT))
        self._eng.run(self._evidence)
        rows = self._frame("SELECT * FROM evidence_rows ORDER BY ts, txn_id")
        out: dict[tuple[str, str], list[str]] = {}
        for st, sid, txn in rows.select("subject_type", "subject_id", "txn_id").iter_rows():
            out.setdefault((st, sid), []).append(str(txn))
        return out

    def scores_now(
        self, sender_id: str, receiver_id: str | None
    ) -> tuple[SubjectScore, SubjectScore | None]:
        """The current scores of a payer and a beneficiary without adding a payment."""
        with self._lock:
            if self.context is None:
                raise NoContext(self._no_context)
            self._fold()
            return self.subject_scores(sender_id, receiver_id)

    def size_bytes(self) -> int:
        with self._lock:
            self._fold()
            self._con.execute("CHECKPOINT st")
        return self.path.stat().st_size

    def close(self) -> None:
        """Stop the scoring thread once what waits is scored, then close the file."""
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join()
        with self._lock:
            self._fold()
        if self._journal is not None:
            self._journal.close()
        self._eng.close()

    def __enter__(self) -> RealtimeState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _journal_row(row: dict[str, Any]) -> dict[str, Any]:
    """A payment's row as the journal holds it: the timestamp in epoch microseconds."""
    return {**row, "timestamp": epoch_micros(row["timestamp"])}


def _row(frame: pl.DataFrame, key: str, value: str | None) -> dict[str, Any] | None:
    if value is None or not frame.height or key not in frame.columns:
        return None
    found = frame.filter(pl.col(key) == value)
    return found.row(0, named=True) if found.height else None
