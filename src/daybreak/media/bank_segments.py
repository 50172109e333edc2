"""A bank's entries on disk as appended segments: a write costs the change, not the bank.

A bank ``<name>`` keeps a folder ``<name>/`` beside the other banks' entries holding one
Parquet file per change (a *part*): added entries (``add``) or the keys of removed ones
(``remove``, tombstones), and ``manifest.json``, the ordered list of the parts that
count. Each part has a sequence range ``first..last`` (one number for a write; the
range it replaced for a compacted part), so a reader that has applied the parts up to
``n`` knows which parts are new to it (:meth:`BankSegments.parts`).

Reading a bank is the union of its add parts minus, for each row, the tombstones of
*later* parts (a hash removed and added again is listed again). A write puts its part
file in place first and then replaces the manifest atomically (the commit point): a
crash between the two leaves a file no manifest names, which readers ignore and the
next write of the same number replaces, so nothing is lost that was committed and
nothing is counted twice. :meth:`BankSegments.compact` rewrites the live entries as one
part and deletes the rest (automatically past :data:`MAX_PARTS` parts, or on demand).

Beside each part it writes, a write keeps the part's keys as sorted 64-bit digests
(``<part>.keys-<polars version>.npy``): an add or a remove checks its keys against them
(:meth:`BankSegments.listed_among`) and reads only the parts some digest hits, so adding
1 M new hashes to a bank of 10 M reads none of the 10 M keys. A hit is checked against
the part's rows (digests can collide), so the answer is exact. A part without digests
(written before them, or by another polars version: its row hash is stable within a
version only) has them computed from its keys at first use and kept.

A bank written before segments existed is one file ``<name>.parquet``; it reads as the
single add part ``0..0`` and the first write migrates it (a manifest naming it and the
new part; the old file is deleted at the next compaction).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

MANIFEST = "manifest.json"
FORMAT = 1
MAX_PARTS = 64  # beyond this many parts a write compacts the bank
KEYS = ["hash_type", "hash"]
ADD, REMOVE = "add", "remove"
DIGESTS = f".keys-{pl.__version__}.npy"  # polars' row hash is stable within a version
READ_ATTEMPTS = 5  # a compaction may delete a part between manifest read and file open


def key_digests(frame: pl.DataFrame) -> npt.NDArray[np.uint64]:
    """The 64-bit digests of ``frame``'s (hash_type, hash) keys, in row order."""
    return frame.select(KEYS).hash_rows(seed=0).to_numpy()


def _among(
    sorted_digests: npt.NDArray[np.uint64], digests: npt.NDArray[np.uint64]
) -> npt.NDArray[np.bool_]:
    """Which of ``digests`` are in ``sorted_digests`` (binary search, no copy of it)."""
    if not sorted_digests.size:
        return np.zeros(digests.shape, dtype=bool)
    at = np.searchsorted(sorted_digests, digests).clip(max=sorted_digests.size - 1)
    found: npt.NDArray[np.bool_] = sorted_digests[at] == digests
    return found


class SegmentError(ValueError):
    """A bank's manifest cannot be read."""


@dataclass(frozen=True)
class Part:
    kind: str  # ADD or REMOVE
    first: int  # sequence numbers covered (first == last unless compacted)
    last: int
    rows: int
    file: str  # relative to the bank's folder


class BankSegments:
    """The entries of bank ``name`` under ``root`` (the organisation's entries folder)."""

    def __init__(self, root: Path, name: str, schema: dict[str, pl.DataType]) -> None:
        self.folder = root / name
        self.legacy = root / f"{name}.parquet"
        self.schema = schema

    # -- reading ----------------------------------------------------------------------

    def parts(self) -> list[Part]:
        """The parts that count, oldest first (a legacy single file is part 0..0)."""
        path = self.folder / MANIFEST
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            if not self.legacy.exists():
                return []
            rows = pl.scan_parquet(self.legacy).select(pl.len()).collect().item()
            return [Part(ADD, 0, 0, int(rows), f"../{self.legacy.name}")]
        try:
            data = json.loads(text)
            return [Part(**p) for p in data["parts"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise SegmentError(f"{path}: not a bank manifest ({exc})") from None

    def read(self, columns: Sequence[str] | None = None) -> tuple[pl.DataFrame, list[Part]]:
        """The live entries (``columns`` of them, the keys always included) and the parts
        they were read from."""
        for attempt in range(READ_ATTEMPTS):
            parts = self.parts()
            try:
                return self.read_parts(parts, columns), parts
            except FileNotFoundError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def read_parts(
        self, parts: Sequence[Part], columns: Sequence[str] | None = None
    ) -> pl.DataFrame:
        """The rows ``parts`` add that none of their later tombstones removes (all of a
        single add part; the keys of a single remove part)."""
        wanted = (
            list(self.schema)
            if columns is None
            else [*KEYS, *(c for c in columns if c not in KEYS)]
        )
        adds = [
            self._read(p, wanted).with_columns(_seq=pl.lit(p.last)) for p in parts if p.kind == ADD
        ]
        drops = [
            self._read(p, KEYS).with_columns(_gone=pl.lit(p.last))
            for p in parts
            if p.kind == REMOVE
        ]
        if not adds:
            if drops and len(parts) == 1:
                return drops[0].drop("_gone")
            return pl.DataFrame(schema={c: self.schema[c] for c in wanted})
        listed = pl.concat(adds, rechunk=False) if len(adds) > 1 else adds[0]
        if drops:
            gone = pl.concat(drops).group_by(KEYS).agg(pl.col("_gone").max())
            listed = listed.join(gone, on=KEYS, how="left", maintain_order="left")
            listed = listed.filter(pl.col("_gone").is_null() | (pl.col("_seq") > pl.col("_gone")))
            listed = listed.drop("_gone")
        return listed.drop("_seq")

    def listed_among(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Those of ``keys`` (distinct (hash_type, hash) rows) that the bank lists now, in
        their order. Reads only the parts whose key digests one of them hits (a part
        that holds none of the keys neither adds nor removes any of them), and of those
        only the rows of the keys hit."""
        keys = keys.select(KEYS)
        parts = self.parts()
        wanted = key_digests(keys)
        hit = np.zeros(wanted.shape, dtype=bool)
        touched = []
        for part in parts:
            found = _among(self.digests(part), wanted)
            if found.any():
                hit |= found
                touched.append(part)
        if not any(p.kind == ADD for p in touched):
            return keys.clear()
        candidates = keys.filter(pl.Series(hit))
        rows = [
            self._read_matching(p, candidates).with_columns(
                _seq=pl.lit(p.last), _add=pl.lit(p.kind == ADD)
            )
            for p in touched
        ]
        # a key is listed when the last part that names it added it
        latest = (
            pl.concat(rows)
            .sort("_seq")
            .group_by(KEYS, maintain_order=True)
            .agg(pl.col("_add").last())
            .filter("_add")
        )
        return candidates.join(latest.select(KEYS), on=KEYS, how="semi", maintain_order="left")

    def digests(self, part: Part) -> npt.NDArray[np.uint64]:
        """``part``'s key digests, sorted: read from beside it, or computed from its keys
        (and kept for the next write) when missing or stale."""
        path = self._digests_path(part)
        try:
            kept: npt.NDArray[np.uint64] = np.load(path)
            if kept.dtype == np.uint64 and kept.shape == (part.rows,):
                return kept
        except (OSError, ValueError):
            pass
        digests = np.sort(key_digests(self._read(part, KEYS)))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _replace(path, lambda tmp: np.save(tmp, digests))
        except OSError:
            pass  # a reader without write access: computed again next time
        return digests

    def _digests_path(self, part: Part) -> Path:
        # beside the part; a legacy part (``../<name>.parquet``) keeps them in the folder
        return self.folder / (os.path.basename(part.file) + DIGESTS)

    def _read_matching(self, part: Part, keys: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``part`` whose keys are among ``keys`` (its keys only)."""
        path = os.path.normpath(self.folder / part.file)
        return (
            pl.scan_parquet(path)
            .select(KEYS)
            .filter(pl.col("hash").is_in(keys["hash"].unique().implode()))
            .join(keys.lazy(), on=KEYS, how="semi")
            .collect()
        )

    def _read(self, part: Part, columns: list[str]) -> pl.DataFrame:
        # normalised: a legacy part is ``../<name>.parquet`` and the folder may not exist
        return pl.read_parquet(os.path.normpath(self.folder / part.file), columns=columns)

    # -- writing (the caller holds the banks' write lock) ------------------------------

    def append(self, kind: str, frame: pl.DataFrame) -> Part:
        """Write ``frame`` as a new part and commit it (see the module docstring)."""
        parts = self.parts()
        seq = max((p.last for p in parts), default=0) + 1
        part = Part(kind, seq, seq, frame.height, f"{seq:08d}.{kind}.parquet")
        self._write_part(part, frame)
        self._write_manifest([*parts, part])
        return part

    def compact(self) -> Part | None:
        """Rewrite the live entries as one part and delete every other file (parts of
        the old manifest, a legacy file, parts a crash left unnamed). None: no parts."""
        live, parts = self.read()
        if not parts:
            return None
        first, last = min(p.first for p in parts), max(p.last for p in parts)
        part = Part(ADD, first, last, live.height, f"{first:08d}-{last:08d}.{ADD}.parquet")
        self._write_part(part, live)
        self._write_manifest([part])
        kept = (MANIFEST, part.file, part.file + DIGESTS)
        for path in self.folder.iterdir():
            if path.name not in kept:
                path.unlink(missing_ok=True)
        self.legacy.unlink(missing_ok=True)
        return part

    def _write_part(self, part: Part, frame: pl.DataFrame) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _replace(self.folder / part.file, lambda path: frame.write_parquet(path))
        digests = np.sort(key_digests(frame))  # before the manifest names the part
        _replace(self._digests_path(part), lambda path: np.save(path, digests))

    def _write_manifest(self, parts: Sequence[Part]) -> None:
        text = json.dumps({"format": FORMAT, "parts": [asdict(p) for p in parts]}, indent=1)
        _replace(self.folder / MANIFEST, lambda path: path.write_text(text, "utf-8"))


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write a sibling temporary file with ``write(path)``, flush it to disk and rename
    it over ``target`` (readers see the old file or the new one, never half of one)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    os.close(fd)
    path = Path(tmp)
    try:
        write(path)
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(path, target)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
