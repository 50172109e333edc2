"""Hash lists ("banks") of known material: enable/disable, versions, source, entries.

A bank store is a directory: ``banks.json`` (settings, version history, quarantined
hashes) and one Parquet file of entries per bank. Imports (formats in
:mod:`daybreak.media.hashlists`) validate every row first and then write, so a bad file
changes nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
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


class BankStore:
    """Banks on disk; see the module docstring for the layout."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._meta_path = self.root / "banks.json"
        self._meta: dict[str, Any] = {"banks": {}, "history": [], "quarantine": []}
        self._mtime = 0.0
        self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        """Pick up changes another process (the CLI) made; True when there were some."""
        try:
            mtime = self._meta_path.stat().st_mtime
        except FileNotFoundError:
            return False
        if mtime == self._mtime:
            return False
        try:
            self._meta = json.loads(self._meta_path.read_text())
        except ValueError as exc:
            raise BankError(f"{self._meta_path}: not valid JSON ({exc})") from None
        self._mtime = mtime
        return True

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
