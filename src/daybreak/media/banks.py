"""Hash lists ("banks") of known material: enable/disable, versions, source, entries.

A bank store is a directory: ``banks.json`` (settings, version history, quarantined
hashes), one Parquet file of entries per bank, ``audit.jsonl`` (every change: who, what,
when; only appended to) and ``banks.lock`` (held by whichever process is writing). Imports (formats in
:mod:`daybreak.media.hashlists`) validate every row first and then write, so a bad file
changes nothing.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from daybreak.media.hashlists import (
    HASH_TYPES,
    BankEntry,
    BankError,
    normalize_hash,
    parse_hash_list,
)
from daybreak.model.signal_types import PdqSignal

__all__ = [
    "HASH_TYPES",
    "Bank",
    "BankEntry",
    "BankError",
    "BankStore",
    "ImportReport",
    "normalize_hash",
    "parse_hash_list",
]

MEDIA_HOME_ENV = "DAYBREAK_MEDIA_HOME"


def media_home(home: Path | None = None) -> Path:
    """The media folder (``banks/`` and ``index/``): ``home``, else $DAYBREAK_MEDIA_HOME,
    else ./daybreak-media."""
    return home or Path(os.environ.get(MEDIA_HOME_ENV, "daybreak-media"))


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "hash_type": pl.String(),
    "hash": pl.String(),
    "labels": pl.List(pl.String()),
    "added_at": pl.Datetime("us", "UTC"),
}


@dataclass
class Bank:
    name: str
    enabled: bool = True
    negative: bool = False  # known false positives: a match here suppresses others
    # PDQ Hamming distance at or below which a listed hash matches
    threshold: int = PdqSignal.default_threshold
    source: str = ""  # who supplied the list (NCMEC, IWF, a partner, a file)
    description: str = ""
    version: int = 0  # bumped on every change (settings or entries)
    entries_version: int = 0  # bumped when entries change: saved indexes compare it
    updated_at: str = ""
    count: int = 0


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    skipped_negative_class: int = 0


LOCK_FILE = "banks.lock"
AUDIT_FILE = "audit.jsonl"
AUDIT_HASHES = 100  # an audit record lists the hashes of a change up to this many


def default_actor() -> str:
    """Who changes banks when the caller does not say: the OS user, the process and the
    program (the CLI, the server), enough to tell the two apart in the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = f"uid {os.getuid()}"
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return f"{user} (pid {os.getpid()}, {program})"


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """What changes whenever banks.json is replaced (a new inode each time)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class BankStore:
    """Banks on disk; see the module docstring for the layout.

    Several processes may write the same store (the server and the CLI). Every change
    holds an exclusive ``flock`` on ``banks.lock``, re-reads ``banks.json`` under it,
    applies the change to what is on disk now (never to this object's older copy),
    replaces the file atomically and appends a line to ``audit.jsonl`` (who, what,
    when). Readers never lock: files are only ever replaced whole.
    """

    def __init__(self, root: str | Path, *, actor: str | None = None) -> None:
        self.root = Path(root)
        self.actor = actor or default_actor()
        self._meta_path = self.root / "banks.json"
        self._meta: dict[str, Any] = _empty_meta()
        self._seen: tuple[int, int, int] | None = None
        self._absorbed = False  # a locked re-read took in another process's change
        self._thread_lock = threading.RLock()
        self._depth = 0  # nesting of _locked() in the thread that holds it
        self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Pick up changes another process (the CLI) made; True when there were some
        since the last call (including ones a change of ours re-read under the lock)."""
        with self._thread_lock:
            changed = self._read_meta(force=False) or self._absorbed
            self._absorbed = False
            return changed

    def _read_meta(self, *, force: bool) -> bool:
        state = _file_state(self._meta_path)
        if state == self._seen and not force:
            return False
        if state is None:
            self._meta = _empty_meta()
        else:
            try:
                self._meta = json.loads(self._meta_path.read_text())
            except ValueError as exc:
                raise BankError(f"{self._meta_path}: not valid JSON ({exc})") from None
        changed, self._seen = state != self._seen, state
        return changed

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store (other threads and other processes wait) with banks.json
        re-read, so the change made inside applies to the latest state. Re-entrant."""
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / LOCK_FILE, "a+b") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released on close, or if we die
                self._depth = 1
                try:
                    if self._read_meta(force=True):
                        self._absorbed = True
                    yield
                finally:
                    self._depth = 0

    # -- settings ---------------------------------------------------------------------

    def banks(self) -> list[Bank]:
        return [Bank(**b) for b in self._meta["banks"].values()]

    def get(self, name: str) -> Bank:
        if name not in self._meta["banks"]:
            known = ", ".join(sorted(self._meta["banks"])) or "none"
            raise BankError(f"no bank named {name!r} (known: {known})")
        return Bank(**self._meta["banks"][name])

    def create(
        self,
        name: str,
        *,
        source: str = "",
        negative: bool = False,
        threshold: int = PdqSignal.default_threshold,
        description: str = "",
        actor: str | None = None,
    ) -> Bank:
        if not _NAME.match(name):
            raise BankError(
                f"bank name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)"
            )
        if not 0 <= threshold <= 128:
            raise BankError(f"bank {name}: threshold {threshold} outside 0..128")
        with self._locked():
            if name in self._meta["banks"]:
                return self.get(name)
            bank = Bank(
                name, source=source, negative=negative, threshold=threshold, description=description
            )
            settings = {"source": source, "negative": negative, "threshold": threshold}
            self._put(bank, "create", 0, actor, settings)
            return bank

    def update(self, name: str, *, actor: str | None = None, **changes: Any) -> Bank:
        for key in changes:
            if key not in ("enabled", "negative", "threshold", "source", "description"):
                raise BankError(f"bank {name}: cannot change {key!r}")
        with self._locked():
            bank = self.get(name)
            for key, value in changes.items():
                setattr(bank, key, value)
            self._put(bank, "update " + ",".join(sorted(changes)), 0, actor, dict(changes))
            return bank

    def _put(
        self, bank: Bank, action: str, changed: int, actor: str | None, detail: dict[str, Any]
    ) -> None:
        """Record a change to ``bank``; called under :meth:`_locked`."""
        bank.version += 1
        bank.updated_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._meta["banks"][bank.name] = asdict(bank)
        self._meta["history"].append(
            {
                "bank": bank.name,
                "version": bank.version,
                "action": action,
                "changed": changed,
                "at": bank.updated_at,
            }
        )
        self._save_meta()
        self._audit(
            action, bank.name, actor, {"version": bank.version, "changed": changed, **detail}
        )

    def _save_meta(self) -> None:
        """Replace banks.json atomically (a reader sees the old or the new file)."""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".banks-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(self._meta, indent=1))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._meta_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._seen = _file_state(self._meta_path)

    def _audit(self, action: str, bank: str, actor: str | None, detail: dict[str, Any]) -> None:
        """Append one JSON line to audit.jsonl; the file is only ever appended to."""
        record = {
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor or self.actor,
            "action": action,
            "bank": bank,
            **detail,
        }
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.root / AUDIT_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def audit_log(self, name: str | None = None) -> list[dict[str, Any]]:
        """The audit records, oldest first (all banks, or one)."""
        try:
            lines = (self.root / AUDIT_FILE).read_text("utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if name in (None, r["bank"])]

    def history(self, name: str | None = None) -> list[dict[str, Any]]:
        return [h for h in self._meta["history"] if name in (None, h["bank"])]

    # -- entries ----------------------------------------------------------------------

    def _entries_path(self, name: str) -> Path:
        return self.root / "entries" / f"{name}.parquet"

    def entries(self, name: str) -> pl.DataFrame:
        self.get(name)
        path = self._entries_path(name)
        if not path.exists():
            return pl.DataFrame(schema=ENTRY_SCHEMA)
        return pl.read_parquet(path)

    def add(
        self, name: str, entries: Iterable[BankEntry], *, actor: str | None = None
    ) -> tuple[int, int]:
        """Add entries (deduplicated); returns (added, already present)."""
        now = datetime.now(UTC)
        new = pl.DataFrame(
            [
                {
                    "hash_type": e.hash_type,
                    "hash": e.hash,
                    "labels": list(e.labels),
                    "added_at": now,
                }
                for e in entries
            ],
            schema=ENTRY_SCHEMA,
        )
        with self._locked():
            bank = self.get(name)
            old = self.entries(name)
            merged = pl.concat(
                [old, new.unique(["hash_type", "hash"], keep="first", maintain_order=True)]
            )
            merged = merged.unique(["hash_type", "hash"], keep="first", maintain_order=True)
            added = merged.height - old.height
            self._write_entries(name, merged)
            bank.count = merged.height
            bank.entries_version += 1
            self._put(bank, "add", added, actor, _hashes(merged.slice(old.height)))
            return added, new.height - added

    def remove(
        self, name: str, hashes: Iterable[tuple[str, str]], *, actor: str | None = None
    ) -> int:
        drop = pl.DataFrame(
            [{"hash_type": t, "hash": h} for t, h in hashes],
            schema={"hash_type": pl.String(), "hash": pl.String()},
        )
        with self._locked():
            bank = self.get(name)
            old = self.entries(name)
            kept = old.join(drop, on=["hash_type", "hash"], how="anti")
            gone = old.join(drop, on=["hash_type", "hash"], how="semi")
            self._write_entries(name, kept)
            bank.count = kept.height
            bank.entries_version += 1
            self._put(bank, "remove", gone.height, actor, _hashes(gone))
            return gone.height

    def _write_entries(self, name: str, frame: pl.DataFrame) -> None:
        path = self._entries_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        frame.write_parquet(tmp)
        tmp.replace(path)

    def import_file(
        self,
        path: Path,
        bank: str | None = None,
        *,
        fmt: str = "auto",
        default_type: str | None = None,
        source: str = "",
        negative: bool = False,
        actor: str | None = None,
    ) -> ImportReport:
        """Validate the whole file, then add its entries to their banks."""
        entries, negatives = parse_hash_list(path, default_type, fmt)
        groups: dict[str, list[BankEntry]] = {}
        for n, e in enumerate(entries, start=1):
            name = bank or e.bank
            if name is None:
                raise BankError(f"{path}: entry {n} has no list name and no bank was given")
            groups.setdefault(name, []).append(e)
        for name in groups:
            if not _NAME.match(name):
                raise BankError(f"{path}: list name {name!r} is not a valid bank name")
        report = ImportReport(skipped_negative_class=negatives)
        with self._locked():  # one import is one change for other writers
            for name, group in groups.items():
                self.create(name, source=source or path.name, negative=negative, actor=actor)
                added, dup = self.add(name, group, actor=actor)
                report.added[name] = added
                report.duplicates += dup
        return report

    # -- flood-control quarantine -----------------------------------------------------

    def quarantined(self) -> set[tuple[str, str]]:
        return {(q["bank"], q["hash"]) for q in self._meta.get("quarantine", [])}

    def quarantine(
        self, bank: str, hash_value: str, reason: str, *, actor: str | None = None
    ) -> None:
        with self._locked():
            if (bank, hash_value) in self.quarantined():
                return
            self._meta.setdefault("quarantine", []).append(
                {
                    "bank": bank,
                    "hash": hash_value,
                    "reason": reason,
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            self._save_meta()
            self._audit("quarantine", bank, actor, {"hash": hash_value, "reason": reason})

    def release(self, bank: str, hash_value: str, *, actor: str | None = None) -> bool:
        with self._locked():
            before = len(self._meta.get("quarantine", []))
            self._meta["quarantine"] = [
                q
                for q in self._meta.get("quarantine", [])
                if (q["bank"], q["hash"]) != (bank, hash_value)
            ]
            released = len(self._meta["quarantine"]) < before
            if released:
                self._save_meta()
                self._audit("release", bank, actor, {"hash": hash_value})
            return released


def _empty_meta() -> dict[str, Any]:
    return {"banks": {}, "history": [], "quarantine": []}


def _hashes(frame: pl.DataFrame) -> dict[str, Any]:
    """The audit detail of an entries change: its hashes when few (a big import is
    recorded by its count; the import file itself is the list)."""
    if frame.height > AUDIT_HASHES:
        return {"hashes_listed": False}
    pairs = frame.select("hash_type", "hash").iter_rows()
    return {"hashes": [f"{t}:{h}" for t, h in pairs], "hashes_listed": True}
