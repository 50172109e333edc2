"""Audit checkpoints: the chain's head, written to a file outside the database.

The audit chain and its head live in the database, so someone who can write the
database can cut entries off the end and set the head back, or restore an older copy,
and the chain alone still looks whole. A checkpoint line records where the head was:

    <seq> TAB <head hash> TAB <UTC time> TAB <HMAC under the audit key>

The store appends one periodically and when it closes (``daybreak audit checkpoint``
on demand) to an append-only file, created mode 0600. ``daybreak audit verify`` fails
when the database has fewer entries than a checkpoint records, when the chain's hash at
a checkpoint's entry differs from the one recorded (rewritten or rolled back), or when
a line's MAC is wrong (forged or edited). The file protects only as far as it is out of
an attacker's reach: copy it off the machine (WORM storage, another administrator's
host) and verify against that copy (docs/operations.md).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from daybreak.store.keys import Keyring

log = logging.getLogger(__name__)
ENV_VAR = "DAYBREAK_AUDIT_CHECKPOINTS"  # where the checkpoint file is (default: by the db)
INTERVAL_ENV_VAR = "DAYBREAK_AUDIT_CHECKPOINT_SECONDS"
DEFAULT_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    mac: str
    line: int = 0

    @property
    def body(self) -> str:
        return f"{self.seq}\t{self.hash}\t{self.at.isoformat(timespec='microseconds')}"


def make(keys: Keyring, seq: int, head_hash: str, at: datetime | None = None) -> Checkpoint:
    stamp = (at or datetime.now(UTC)).astimezone(UTC)
    point = Checkpoint(seq, head_hash, stamp, "")
    return Checkpoint(seq, head_hash, stamp, keys.checkpoint_mac(point.body))


def append(path: Path, point: Checkpoint) -> None:
    """Append one line (file created 0600), under an exclusive lock, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{point.body}\t{point.mac}\n".encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)  # closing drops the lock


def _parse(text: str, line: int) -> Checkpoint:
    parts = text.split("\t")
    if len(parts) != 4:
        raise ValueError("expected 4 tab-separated fields: seq, head hash, time, MAC")
    seq, head_hash, at, mac = parts
    if not seq.isdigit():
        raise ValueError(f"seq must be a whole number, got {seq!r}")
    stamp = datetime.fromisoformat(at)
    if stamp.tzinfo is None:
        raise ValueError(f"time must carry a time zone, got {at!r}")
    return Checkpoint(int(seq), head_hash, stamp, mac, line)


def read(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in the file, and a problem for each line that is not one."""
    points: list[Checkpoint] = []
    problems: list[str] = []
    with path.open("r", encoding="ascii", errors="replace") as fh:
        for n, raw in enumerate(fh, start=1):
            text = raw.rstrip("\n")
            if not text:
                continue
            try:
                points.append(_parse(text, n))
            except ValueError as exc:
                problems.append(f"{path}:{n}: not a checkpoint line ({exc})")
    return points, problems


def last_seq(path: Path, tail_bytes: int = 8192) -> int:
    """The highest seq among the file's last lines (0 without a file): where the next
    checkpoint must be beyond, read without reading the whole file."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            tail = fh.read().decode("ascii", errors="replace").splitlines()
    except FileNotFoundError:
        return 0
    seqs = [int(t.split("\t", 1)[0]) for t in tail if t.split("\t", 1)[0].isdigit()]
    return max(seqs, default=0)


def compare(
    points: Iterable[Checkpoint],
    keys: Keyring,
    chain_hashes: Mapping[int, str],
    last: int,
    where: str,
    before: tuple[Keyring, Mapping[int, str], int] | None = None,
) -> list[str]:
    """Problems of the chain against checkpoints: ``chain_hashes`` maps each checkpointed
    seq to the chain's hash there, ``last`` is the chain's last seq. ``before``: the
    audit keys before the last rotation, the chain's hashes under them, and the last
    entry they keyed: a line signed with those keys is checked against those hashes."""
    problems: list[str] = []
    highest: Checkpoint | None = None
    for p in points:
        at = f"{where}:{p.line}"
        if keys.checkpoint_mac(p.body) != p.mac:
            if before is not None and before[0].checkpoint_mac(p.body) == p.mac:
                problems += _compare_before(p, at, before)
                continue
            problems.append(f"checkpoint {at}: MAC does not match (line forged or edited)")
            continue
        if highest is None or p.seq > highest.seq:
            highest = p
        if p.seq == 0 or p.seq > last:
            continue
        found = chain_hashes.get(p.seq)
        if found != p.hash:
            problems.append(
                f"entry {p.seq}: "
                + ("missing" if found is None else "hash differs from")
                + f" checkpoint {at} of {p.at:%Y-%m-%d %H:%M:%S} UTC"
                " (chain rewritten, or the database restored from an older copy)"
            )
    if highest is not None and highest.seq > last:
        problems.append(
            f"the chain has {last} entries but checkpoint {where}:{highest.line} of "
            f"{highest.at:%Y-%m-%d %H:%M:%S} UTC records entry {highest.seq}: "
            "entries were removed from the end"
        )
    return problems


def _compare_before(
    p: Checkpoint, at: str, before: tuple[Keyring, Mapping[int, str], int]
) -> list[str]:
    _, hashes, handover = before
    if p.seq > handover:
        return [
            f"checkpoint {at}: signed with the previous audit key but records entry {p.seq}, "
            f"after the rotation at entry {handover}"
        ]
    if p.seq and hashes.get(p.seq) != p.hash:
        return [
            f"entry {p.seq}: hash under the previous audit key differs from checkpoint {at} "
            f"of {p.at:%Y-%m-%d %H:%M:%S} UTC (chain rewritten before the rotation)"
        ]
    return []


HeadReader = Callable[[], "tuple[int, str] | str"]


class Checkpointer:
    """Appends a checkpoint every ``interval`` seconds when the head moved, and on
    :meth:`close`. ``read_head`` returns the verified head ``(seq, hash)`` or a reason
    not to checkpoint it (a head that fails its MAC, or a chain shorter than the file
    already records, is never written down)."""

    def __init__(self, path: Path, keys: Keyring, read_head: HeadReader, interval: float) -> None:
        self.path = path
        self.keys = keys
        self._read_head = read_head
        self._lock = threading.Lock()
        self._last = last_seq(path)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if interval > 0:
            self._thread = threading.Thread(
                target=self._run, args=(interval,), name="audit-checkpoints", daemon=True
            )
            self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.checkpoint()
            except Exception:  # a failed checkpoint must not stop the next one
                log.exception("audit checkpoint to %s failed", self.path)

    def checkpoint(self, *, force: bool = False) -> Checkpoint | None:
        """Write the current head down if it moved since the last line (or ``force``);
        returns the line written, or None."""
        with self._lock:
            head = self._read_head()
            if isinstance(head, str):
                log.error("audit checkpoint not written: %s", head)
                return None
            seq, head_hash = head
            if seq < self._last:
                log.error(
                    "audit checkpoint not written: the chain ends at entry %d but %s "
                    "records entry %d (entries removed?); run `daybreak audit verify`",
                    seq,
                    self.path,
                    self._last,
                )
                return None
            if seq == self._last and not force:
                return None
            point = make(self.keys, seq, head_hash)
            append(self.path, point)
            self._last = seq
            return point

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.checkpoint()
        except Exception:
            log.exception("final audit checkpoint to %s failed", self.path)
