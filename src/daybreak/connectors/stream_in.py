"""``daybreak stream run``: consume transactions, platform events and reports from NATS
JetStream, at least once, with idempotent effects.

One durable pull consumer per kind (``<durable>-<kind>``, filtered on that kind's
subject) and one task each. A task fetches at most ``batch`` messages, validates them
against the public schema (reports against the intake API's ``ReportIn``), makes their
effect durable, and only then acknowledges them:

- transactions and platform events: a Parquet file per batch (:mod:`stream_files`),
  which records the messages' stream sequences, so a redelivered message already in a
  file is acknowledged without being written again; then the batch goes to the stream
  detectors ``inbound.detectors`` names (:mod:`stream_hook`), whose alerts are recorded
  before the batch is acknowledged;
- reports: the store's intake, the message id (``Nats-Msg-Id``, else
  ``<stream>:<sequence>``) as the idempotency key, so a redelivery is a replay;
- a message that fails validation: published to the dead-letter subject with the reason
  in the ``Daybreak-Reason`` header, then acknowledged. Nothing is dropped silently: if
  the dead letter cannot be published, the message is not acknowledged.

Memory is bounded: a task holds one batch at a time and the server hands out at most
``max_in_flight`` unacknowledged messages per consumer (``max_ack_pending``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import overload

import nats
import orjson
import polars as pl
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from daybreak.connectors.nats_connection import connect_nats
from daybreak.connectors.nats_pull import BatchPuller, ack_each, stream_seq
from daybreak.connectors.stream_config import InboundSettings, Kind, NatsSettings
from daybreak.connectors.stream_files import StreamFiles
from daybreak.connectors.stream_hook import DetectorHook
from daybreak.schema.validate import validate_records
from daybreak.store import IdempotencyConflict, Receipt, Submission, TiplineStore
from daybreak.tipline.intake import ReportIn

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 1.0
# Errors after which the connection (reconnecting by itself) is worth asking again.
TRANSIENT = (
    TimeoutError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.NoRespondersError,
)
RETRY_DELAY_SECONDS = 5.0  # a message whose store write failed comes back after this
PRUNE_EVERY_BATCHES = 64
REASON_HEADER = "Daybreak-Reason"
# Test and drill hook: "after_write:N" kills the process (SIGKILL) right after its N-th
# durable write, before the acknowledgements: the worst moment for a crash.
FAILPOINT_ENV = "DAYBREAK_STREAM_FAILPOINT"


@dataclass
class StreamStats:
    """What one run did, per outcome (a message counts once per delivery)."""

    stored: int = 0
    already_stored: int = 0  # redeliveries of messages whose effect was durable
    dead_lettered: int = 0
    retried: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Bad:
    msg: Msg
    reason: str


@dataclass(frozen=True, slots=True)
class _Ready:
    """A batch ready to be made durable: the messages to store, their stream sequences,
    the rows they make (``None`` for reports) and the messages to dead-letter."""

    msgs: list[Msg]
    seqs: list[int]
    bad: list[_Bad]
    frame: pl.DataFrame | None


class _Failpoint:
    def __init__(self) -> None:
        spec = os.environ.get(FAILPOINT_ENV, "")
        self.after_writes = int(spec.split(":", 1)[1]) if spec.startswith("after_write:") else 0
        self.writes = 0

    def wrote(self) -> None:
        self.writes += 1
        if self.after_writes and self.writes >= self.after_writes:
            os.kill(os.getpid(), signal.SIGKILL)


class StreamConsumer:
    """Consumes the kinds ``settings.subjects`` names until :meth:`stop` (or, with
    ``idle_exit``, until no message arrived for that many seconds)."""

    def __init__(
        self,
        settings: InboundSettings,
        nats_settings: NatsSettings,
        store: TiplineStore | None,
    ) -> None:
        if settings.subjects.reports is not None and store is None:
            raise ValueError("inbound.subjects.reports is set: reports need the store")
        if settings.detectors and settings.alerts_to_store and store is None:
            raise ValueError("inbound.detectors with alerts_to_store: alerts need the store")
        self.settings = settings
        self.nats_settings = nats_settings
        self.store = store
        self.files = StreamFiles(settings.output_dir, settings.stream)
        self.stats = StreamStats()
        self._stop = asyncio.Event()
        self._failpoint = _Failpoint()
        self.hook = DetectorHook(settings, self.files, store) if settings.detectors else None

    def stop(self) -> None:
        self._stop.set()

    async def run(self, idle_exit: float | None = None) -> StreamStats:
        self.files.remove_partial()
        if self.hook is not None:
            replayed = await asyncio.to_thread(self.hook.restore)
            log.info("stream detectors restored from %d stored row(s)", replayed)
        nc = await connect_nats(self.nats_settings)
        try:
            js = nc.jetstream()
            if self.settings.create_stream:
                await self._ensure_stream(js)
            tasks = [
                asyncio.create_task(self._consume(nc, js, kind, subject, idle_exit))
                for kind, subject in self.settings.subjects.by_kind().items()
            ]
            await asyncio.gather(*tasks)
        finally:
            if nc.is_connected:
                await nc.flush()  # the last acknowledgements reach the server
            await nc.close()
        return self.stats

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        s = self.settings
        wanted = [*s.subjects.by_kind().values(), s.dead_letter_subject]
        try:
            info = await js.stream_info(s.stream)
        except NotFoundError:
            await js.add_stream(name=s.stream, subjects=wanted)
            return
        have = list(info.config.subjects or [])
        missing = [x for x in wanted if x not in have]
        if missing:
            info.config.subjects = have + missing
            await js.update_stream(info.config)

    async def _consume(
        self, nc: Client, js: JetStreamContext, kind: Kind, subject: str, idle_exit: float | None
    ) -> None:
        s = self.settings
        durable = f"{s.durable}-{kind}"
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            filter_subject=subject,
            ack_wait=s.ack_wait_seconds,
            max_ack_pending=s.max_in_flight,
        )
        await self._ensure_consumer(js, durable, config)
        puller = BatchPuller(nc, s.stream, durable)
        await puller.start()
        try:
            await self._pull(nc, js, puller, kind, durable, idle_exit)
        finally:
            await puller.close()

    async def _ensure_consumer(
        self, js: JetStreamContext, durable: str, config: ConsumerConfig
    ) -> None:
        """Create the durable consumer unless it exists (an existing one keeps its
        configuration, as nats-py's ``pull_subscribe`` does)."""
        try:
            await js.consumer_info(self.settings.stream, durable)
        except NotFoundError:
            config.name = durable
            await js.add_consumer(self.settings.stream, config=config)

    async def _pull(
        self,
        nc: Client,
        js: JetStreamContext,
        puller: BatchPuller,
        kind: Kind,
        durable: str,
        idle_exit: float | None,
    ) -> None:
        stored = self.files.stored_seqs(await self._ack_floor(js, durable))
        idle = 0.0
        batches = 0
        next_batch = asyncio.create_task(self._fetch(puller, durable))
        # The batch being written, its alerts recorded and acknowledged, while the next
        # (full) one is validated: three batches at most are held (writing, validating,
        # arriving).
        writing: asyncio.Task[None] | None = None
        try:
            while True:
                msgs = await next_batch
                if self._stop.is_set():
                    puller.give_back(msgs)
                    return
                if not msgs:
                    if writing is not None:
                        await writing
                        writing = None
                    idle += FETCH_WAIT_SECONDS
                    idle_long = idle_exit is not None and idle >= idle_exit
                    if idle_long and await self._drained(js, durable):
                        return
                    next_batch = asyncio.create_task(self._fetch(puller, durable))
                    continue
                idle = 0.0
                # The next batch arrives (the server sends, the parser reads) while this
                # one is validated and the one before is written.
                next_batch = asyncio.create_task(self._fetch(puller, durable))
                if writing is not None and len(msgs) < self.settings.batch:
                    # caught up (a short batch): no backlog to overlap, so the batch
                    # before gets its alerts out without a validation competing with it
                    await writing
                    writing = None
                ready = await self._prepare(nc, kind, msgs, stored)
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self._commit(nc, js, kind, ready, stored))
                batches += 1
                if batches % PRUNE_EVERY_BATCHES == 0:
                    floor = await self._ack_floor(js, durable)
                    stored.difference_update([q for q in stored if q <= floor])
        finally:
            if writing is not None:
                await writing  # its acknowledgements go out before the connection closes
            if not next_batch.done():
                next_batch.cancel()  # what it received stays buffered: close() hands it back

    async def _fetch(self, puller: BatchPuller, durable: str) -> list[Msg]:
        try:
            linger = self.settings.linger_ms / 1000
            return await puller.fetch(self.settings.batch, FETCH_WAIT_SECONDS, linger)
        except TRANSIENT as exc:
            # connection errors while nats-py reconnects: "nothing yet, ask again"
            log.warning("NATS fetch for %s: %s; retrying", durable, exc)
            await asyncio.sleep(FETCH_WAIT_SECONDS)
            return []

    async def _drained(self, js: JetStreamContext, durable: str) -> bool:
        """Nothing left to deliver and nothing awaiting an acknowledgement (messages a
        killed consumer held come back after ``ack_wait``: wait for them)."""
        try:
            info = await js.consumer_info(self.settings.stream, durable)
        except TRANSIENT:
            return False  # cannot tell now: keep consuming, ask again later
        return not info.num_pending and not info.num_ack_pending

    async def _ack_floor(self, js: JetStreamContext, durable: str) -> int:
        try:
            info = await js.consumer_info(self.settings.stream, durable)
        except NotFoundError:
            return 0
        return int(info.ack_floor.stream_seq) if info.ack_floor else 0

    async def _prepare(self, nc: Client, kind: Kind, msgs: list[Msg], stored: set[int]) -> _Ready:
        """Acknowledge the redeliveries of messages already written; validate the rest
        (rows) or leave them to :meth:`_commit` (reports)."""
        seqs = [stream_seq(m) for m in msgs]
        again = [m for m, q in zip(msgs, seqs, strict=True) if q in stored]
        if again:  # written before a crash, not acknowledged then
            await ack_each(nc, again)
            self.stats.already_stored += len(again)
            msgs = [m for m, q in zip(msgs, seqs, strict=True) if q not in stored]
            seqs = [q for q in seqs if q not in stored]
        if kind == "reports" or not msgs:
            return _Ready(msgs, seqs, [], None)
        # In a thread: polars validates without the GIL, so the event loop meanwhile
        # takes in the next batch and the batch before is written.
        return await asyncio.to_thread(self._validate, kind, msgs, seqs)

    def _validate(self, kind: Kind, msgs: list[Msg], seqs: list[int]) -> _Ready:
        records, bad, decoded = _decode_all(msgs)
        result = validate_records(records, kind, _Names([msgs[i] for i in decoded]))
        bad += [
            _Bad(msgs[decoded[i]], "; ".join(str(issue) for issue in issues))
            for i, issues in sorted(result.problems.items())
        ]
        good = [decoded[i] for i in result.positions]
        return _Ready([msgs[i] for i in good], [seqs[i] for i in good], bad, result.frame)

    async def _commit(
        self, nc: Client, js: JetStreamContext, kind: Kind, ready: _Ready, stored: set[int]
    ) -> None:
        """Make a validated batch's effect durable, then acknowledge it."""
        if kind == "reports":
            bad = await self._store_reports(ready.msgs) if ready.msgs else []
        else:
            bad = ready.bad
            if ready.msgs:
                await self._store_rows(nc, kind, ready, stored)
        for b in bad:
            await self._dead_letter(js, b)

    async def _store_rows(self, nc: Client, kind: Kind, ready: _Ready, stored: set[int]) -> None:
        assert ready.frame is not None
        msgs, seqs, frame = ready.msgs, ready.seqs, ready.frame
        if any(q in stored for q in seqs):
            # redelivered while the batch before was written (ack_wait passed): in a file
            keep = [q not in stored for q in seqs]
            again = [m for m, k in zip(msgs, keep, strict=True) if not k]
            await ack_each(nc, again)
            self.stats.already_stored += len(again)
            msgs = [m for m, k in zip(msgs, keep, strict=True) if k]
            seqs = [q for q, k in zip(seqs, keep, strict=True) if k]
            frame = frame.filter(pl.Series(keep))
            if not msgs:
                return
        # In a thread: pyarrow writes and the fsyncs wait without the GIL.
        await asyncio.to_thread(self.files.write, kind, frame, seqs)
        self._failpoint.wrote()
        stored.update(seqs)
        if self.hook is not None:
            # durable, not yet acknowledged: a crash here is repaired by restore()
            await asyncio.to_thread(self.hook.on_batch, kind, frame)
        await ack_each(nc, msgs)
        self._count(kind, len(msgs))

    async def _store_reports(self, msgs: list[Msg]) -> list[_Bad]:
        assert self.store is not None
        bad: list[_Bad] = []
        pending: list[tuple[Msg, Future[Receipt]]] = []
        for m in msgs:
            try:
                report = ReportIn.model_validate_json(m.data)
            except ValidationError as exc:
                bad.append(_Bad(m, f"{_name(m)}: {_pydantic_reason(exc)}"))
                continue
            sub = Submission(
                report,
                self.settings.submitted_by,
                "stream",
                idempotency_key=message_key(m, self.settings.stream),
                request_hash=hashlib.sha256(m.data).hexdigest(),
            )
            pending.append((m, self.store.reports.submit(sub)))
        stored = 0
        for m, future in pending:
            try:
                await asyncio.wrap_future(future)
            except IdempotencyConflict as exc:
                bad.append(_Bad(m, f"{_name(m)}: {exc}"))
                continue
            except Exception:  # the store is unavailable: not this message's fault
                log.exception("%s: storing the report failed; redelivered later", _name(m))
                await m.nak(delay=RETRY_DELAY_SECONDS)
                self.stats.retried += 1
                continue
            await m.ack()
            stored += 1
        if stored:
            self._failpoint.wrote()
        self._count("reports", stored)
        return bad

    async def _dead_letter(self, js: JetStreamContext, bad: _Bad) -> None:
        m, s = bad.msg, self.settings
        seq = stream_seq(m)
        headers = {
            "Nats-Msg-Id": f"dead:{s.stream}:{seq}",
            REASON_HEADER: _header_value(bad.reason),
            "Daybreak-Subject": m.subject,
            "Daybreak-Stream-Seq": str(seq),
        }
        try:
            await js.publish(s.dead_letter_subject, m.data, headers=headers)
        except Exception:
            log.exception("%s: cannot publish the dead letter; redelivered later", _name(m))
            await m.nak(delay=RETRY_DELAY_SECONDS)
            self.stats.retried += 1
            return
        log.warning("dead letter: %s", bad.reason)
        await m.ack()
        self.stats.dead_lettered += 1

    def _count(self, kind: str, n: int) -> None:
        self.stats.stored += n
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + n


def message_key(m: Msg, stream: str) -> str:
    """The message's id: the publisher's ``Nats-Msg-Id``, else its place in the stream."""
    given = (m.headers or {}).get("Nats-Msg-Id")
    return given if given else f"{stream}:{stream_seq(m)}"


def _decode_all(msgs: Sequence[Msg]) -> tuple[list[object], list[_Bad], list[int]]:
    """The messages' JSON documents, the messages that are not JSON, and the positions
    of those that are. One parse per message: parsing the batch's payloads joined in
    one array would let a payload's unbalanced quote or bracket swallow its neighbour's
    boundary and still give as many documents."""
    records: list[object] = []
    bad: list[_Bad] = []
    decoded: list[int] = []
    for i, m in enumerate(msgs):
        try:
            records.append(orjson.loads(m.data))
        except orjson.JSONDecodeError as exc:  # not UTF-8 text is one too
            bad.append(_Bad(m, f"{_name(m)}: not a JSON document ({exc})"))
            continue
        decoded.append(i)
    return records, bad, decoded


def _name(m: Msg) -> str:
    return f"{m.subject} #{stream_seq(m)}"


class _Names(Sequence[str]):
    """The messages' names (:func:`_name`), made only for those a problem names."""

    def __init__(self, msgs: Sequence[Msg]) -> None:
        self._msgs = msgs

    def __len__(self) -> int:
        return len(self._msgs)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [_name(m) for m in self._msgs[i]]
        return _name(self._msgs[i])


def _pydantic_reason(exc: ValidationError) -> str:
    return "; ".join(
        f"field '{'.'.join(str(p) for p in e['loc']) or '(document)'}': {e['msg']}"
        for e in exc.errors()
    )


def _header_value(text: str, limit: int = 2000) -> str:
    """NATS header values are one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
