"""Reading hash-list files: CSV, JSON Lines and python-threatexchange formats.

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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daybreak.plugins import SIGNAL_TYPE_NAMES, is_signal_type, signal_type

# The registered hash types (daybreak.model.signal_types and plug-ins), in listing order.
HASH_TYPES = SIGNAL_TYPE_NAMES


class BankError(ValueError):
    """Bad bank name, settings or hash list; the message names the file/row/field."""


def normalize_hash(hash_type: str, value: str, where: str = "hash") -> tuple[str, str]:
    """Canonical (type, normalised hash) or BankError naming ``where``; the type may be
    any spelling a registered signal type accepts (``video_md5`` is md5)."""
    try:
        kind = signal_type(hash_type, where)
        return kind.name, kind.normalize(value, where)
    except ValueError as exc:
        raise BankError(str(exc)) from None


@dataclass(frozen=True)
class BankEntry:
    hash_type: str
    hash: str
    labels: tuple[str, ...] = ()
    bank: str | None = None  # from the file's list column, when it has one


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
    if len(parts) == 1 or (not is_signal_type(parts[0]) and default_type):
        if default_type is None:
            raise BankError(f"{where}: bare hash without a type; pass a default type")
        kind, value = default_type, parts[0]
    else:
        kind, value = parts[0], parts[1]
    kind, hexed = normalize_hash(kind, value, where)
    return BankEntry(kind, hexed)
