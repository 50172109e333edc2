"""Hash lists ("banks") of known material: enable/disable, versions, source, entries.

A bank store is a directory of entries (per bank, under ``entries/``, Parquet parts
appended one per change: :mod:`daybreak.media.bank_segments`)
plus the banks' metadata (settings, version history, quarantined hashes, an audit record
of every change), kept by a :class:`BankMeta`: with a case store, the store's tables
(``daybreak.store`` opens a :class:`BankStore` over them: its locking, its keyed audit
chain); without one (a demo world's folder, benchmarks), :class:`FileBankMeta` keeps
``banks.json``, ``audit.jsonl`` and ``banks.lock`` in the directory. Imports (formats in
:mod:`daybreak.media.hashlists`) validate every row first and then write, so a bad file
changes nothing.
"""

from __future__ import annotations

import copy
import fcntl
import getpass
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from daybreak.media.bank_segments import ADD, KEYS, MAX_PARTS, REMOVE, BankSegments, Part
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
    "BankMeta",
    "BankStore",
    "FileBankMeta",
    "ImportReport",
    "Part",
    "check_bank_name",
    "check_settings",
    "normalize_hash",
    "parse_hash_list",
]

MEDIA_HOME_ENV = "DAYBREAK_MEDIA_HOME"


def media_home(home: Path | None = None) -> Path:
    """The media folder (``banks/`` and ``index/``): ``home``, else $DAYBREAK_MEDIA_HOME,
    else ./daybreak-media."""
    return home or Path(os.environ.get(MEDIA_HOME_ENV, "daybreak-media"))


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_MAX = 64
SOURCE_MAX = 200  # who supplied a list: a name or a file name
DESCRIPTION_MAX = 1000
ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "hash_type": pl.String(),
    "hash": pl.String(),
    "labels": pl.List(pl.String()),
    "added_at": pl.Datetime("us", "UTC"),
}
SETTINGS = ("enabled", "negative", "threshold", "source", "description")
REMATCH, REMATCH_OBJECT = "rematch", "*"  # audit records of retroactive matching passes


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
META_FILE = "banks.json"
AUDIT_FILE = "audit.jsonl"
AUDIT_HASHES = 100  # an audit record lists the hashes of a change up to this many


def check_bank_name(name: str, where: str = "bank name") -> str:
    """``name`` when it is a valid bank name (it names a file), else a BankError."""
    if not isinstance(name, str) or not _NAME.match(name):
        shown = name if len(str(name)) <= 80 else f"{str(name)[:80]}... ({len(name)} characters)"
        raise BankError(
            f"{where} {shown!r}: use letters, digits, '.', '_' or '-' "
            f"(starting with a letter or digit, at most {NAME_MAX})"
        )
    return name


def check_settings(name: str, changes: dict[str, Any]) -> None:
    """Refuse a setting of the wrong type or size (a clear error, never a crash later)."""
    for key, value in changes.items():
        if key not in SETTINGS:
            raise BankError(f"bank {name}: cannot change {key!r}")
        if key in ("enabled", "negative") and not isinstance(value, bool):
            raise BankError(f"bank {name}: {key} must be true or false, got {value!r}")
        if key == "threshold" and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 128
        ):
            raise BankError(f"bank {name}: threshold {value!r} outside 0..128")
        limit = {"source": SOURCE_MAX, "description": DESCRIPTION_MAX}.get(key)
        if limit is not None and (not isinstance(value, str) or len(value) > limit):
            size = len(value) if isinstance(value, str) else type(value).__name__
            raise BankError(f"bank {name}: {key} must be text of at most {limit} ({size})")


def default_actor() -> str:
    """Who changes banks when the caller does not say: the OS user, the process and the
    program (the CLI, the server), enough to tell the two apart in the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = f"uid {os.getuid()}"
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return f"{user} (pid {os.getpid()}, {program})"


def empty_meta() -> dict[str, Any]:
    """Banks' metadata as a :class:`BankMeta` hands it over: ``banks`` (name -> the
    fields of :class:`Bank`), ``history`` (bank, version, action, changed, at) and
    ``quarantine`` (bank, hash, reason, at)."""
    return {"banks": {}, "history": [], "quarantine": []}


class BankMeta(Protocol):
    """Where a :class:`BankStore` keeps its metadata. A :meth:`transaction` excludes
    every other writer (other threads and processes) and hands over the metadata as it
    is then; the ``put``/``drop``/``audit`` calls are made inside one and take effect
    together when it ends without an error."""

    entries_root: Path  # where the entries' Parquet files are

    def token(self) -> Hashable:
        """Changes whenever the metadata changed (by any process)."""

    def load(self) -> dict[str, Any]:
        """The metadata as it is now (see :func:`empty_meta`)."""

    def transaction(self) -> AbstractContextManager[dict[str, Any]]: ...

    def put_bank(self, bank: Bank, event: dict[str, Any]) -> None:
        """Store ``bank``'s new state and its history ``event``."""

    def put_quarantine(self, row: dict[str, Any]) -> None: ...

    def drop_quarantine(self, bank: str, hash_value: str) -> None: ...

    def audit(self, actor: str, action: str, bank: str, detail: dict[str, Any]) -> None:
        """Record who changed what (kept for good: only ever appended to)."""

    def audit_log(self, name: str | None) -> list[dict[str, Any]]:
        """The audit records, oldest first: at, actor, action, bank and the detail."""


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """What changes whenever banks.json is replaced (a new inode each time)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_meta_file(path: Path) -> dict[str, Any]:
    """A ``banks.json`` file's metadata (empty when there is none)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return empty_meta()
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise BankError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("banks"), dict):
        raise BankError(f"{path}: expected an object with a 'banks' object")
    return {**empty_meta(), **meta}


class FileBankMeta:
    """Metadata in the bank folder, for folders without a case store: ``banks.json``
    replaced atomically under an exclusive ``flock`` on ``banks.lock`` (released when
    the process ends, even by ``kill -9``), and ``audit.jsonl``, only appended to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries_root = root / "entries"
        self._path = root / META_FILE
        self._meta: dict[str, Any] = empty_meta()

    def token(self) -> Hashable:
        return _file_state(self._path)

    def load(self) -> dict[str, Any]:
        self._meta = read_meta_file(self._path)
        return copy.deepcopy(self._meta)  # the caller's copy: it changes it itself

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK_FILE, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released on close, or if we die
            yield self.load()

    def put_bank(self, bank: Bank, event: dict[str, Any]) -> None:
        self._meta["banks"][bank.name] = asdict(bank)
        self._meta["history"].append(event)
        self._save()

    def put_quarantine(self, row: dict[str, Any]) -> None:
        self._meta["quarantine"].append(row)
        self._save()

    def drop_quarantine(self, bank: str, hash_value: str) -> None:
        kept = [q for q in self._meta["quarantine"] if (q["bank"], q["hash"]) != (bank, hash_value)]
        self._meta["quarantine"] = kept
        self._save()

    def _save(self) -> None:
        """Replace banks.json atomically (a reader sees the old or the new file)."""
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".banks-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(self._meta, indent=1))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def audit(self, actor: str, action: str, bank: str, detail: dict[str, Any]) -> None:
        """Append one JSON line to audit.jsonl; the file is only ever appended to."""
        record = {
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
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

    def audit_log(self, name: str | None) -> list[dict[str, Any]]:
        try:
            lines = (self.root / AUDIT_FILE).read_text("utf-8").splitlines()
        except FileNotFoundError:
            return []
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if name in (None, r["bank"])]


class BankStore:
    """Banks: their metadata (kept by a :class:`BankMeta`) and entries (Parquet files).

    Several processes may write the same banks (the server and the CLI). Every change
    runs in one :meth:`BankMeta.transaction` (other writers wait), applies the change to
    the metadata as it is then (never to this object's older copy), appends the change
    to the entries as one part and records it in the audit log. Readers never lock:
    files are written beside and renamed into place.
    """

    def __init__(
        self, root: str | Path, *, actor: str | None = None, meta: BankMeta | None = None
    ) -> None:
        self.root = Path(root)
        self.actor = actor or default_actor()
        self.store_meta: BankMeta = meta if meta is not None else FileBankMeta(self.root)
        self._meta: dict[str, Any] = empty_meta()
        self._seen: Hashable = object()  # nothing read yet
        self._absorbed = False  # a locked re-read took in another process's change
        self._thread_lock = threading.RLock()
        self._depth = 0  # nesting of _locked() in the thread that holds it
        self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Pick up changes another process (the CLI) made; True when there were some
        since the last call (including ones a change of ours re-read under the lock)."""
        with self._thread_lock:
            state = self.store_meta.token()
            changed = state != self._seen
            if changed:
                self._meta, self._seen = self.store_meta.load(), state
            changed = changed or self._absorbed
            self._absorbed = False
            return changed

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the banks (other threads and other processes wait) with the metadata
        re-read, so the change made inside applies to the latest state. Re-entrant."""
        with self._thread_lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            with self.store_meta.transaction() as latest:
                self._depth = 1
                try:
                    if self.store_meta.token() != self._seen:
                        self._absorbed = True
                    self._meta = latest
                    yield
                    self._seen = self.store_meta.token()
                finally:
                    self._depth = 0

    # -- settings ---------------------------------------------------------------------

    def banks(self) -> list[Bank]:
        return [Bank(**b) for b in self._meta["banks"].values()]

    def get(self, name: str) -> Bank:
        if name not in self._meta["banks"]:
            known = ", ".join(sorted(self._meta["banks"])) or "none"
            shown = name if len(name) <= 80 else f"{name[:80]}... ({len(name)} characters)"
            raise BankError(f"no bank named {shown!r} (known: {known})")
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
        check_bank_name(name)
        settings = {"source": source, "negative": negative, "threshold": threshold}
        check_settings(name, {**settings, "description": description})
        with self._locked():
            if name in self._meta["banks"]:
                return self.get(name)
            bank = Bank(
                name, source=source, negative=negative, threshold=threshold, description=description
            )
            self._put(bank, "create", 0, actor, settings)
            return bank

    def update(self, name: str, *, actor: str | None = None, **changes: Any) -> Bank:
        check_settings(name, changes)
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
        event = {
            "bank": bank.name,
            "version": bank.version,
            "action": action,
            "changed": changed,
            "at": bank.updated_at,
        }
        self.store_meta.put_bank(bank, event)
        self._meta["banks"][bank.name] = asdict(bank)
        self._meta["history"].append(event)
        self.store_meta.audit(
            actor or self.actor,
            action,
            bank.name,
            {"version": bank.version, "changed": changed, **detail},
        )

    def record_rematch(
        self, sightings: str, through: datetime | None, found: int, actor: str | None = None
    ) -> None:
        """Remember that ``sightings`` were matched again against every hash listed up
        to ``through`` (None: the banks were empty), in the audit log, where
        :meth:`last_rematch` finds it."""
        with self._locked():
            detail = {
                "sightings": sightings,
                "through": through.isoformat() if through else None,
                "new_matches": found,
            }
            self.store_meta.audit(actor or self.actor, REMATCH, REMATCH_OBJECT, detail)

    def last_rematch(self, sightings: str) -> datetime | None:
        """The newest ``through`` recorded for ``sightings`` (None: never matched again)."""
        done = [
            r["through"]
            for r in self.audit_log(REMATCH_OBJECT)
            if r.get("action") == REMATCH and r.get("sightings") == sightings and r["through"]
        ]
        return datetime.fromisoformat(done[-1]) if done else None

    def audit_log(self, name: str | None = None) -> list[dict[str, Any]]:
        """The audit records, oldest first (all banks, or one)."""
        return self.store_meta.audit_log(name)

    def history(self, name: str | None = None) -> list[dict[str, Any]]:
        return [h for h in self._meta["history"] if name in (None, h["bank"])]

    # -- entries ----------------------------------------------------------------------

    def segments(self, name: str) -> BankSegments:
        """Where bank ``name``'s entries are (appended parts, see
        :mod:`daybreak.media.bank_segments`)."""
        check_bank_name(name)
        return BankSegments(self.store_meta.entries_root, name, ENTRY_SCHEMA)

    def entries(self, name: str) -> pl.DataFrame:
        self.get(name)
        return self.segments(name).read()[0]

    def entry_parts(self, name: str) -> list[Part]:
        """The parts bank ``name``'s entries are made of now, oldest first."""
        self.get(name)
        return self.segments(name).parts()

    def read_entry_parts(self, name: str, parts: Sequence[Part]) -> pl.DataFrame:
        """What ``parts`` of bank ``name`` hold (:meth:`BankSegments.read_parts`)."""
        return self.segments(name).read_parts(parts)

    def add(
        self, name: str, entries: Iterable[BankEntry], *, actor: str | None = None
    ) -> tuple[int, int]:
        """Add entries (deduplicated); returns (added, already present). Writes the new
        entries only (one part); deduplicating reads the listed keys only where their
        digests say a new one may be listed (:meth:`BankSegments.listed_among`)."""
        return self.add_frame(name, _entries_frame(list(entries), datetime.now(UTC)), actor=actor)

    def add_frame(
        self, name: str, new: pl.DataFrame, *, actor: str | None = None
    ) -> tuple[int, int]:
        """:meth:`add` for entries already in a frame of :data:`ENTRY_SCHEMA` with
        normalised hashes (large lists: no Python object per entry)."""
        if dict(new.schema) != ENTRY_SCHEMA:
            raise BankError(f"bank {name}: entries must have the columns {ENTRY_SCHEMA}")
        with self._locked():
            bank = self.get(name)
            segments = self.segments(name)
            distinct = new.unique(KEYS, keep="first", maintain_order=True)
            listed = segments.listed_among(distinct)
            fresh = distinct.join(listed, on=KEYS, how="anti", maintain_order="left")
            bank.count += fresh.height
            bank.entries_version += 1
            # metadata first: a refused change (a reader's role) leaves the files alone
            self._put(bank, "add", fresh.height, actor, _hashes(fresh))
            if fresh.height:
                self._append(segments, ADD, fresh)
            return fresh.height, new.height - fresh.height

    def remove(
        self, name: str, hashes: Iterable[tuple[str, str]], *, actor: str | None = None
    ) -> int:
        drop = pl.DataFrame(
            [{"hash_type": t, "hash": h} for t, h in hashes],
            schema={"hash_type": pl.String(), "hash": pl.String()},
        )
        with self._locked():
            bank = self.get(name)
            segments = self.segments(name)
            gone = segments.listed_among(drop.unique(maintain_order=True))
            if not gone.height:
                return 0  # nothing listed was named: no change to record
            bank.count -= gone.height
            bank.entries_version += 1
            self._put(bank, "remove", gone.height, actor, _hashes(gone))
            self._append(segments, REMOVE, gone)
            return gone.height

    def _append(self, segments: BankSegments, kind: str, frame: pl.DataFrame) -> None:
        segments.append(kind, frame)
        if len(segments.parts()) > MAX_PARTS:
            segments.compact()

    def compact(self, name: str) -> int:
        """Rewrite bank ``name``'s entries as one part (reads see the same entries
        before and after); returns the parts there were."""
        with self._locked():
            self.get(name)
            segments = self.segments(name)
            before = len(segments.parts())
            segments.compact()
            return before

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
            check_bank_name(name, f"{path}: list name")
        report = ImportReport(skipped_negative_class=negatives)
        with self._locked():  # one import is one change for other writers
            for name, group in groups.items():
                src = source or path.name[:SOURCE_MAX]
                self.create(name, source=src, negative=negative, actor=actor)
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
            row = {
                "bank": bank,
                "hash": hash_value,
                "reason": reason,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            self.store_meta.put_quarantine(row)
            self._meta["quarantine"].append(row)
            self.store_meta.audit(
                actor or self.actor, "quarantine", bank, {"hash": hash_value, "reason": reason}
            )

    def release(self, bank: str, hash_value: str, *, actor: str | None = None) -> bool:
        with self._locked():
            if (bank, hash_value) not in self.quarantined():
                return False
            self.store_meta.drop_quarantine(bank, hash_value)
            self._meta["quarantine"] = [
                q for q in self._meta["quarantine"] if (q["bank"], q["hash"]) != (bank, hash_value)
            ]
            self.store_meta.audit(actor or self.actor, "release", bank, {"hash": hash_value})
            return True


def _entries_frame(given: Sequence[BankEntry], added_at: datetime) -> pl.DataFrame:
    """Entries as a frame (ENTRY_SCHEMA), column by column: polars converts a Python
    list of lists or of datetimes element by element, ~30x slower (a sync adds 50,000
    at a time, nearly all with the same labels: each distinct list is converted once)."""
    distinct: dict[tuple[str, ...], int] = {}
    codes = [distinct.setdefault(tuple(e.labels), len(distinct)) for e in given]
    labels = pl.Series([list(k) for k in distinct], dtype=pl.List(pl.String))
    frame = pl.DataFrame(
        {
            "hash_type": pl.Series([e.hash_type for e in given], dtype=pl.String),
            "hash": pl.Series([e.hash for e in given], dtype=pl.String),
            "labels": labels.gather(codes),
        }
    )
    return frame.with_columns(pl.lit(added_at, ENTRY_SCHEMA["added_at"]).alias("added_at"))


def _hashes(frame: pl.DataFrame) -> dict[str, Any]:
    """The audit detail of an entries change: its hashes when few (a big import is
    recorded by its count; the import file itself is the list)."""
    if frame.height > AUDIT_HASHES:
        return {"hashes_listed": False}
    pairs = frame.select("hash_type", "hash").iter_rows()
    return {"hashes": [f"{t}:{h}" for t, h in pairs], "hashes_listed": True}
