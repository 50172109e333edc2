"""Hash lists ("banks") of known material: import, enable/disable, versions, source.

A bank store is a directory: ``banks.json`` (settings, version history, quarantined
hashes) and one Parquet file of entries per bank. Imports validate every row first and
then write, so a bad file changes nothing. Formats read:

- CSV with a header: ``hash`` (or ``signal_str``/``value``), optional ``type``
  (``hash_type``/``signal_type``), ``list`` (``bank``/``collab``), ``labels``
  (``tags``; separated by spaces, ``;`` or ``|``), ``category`` (python-threatexchange's
  ``dataset --csv`` export: rows with NEGATIVE_CLASS are not imported and are counted).
- JSON Lines with the same keys (``labels`` may be a list).
- python-threatexchange's local file format: one ``<signal_type> <hash>`` per line (or
  a bare hash with the type given on the command line); anything after the second field,
  as in ``threatexchange dataset -P`` output, is ignored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

HASH_TYPES = ("pdq", "md5", "sha256")
_TYPE_ALIASES = {
    "pdq": "pdq",
    "md5": "md5",
    "video_md5": "md5",
    "photo_md5": "md5",
    "sha256": "sha256",
    "sha-256": "sha256",
    "video_sha256": "sha256",
}
_HEX_LEN = {"pdq": 64, "md5": 32, "sha256": 64}
_HEX = re.compile(r"^[0-9a-f]+$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "hash_type": pl.String(),
    "hash": pl.String(),
    "labels": pl.List(pl.String()),
    "added_at": pl.Datetime("us", "UTC"),
}


class BankError(ValueError):
    """Bad bank name, settings or hash list; the message names the file/row/field."""


def normalize_hash(hash_type: str, value: str, where: str = "hash") -> tuple[str, str]:
    """Canonical (type, lower-case hex) or BankError naming ``where``."""
    kind = _TYPE_ALIASES.get(hash_type.strip().lower())
    if kind is None:
        raise BankError(
            f"{where}: unsupported hash type {hash_type!r}, expected one of {', '.join(HASH_TYPES)}"
        )
    hexed = value.strip().lower()
    if len(hexed) != _HEX_LEN[kind] or not _HEX.match(hexed):
        raise BankError(
            f"{where}: {kind} hash {value!r} is not {_HEX_LEN[kind]} hexadecimal characters"
        )
    return kind, hexed


@dataclass(frozen=True)
class BankEntry:
    hash_type: str
    hash: str
    labels: tuple[str, ...] = ()
    bank: str | None = None  # from the file's list column, when it has one


@dataclass
class Bank:
    name: str
    enabled: bool = True
    negative: bool = False  # known false positives: a match here suppresses others
    threshold: int = 31  # PDQ Hamming distance at or below which a listed hash matches
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


def _labels(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, list):
        return tuple(str(x).strip() for x in raw if str(x).strip())
    return tuple(x for x in re.split(r"[;|\s]+", str(raw).strip()) if x)


def _pick(row: dict[str, Any], *names: str) -> Any:
    for n in names:
        if row.get(n) not in (None, ""):
            return row[n]
    return None


def _entry_from_mapping(
    row: dict[str, Any], where: str, default_type: str | None
) -> BankEntry | None:
    value = _pick(row, "hash", "signal_str", "value", "hash_value")
    if value is None:
        raise BankError(f"{where}: missing hash (column 'hash' or 'signal_str')")
    if str(_pick(row, "category") or "").upper() == "NEGATIVE_CLASS":
        return None
    kind = _pick(row, "type", "hash_type", "signal_type") or default_type
    if kind is None:
        raise BankError(f"{where}: missing hash type (column 'type') and no default given")
    kind, hexed = normalize_hash(str(kind), str(value), where)
    bank = _pick(row, "list", "bank", "collab")
    return BankEntry(
        kind, hexed, _labels(_pick(row, "labels", "tags")), str(bank) if bank else None
    )


def parse_hash_list(
    path: Path, default_type: str | None = None, fmt: str = "auto"
) -> tuple[list[BankEntry], int]:
    """All entries of a hash-list file and the number of NEGATIVE_CLASS rows left out.

    Raises BankError naming the file and line of the first few bad rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read as UTF-8 text ({exc})") from None
    if fmt == "auto":
        fmt = _detect_format(path, text)
    errors: list[str] = []
    entries: list[BankEntry] = []
    negatives = 0
    for _where, make in _rows(path, text, fmt, default_type):
        try:
            entry = make()
        except BankError as exc:
            errors.append(str(exc))
            if len(errors) >= 5:
                break
            continue
        if entry is None:
            negatives += 1
        else:
            entries.append(entry)
    if errors:
        raise BankError("; ".join(errors) + " — nothing imported")
    return entries, negatives


def _detect_format(path: Path, text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if path.suffix.lower() in (".jsonl", ".ndjson") or first.lstrip().startswith("{"):
        return "jsonl"
    if "," in first and re.search(r"hash|signal_str|value", first, re.I):
        return "csv"
    return "threatexchange"


def _rows(path: Path, text: str, fmt: str, default_type: str | None) -> Iterator[tuple[str, Any]]:
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        for n, row in enumerate(reader, start=2):
            where = f"{path}:{n}"
            yield (
                where,
                lambda r=row, w=where: _entry_from_mapping(
                    {k.strip().lower(): v for k, v in r.items() if k}, w, default_type
                ),
            )
    elif fmt == "jsonl":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            yield where, lambda ln=line, w=where: _jsonl_entry(ln, w, default_type)
    elif fmt == "threatexchange":
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path}:{n}"
            yield where, lambda ln=line, w=where: _te_entry(ln, w, default_type)
    else:
        raise BankError(f"{path}: unknown format {fmt!r}, expected csv, jsonl or threatexchange")


def _jsonl_entry(line: str, where: str, default_type: str | None) -> BankEntry | None:
    try:
        row = json.loads(line)
    except ValueError as exc:
        raise BankError(f"{where}: not valid JSON ({exc.args[0]})") from None
    if not isinstance(row, dict):
        raise BankError(f"{where}: expected a JSON object")
    return _entry_from_mapping(row, where, default_type)


def _te_entry(line: str, where: str, default_type: str | None) -> BankEntry:
    parts = line.split()
    if len(parts) == 1 or (parts[0].lower() not in _TYPE_ALIASES and default_type):
        if default_type is None:
            raise BankError(f"{where}: bare hash without a type; pass a default type")
        kind, value = default_type, parts[0]
    else:
        kind, value = parts[0], parts[1]
    kind, hexed = normalize_hash(kind, value, where)
    return BankEntry(kind, hexed)


class BankStore:
    """Banks on disk; see the module docstring for the layout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._meta_path = self.root / "banks.json"
        self._meta: dict[str, Any] = {"banks": {}, "history": [], "quarantine": []}
        self._mtime = 0.0
        self.reload_if_changed()

    def reload_if_changed(self) -> None:
        """Pick up changes another process (the CLI) made to the settings."""
        try:
            mtime = self._meta_path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        try:
            self._meta = json.loads(self._meta_path.read_text())
        except ValueError as exc:
            raise BankError(f"{self._meta_path}: not valid JSON ({exc})") from None
        self._mtime = mtime

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
        threshold: int = 31,
        description: str = "",
    ) -> Bank:
        if not _NAME.match(name):
            raise BankError(
                f"bank name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)"
            )
        if not 0 <= threshold <= 128:
            raise BankError(f"bank {name}: threshold {threshold} outside 0..128")
        if name in self._meta["banks"]:
            return self.get(name)
        bank = Bank(
            name, source=source, negative=negative, threshold=threshold, description=description
        )
        self._put(bank, "create", 0)
        return bank

    def update(self, name: str, **changes: Any) -> Bank:
        bank = self.get(name)
        for key, value in changes.items():
            if key not in ("enabled", "negative", "threshold", "source", "description"):
                raise BankError(f"bank {name}: cannot change {key!r}")
            setattr(bank, key, value)
        self._put(bank, "update " + ",".join(sorted(changes)), 0)
        return bank

    def _put(self, bank: Bank, action: str, changed: int) -> None:
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

    def _save_meta(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._meta, indent=1))
        tmp.replace(self._meta_path)
        self._mtime = self._meta_path.stat().st_mtime

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

    def add(self, name: str, entries: Iterable[BankEntry]) -> tuple[int, int]:
        """Add entries (deduplicated); returns (added, already present)."""
        bank = self.get(name)
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
        old = self.entries(name)
        merged = pl.concat(
            [old, new.unique(["hash_type", "hash"], keep="first", maintain_order=True)]
        )
        merged = merged.unique(["hash_type", "hash"], keep="first", maintain_order=True)
        added = merged.height - old.height
        self._write_entries(name, merged)
        bank.count = merged.height
        bank.entries_version += 1
        self._put(bank, "add", added)
        return added, new.height - added

    def remove(self, name: str, hashes: Iterable[tuple[str, str]]) -> int:
        bank = self.get(name)
        drop = pl.DataFrame(
            [{"hash_type": t, "hash": h} for t, h in hashes],
            schema={"hash_type": pl.String(), "hash": pl.String()},
        )
        old = self.entries(name)
        kept = old.join(drop, on=["hash_type", "hash"], how="anti")
        self._write_entries(name, kept)
        bank.count = kept.height
        bank.entries_version += 1
        self._put(bank, "remove", old.height - kept.height)
        return old.height - kept.height

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
        for name, group in groups.items():
            self.create(name, source=source or str(path.name), negative=negative)
            added, dup = self.add(name, group)
            report.added[name] = added
            report.duplicates += dup
        return report

    # -- flood-control quarantine -----------------------------------------------------

    def quarantined(self) -> set[tuple[str, str]]:
        return {(q["bank"], q["hash"]) for q in self._meta.get("quarantine", [])}

    def quarantine(self, bank: str, hash_value: str, reason: str) -> None:
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

    def release(self, bank: str, hash_value: str) -> bool:
        before = len(self._meta.get("quarantine", []))
        self._meta["quarantine"] = [
            q
            for q in self._meta.get("quarantine", [])
            if (q["bank"], q["hash"]) != (bank, hash_value)
        ]
        self._save_meta()
        return len(self._meta["quarantine"]) < before
