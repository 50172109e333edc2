"""The per-batch detector hook of ``daybreak stream run``: streamed transactions and
platform events become alerts.

After a batch is durable (its Parquet file written) and before it is acknowledged,
the consumer hands it to every stream detector ``inbound.detectors`` names
(:mod:`daybreak.detectors.streaming`, found through the ``daybreak.stream_detectors``
entry points) that reads its kind. What the detectors raise or withdraw is

- written to ``<output_dir>/alerts/<detector>.jsonl``: the detector's current alerts,
  one JSON object a line, replaced atomically (``daybreak cases build --alerts`` reads
  it, as it reads ``daybreak detect``'s output);
- recorded in the store's audit trail (``alert.raise`` / ``alert.withdraw``, the alert
  id, its detector, subject, score, evidence count and digest), which the outbound
  relay (``daybreak stream relay``) publishes to NATS and the webhooks like every other
  event, unless ``inbound.alerts_to_store`` is false.

Idempotent: an alert is recorded only when its digest (of the whole alert) differs
from the one recorded last, and the recorded digests are read back at start from the
file and from the audit trail, so a redelivered batch, or a restart after ``kill -9``,
records nothing twice. The detectors' state is rebuilt at start from the Parquet files
already written (every message they hold is durable, whether acknowledged or not);
then every alert the state gives and that was not recorded (a kill between a write and
its alerts) is recorded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.connectors.stream_config import DetectorSettings, InboundSettings
from daybreak.connectors.stream_files import StreamFiles, fsync_dir
from daybreak.detectors import DetectorError
from daybreak.detectors.streaming import AlertChanges, StreamDetector, stream_detector_info
from daybreak.model.alerts import Alert
from daybreak.store import TiplineStore
from daybreak.store.auth import operator_in

log = logging.getLogger(__name__)

RAISE, WITHDRAW = "alert.raise", "alert.withdraw"
ALERT_ACTIONS = (RAISE, WITHDRAW)
_AUDIT_PAGE = 1000


def alert_digest(alert: Alert) -> str:
    return hashlib.sha256(alert.model_dump_json().encode()).hexdigest()[:32]


class DetectorHook:
    """The configured stream detectors and where their alerts go (module docstring)."""

    def __init__(
        self, settings: InboundSettings, files: StreamFiles, store: TiplineStore | None
    ) -> None:
        self.detectors = [_create(i, d) for i, d in enumerate(settings.detectors)]
        self.store = store if settings.alerts_to_store else None
        self.actor = operator_in(settings.organisation)
        self.organisation = settings.organisation
        self.files = files
        self.folder = settings.output_dir / "alerts"
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one batch at a time: the kinds' tasks share it
        self._current: dict[str, dict[str, Alert]] = {d.id: {} for d in self.detectors}
        self._recorded: dict[str, str] = {}  # alert id -> digest recorded last ("" withdrawn)
        self._pending: list[tuple[str, AlertChanges]] = []
        self._unwritten: set[str] = set()  # detectors whose alerts file lags `_current`
        self.raised = self.withdrawn = 0

    @property
    def tables(self) -> set[str]:
        return {t for d in self.detectors for t in d.tables}

    def restore(self) -> int:
        """Rebuild the detectors' state from the Parquet files written so far (oldest
        first), then record the alerts not recorded yet; returns the rows replayed."""
        with self._lock:
            self._read_recorded()
            rows = 0
            for table, frame in self._stored_batches():
                for det in self.detectors:
                    if table in det.tables:
                        det.observe(table, frame)
                rows += frame.height
            for det in self.detectors:
                alerts = det.current_alerts()
                now = {a.alert_id for a in alerts}
                gone = tuple(a for a in self._current[det.id] if a not in now)
                self._pending.append((det.id, AlertChanges(tuple(alerts), gone)))
            self._flush()
            return rows

    def on_batch(self, table: str, frame: pl.DataFrame) -> None:
        """Hand a durable batch to the detectors reading ``table``; record what changed.
        A failure to record is logged and retried with the next batch (the batch itself
        is durable, and the state holds it)."""
        with self._lock:
            for det in self.detectors:
                if table in det.tables:
                    changes = det.observe(table, frame)
                    if changes.raised or changes.withdrawn:
                        self._pending.append((det.id, changes))
            self._flush()

    def state_size(self) -> dict[str, dict[str, int]]:
        return {d.id: d.state_size() for d in self.detectors}

    # -- recording -------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._pending:
            return
        try:
            for detector, changes in self._pending:
                self._record(detector, changes)
        except Exception:
            log.exception("recording stream alerts failed; retried with the next batch")
            return
        self._pending.clear()

    def _record(self, detector: str, changes: AlertChanges) -> None:
        current = self._current[detector]
        changed = False
        # (alert id, digest, its audit entry being committed): every entry of the batch
        # is handed to the store before any is awaited, so they share a group commit
        # (one each, awaited in turn, cost a commit per alert).
        entries: list[tuple[str, str, Future[None] | None]] = []
        for alert in changes.raised:
            digest = alert_digest(alert)
            if self._recorded.get(alert.alert_id) != digest:
                audit = self._audit(RAISE, alert.alert_id, _detail(alert, digest))
                entries.append((alert.alert_id, digest, audit))
            changed |= current.get(alert.alert_id) != alert
            current[alert.alert_id] = alert
        for alert_id in changes.withdrawn:
            if self._recorded.get(alert_id):
                audit = self._audit(WITHDRAW, alert_id, {"detector": detector, "digest": ""})
                entries.append((alert_id, "", audit))
            changed |= current.pop(alert_id, None) is not None
        if changed:
            # written once the entries are committed (the file must not name an alert
            # the trail lacks); kept dirty across a failure, so the retry writes it
            self._unwritten.add(detector)
        self._committed(entries)
        if detector in self._unwritten:
            self._write_file(detector, current.values())
            self._unwritten.discard(detector)

    def _audit(self, action: str, alert_id: str, detail: dict[str, Any]) -> Future[None] | None:
        if self.store is None:
            return None
        return self.store.audit.record_later(self.actor, action, "alert", alert_id, detail)

    def _committed(self, entries: list[tuple[str, str, Future[None] | None]]) -> None:
        """Wait for the entries; note those committed (a retry records only the rest),
        then raise the first failure, if any."""
        failure: Exception | None = None
        for alert_id, digest, audit in entries:
            try:
                if audit is not None:
                    audit.result()
            except Exception as exc:
                failure = failure or exc
                continue
            self._recorded[alert_id] = digest
            if digest:
                self.raised += 1
            else:
                self.withdrawn += 1
        if failure is not None:
            raise failure

    def _write_file(self, detector: str, alerts: Any) -> None:
        ordered = sorted(alerts, key=lambda a: (-a.score, a.alert_id))
        path = self.folder / f"{detector}.jsonl"
        tmp = self.folder / f".{detector}.jsonl.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(a.model_dump_json() + "\n" for a in ordered)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(self.folder)

    def _read_recorded(self) -> None:
        """What was recorded before this run: the alert files, then the audit trail
        (the later record of an alert wins; the file may lag the trail by one batch)."""
        for det in self.detectors:
            path = self.folder / f"{det.id}.jsonl"
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    alert = Alert.model_validate_json(line)
                    self._current[det.id][alert.alert_id] = alert
                    self._recorded[alert.alert_id] = alert_digest(alert)
        if self.store is None:
            return
        wanted = {d.id for d in self.detectors}
        for entry in self._audit_entries():
            if entry.detail.get("detector") in wanted:
                self._recorded[entry.object_id] = str(entry.detail.get("digest", ""))

    def _audit_entries(self) -> Iterator[Any]:
        assert self.store is not None
        seq = 0
        while True:
            page = self.store.outbound.events_after(
                seq, ALERT_ACTIONS, _AUDIT_PAGE, self.organisation
            )
            yield from page
            if len(page) < _AUDIT_PAGE:
                return
            seq = page[-1].seq

    def _stored_batches(self) -> Iterator[tuple[str, pl.DataFrame]]:
        """Every stored file of the tables the detectors read, in stream order (the
        file name starts with the last sequence it holds)."""
        paths: list[tuple[str, str, Path]] = []
        for table in self.tables:
            for path in self.files.folder(table).glob("part-*.parquet"):
                paths.append((path.name, table, path))
        for _, table, path in sorted(paths):
            yield table, pl.read_parquet(path)


def _create(i: int, d: DetectorSettings) -> StreamDetector:
    """The configured detector; a DetectorError naming the field when its options do not
    fit its factory (a misspelt option, a missing reference folder)."""
    info = stream_detector_info(d.name)
    try:
        return info.create(**d.options)
    except TypeError as exc:
        raise DetectorError(f"inbound.detectors[{i}] ({d.name}): options: {exc}") from exc


def _detail(alert: Alert, digest: str) -> dict[str, Any]:
    return {
        "detector": alert.detector,
        "subject_type": alert.subject_type,
        "subject_id": alert.subject_id,
        "score": alert.score,
        "evidence": len(alert.evidence_ids),
        "digest": digest,
    }


def read_current_alerts(output_dir: Path, detector: str) -> Sequence[Alert]:
    """The alerts file the hook keeps for ``detector`` (empty if none yet)."""
    path = output_dir / "alerts" / f"{detector}.jsonl"
    if not path.exists():
        return []
    return [Alert.model_validate_json(x) for x in path.read_text("utf-8").splitlines()]


__all__ = ["ALERT_ACTIONS", "DetectorHook", "alert_digest", "read_current_alerts"]
