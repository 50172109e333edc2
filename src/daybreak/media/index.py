"""Exact Hamming range search over 256-bit PDQ hashes (multi-index hashing).

Why this works (and is exact): the 256 bits are split into disjoint chunks, chunk *i*
searched at radius ``r_i``. If a listed hash differed from the query by more than ``r_i``
bits in *every* chunk, its total distance would be at least ``sum(r_i + 1)``. So when
``sum(r_i + 1) > max_distance`` every hash within ``max_distance`` shares at least one
chunk within its radius: probing every chunk value within ``r_i`` of the query's chunk
finds all of them. Each candidate is then verified with a full popcount, so there are
no false positives either. Layouts (chunk widths and radii) trade probes for candidates;
``benchmarks/media_index.py`` measured them and :func:`default_layout` picks one.

Storage: hashes as a contiguous ``(N, 4)`` uint64 array (big-endian words of the hex
string), one ``(2**w + 1)`` offsets array and one ``N`` posting array per chunk. Removals
set a tombstone bit; additions go to a small delta segment that is scanned by brute force
until :meth:`HashIndex.merge_delta` folds it into the postings in linear time (no sort).
Saved as ``.npy`` files and loaded memory-mapped.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from daybreak.media.layout import (
    PDQ_BITS,
    Chunk,
    Layout,
    default_layout,
    flip_masks,
    layout_max_distance,
    make_layout,
)

__all__ = [
    "PDQ_BITS",
    "Chunk",
    "HashFormatError",
    "HashIndex",
    "Layout",
    "Matches",
    "chunk_keys",
    "default_layout",
    "format_pdq",
    "hamming",
    "layout_max_distance",
    "make_layout",
    "parse_pdq",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

FORMAT_VERSION = 1
DEFAULT_THREADS = min(4, os.cpu_count() or 1)
DELTA_LIMIT = 65_536  # merge the delta segment into the postings beyond this many hashes


# Diagnostics for stalls under live additions (benchmarks/media_index_sync.py): with
# DAYBREAK_INDEX_TRACE=1 each lock wait/hold and each merge step is appended here as
# (label, start ns, duration ns) from time.perf_counter_ns. Off by default: an append
# per search would grow without bound in a server.
TRACE: list[tuple[str, int, int]] | None = [] if os.environ.get("DAYBREAK_INDEX_TRACE") else None


@contextmanager
def timed(label: str) -> Iterator[None]:
    """Record the block's duration in :data:`TRACE` (a no-op when tracing is off)."""
    if TRACE is None:
        yield
        return
    start = time.perf_counter_ns()
    try:
        yield
    finally:
        TRACE.append((label, start, time.perf_counter_ns() - start))


def _locked(lock: threading.RLock, label: str) -> AbstractContextManager[object]:
    """``lock`` itself, or when tracing a wrapper recording the wait for it and the hold
    (searches take the lock once each: no generator on that path when tracing is off)."""
    return lock if TRACE is None else _traced_lock(lock, label)


@contextmanager
def _traced_lock(lock: threading.RLock, label: str) -> Iterator[None]:
    with timed(label + ": lock wait"):
        lock.acquire()
    try:
        with timed(label + ": lock held"):
            yield
    finally:
        lock.release()


class HashFormatError(ValueError):
    """A hash string is not 64 hexadecimal characters."""


def parse_pdq(hex_hashes: Sequence[str]) -> U64:
    """Hex strings (64 chars) -> ``(n, 4)`` uint64 words. Raises HashFormatError."""
    out = np.empty((len(hex_hashes), 4), dtype=np.uint64)
    for i, h in enumerate(hex_hashes):
        s = h.strip().lower() if isinstance(h, str) else ""
        if len(s) != 64:
            raise HashFormatError(f"hash #{i} {h!r}: expected 64 hexadecimal characters")
        try:
            raw = bytes.fromhex(s)
        except ValueError:
            raise HashFormatError(f"hash #{i} {h!r}: not hexadecimal") from None
        out[i] = np.frombuffer(raw, dtype=">u8")
    return out


def format_pdq(words: U64) -> list[str]:
    be = np.ascontiguousarray(words, dtype=np.uint64).astype(">u8")
    return [row.tobytes().hex() for row in be]


def hamming(a: U64, b: U64) -> npt.NDArray[np.int64]:
    """Row-wise Hamming distance of two ``(n, 4)`` arrays (broadcasting allowed)."""
    out: npt.NDArray[np.int64] = np.bitwise_count(a ^ b).sum(axis=-1, dtype=np.int64)
    return out


def chunk_keys(words: U64, chunk: Chunk) -> npt.NDArray[np.uint32]:
    word, start = divmod(chunk.offset, 64)
    end = start + chunk.width
    if end <= 64:
        w = words[:, word]
        if end < 64:
            w = w >> np.uint64(64 - end)
        key = w & np.uint64((1 << chunk.width) - 1)
    else:
        low_bits = end - 64
        high = words[:, word] & np.uint64((1 << (64 - start)) - 1)
        key = (high << np.uint64(low_bits)) | (words[:, word + 1] >> np.uint64(64 - low_bits))
    return key.astype(np.uint32)


def _rows(words: U64) -> U64:
    return np.ascontiguousarray(words, dtype=np.uint64)


def _distance(a: U64, b: U64) -> npt.NDArray[np.uint32]:
    """Row distance of two contiguous ``(k, 4)`` arrays. The four per-word popcounts
    (uint8) are summed by viewing them as one uint32 and multiplying by 0x01010101:
    the top byte then holds the sum. Much faster than ``.sum(axis=1)`` on 4 columns."""
    counts = np.bitwise_count(a ^ b)
    packed = np.ascontiguousarray(counts).view(np.uint32).ravel()
    return (packed * np.uint32(0x01010101)) >> np.uint32(24)


@dataclass
class Matches:
    """Flat match arrays: query row, index id, distance (sorted by query, distance)."""

    query: I64
    ids: I64
    distance: I64

    @classmethod
    def merged(cls, parts: Sequence[Matches]) -> Matches:
        """The parts as one, sorted by query, distance, id (empty when there are none)."""
        if not parts:
            empty = np.empty(0, dtype=np.int64)
            return cls(empty, empty.copy(), empty.copy())
        q = np.concatenate([p.query for p in parts])
        ids = np.concatenate([p.ids for p in parts])
        dist = np.concatenate([p.distance for p in parts])
        order = np.lexsort((ids, dist, q))
        return cls(q[order], ids[order], dist[order])


_Snapshot = tuple[
    U64, list[npt.NDArray[np.uint32]], list[npt.NDArray[np.uint32]], npt.NDArray[np.bool_], U64
]


class HashIndex:
    """Exact Hamming range search; see the module docstring."""

    def __init__(self, layout: Layout, hashes: U64 | None = None) -> None:
        self.layout = layout
        self.max_distance = layout_max_distance(layout)
        self._masks = [flip_masks(c.width, c.radius) for c in layout]
        self._lock = threading.RLock()
        self._merging = threading.Lock()  # one merge at a time; searches never wait on it
        # Writers (add, remove, a merge's swap) one at a time: they build their new arrays
        # holding only this, and take the search lock just to swap them in.
        self._writing = threading.Lock()
        self._merger: threading.Thread | None = None
        self.hashes: U64 = np.empty((0, 4), dtype=np.uint64)
        self.offsets: list[npt.NDArray[np.uint32]] = []
        self.postings: list[npt.NDArray[np.uint32]] = []
        self.dead = np.zeros(0, dtype=bool)
        self.delta: U64 = np.empty((0, 4), dtype=np.uint64)
        self._build(np.empty((0, 4), dtype=np.uint64) if hashes is None else hashes)

    # -- building ---------------------------------------------------------------------

    def _build(self, hashes: U64) -> None:
        hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
        if hashes.shape[0] >= 2**32 - 1:
            raise ValueError("more than 2**32 hashes: shard the index")
        self.hashes = hashes
        self.offsets, self.postings = [], []
        for chunk in self.layout:
            keys = chunk_keys(hashes, chunk)
            counts = np.bincount(keys, minlength=1 << chunk.width)
            offsets = np.zeros((1 << chunk.width) + 1, dtype=np.uint32)
            np.cumsum(counts, out=offsets[1:])
            self.offsets.append(offsets)
            self.postings.append(np.argsort(keys, kind="stable").astype(np.uint32))
        self.dead = np.zeros(hashes.shape[0], dtype=bool)
        self.delta = np.empty((0, 4), dtype=np.uint64)

    @classmethod
    def build(cls, hashes: U64, max_distance: int = 31) -> HashIndex:
        return cls(default_layout(max_distance, hashes.shape[0]), hashes)

    def __len__(self) -> int:
        """Number of live hashes (indexed + delta - removed)."""
        return int(self.hashes.shape[0] + self.delta.shape[0] - self.dead.sum())

    @property
    def size(self) -> int:
        """Number of ids ever assigned (ids are stable until :meth:`vacuum`)."""
        return int(self.hashes.shape[0] + self.delta.shape[0])

    def add(self, hashes: U64) -> I64:
        """Add hashes, searchable at once; returns their ids. Beyond :data:`DELTA_LIMIT`
        the delta segment is merged in a background thread (searches go on meanwhile)."""
        with self._writing:
            with timed("add: arrays built"):  # outside the search lock (11 MB at 10M)
                start = self.size
                delta = np.concatenate([self.delta, np.asarray(hashes, dtype=np.uint64)])
                dead = np.concatenate([self.dead, np.zeros(hashes.shape[0], dtype=bool)])
            with _locked(self._lock, "add"):
                self.delta, self.dead = delta, dead
            busy = self._merger is not None and self._merger.is_alive()
            if self.delta.shape[0] > DELTA_LIMIT and not busy:
                self._merger = threading.Thread(
                    target=self._merge_while_big, name="hash-index-merge", daemon=True
                )
                self._merger.start()
            return np.arange(start, start + hashes.shape[0], dtype=np.int64)

    def _merge_while_big(self) -> None:
        """Merge until the delta is small again (adds go on during a merge: the next
        merge takes everything they added meanwhile, so merges grow with the rate)."""
        self.merge_delta()
        while self.delta.shape[0] > DELTA_LIMIT:
            self.merge_delta()

    def wait_merged(self) -> None:
        """Wait for a background merge that :meth:`add` started (if any)."""
        merger = self._merger
        if merger is not None:
            merger.join()

    def remove(self, ids: npt.ArrayLike) -> None:
        with self._writing:
            idx = np.asarray(ids, dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= self.size):
                raise IndexError(f"id out of range 0..{self.size - 1}")
            dead = np.array(self.dead)  # writable copy even when memory-mapped
            dead[idx] = True
            with self._lock:
                self.dead = dead

    def merge_delta(self) -> None:
        """Fold the delta segment into the postings: O(N + M log M), no full sort.

        The new arrays are built from a snapshot outside the search lock and swapped in
        at the end (a read/write swap): searches keep running on the old arrays while
        the merge works, and hashes added meanwhile stay in the delta for the next one."""
        with self._merging:
            with _locked(self._lock, "merge snapshot"):
                hashes, offsets, postings, delta = (
                    self.hashes, self.offsets, self.postings, self.delta
                )  # fmt: skip
            if delta.shape[0] == 0:
                return
            with timed("merge: build new arrays"):
                merged = _merged(self.layout, hashes, offsets, postings, delta)
            with self._writing, _locked(self._lock, "merge swap"):
                self.hashes, self.offsets, self.postings = merged
                self.delta = self.delta[delta.shape[0] :]

    # -- searching --------------------------------------------------------------------

    def search(
        self,
        queries: U64,
        max_distance: int | None = None,
        batch: int = 256,
        threads: int | None = None,
    ) -> Matches:
        """Every live hash within ``max_distance`` of each query (exact)."""
        d = self.max_distance if max_distance is None else max_distance
        if d > self.max_distance:
            raise ValueError(f"index is exact up to {self.max_distance}, asked for {d}")
        queries = np.ascontiguousarray(queries, dtype=np.uint64)
        with _locked(self._lock, "search snapshot"):  # arrays are replaced, never mutated
            snap = (self.hashes, self.offsets, self.postings, self.dead, self.delta)
        starts = range(0, queries.shape[0], batch)
        workers = min(len(starts), threads or DEFAULT_THREADS)
        if workers > 1:  # numpy releases the GIL in take/repeat/ufuncs: threads scale
            with ThreadPoolExecutor(workers) as pool:
                parts = list(
                    pool.map(
                        lambda i: self._search_batch(queries[i : i + batch], i, d, snap), starts
                    )
                )
        else:
            parts = [self._search_batch(queries[i : i + batch], i, d, snap) for i in starts]
        return Matches.merged(parts)

    def _search_batch(self, q: U64, base: int, d: int, snap: _Snapshot) -> Matches:
        hashes, all_offsets, all_postings, dead, delta = snap
        nq = q.shape[0]
        q_rows = _rows(q)
        found_q: list[I64] = []
        found_id: list[I64] = []
        found_d: list[I64] = []
        for chunk, masks, offsets, postings in zip(
            self.layout, self._masks, all_offsets, all_postings, strict=True
        ):
            probes = (chunk_keys(q, chunk)[:, None] ^ masks[None, :]).ravel()
            # Two plain 1-D takes: far faster than one take over a (start, end) view.
            starts = np.take(offsets, probes).astype(np.int64)
            lens = np.take(offsets, probes + 1).astype(np.int64) - starts
            total = int(lens.sum())
            if total == 0:
                continue
            ends = np.cumsum(lens)
            pos = np.arange(total, dtype=np.int64) + np.repeat(starts - ends + lens, lens)
            cand = np.take(postings, pos)
            # Candidates come grouped by query: repeat (sequential) beats take (random).
            per_query = lens.reshape(nq, -1).sum(axis=1)
            cq = np.repeat(np.arange(nq, dtype=np.int64), per_query)
            dist = _distance(np.take(hashes, cand, axis=0), np.repeat(q_rows, per_query, axis=0))
            hit = np.flatnonzero(dist <= d)
            found_q.append(cq[hit])
            found_id.append(cand[hit].astype(np.int64))
            found_d.append(dist[hit].astype(np.int64))
        if delta.shape[0]:
            dd = hamming(q[:, None, :], delta[None, :, :])
            qi, di = np.nonzero(dd <= d)
            found_q.append(qi.astype(np.int64))
            found_id.append(di.astype(np.int64) + hashes.shape[0])
            found_d.append(dd[qi, di])
        if not found_q:
            empty = np.empty(0, dtype=np.int64)
            return Matches(empty, empty.copy(), empty.copy())
        fq = np.concatenate(found_q)
        fid = np.concatenate(found_id)
        fd = np.concatenate(found_d)
        # A hash can be found through several chunks: keep one row per (query, id).
        key = fq * (hashes.shape[0] + delta.shape[0] + 1) + fid
        _, first = np.unique(key, return_index=True)
        fq, fid, fd = fq[first], fid[first], fd[first]
        live = ~dead[fid]
        return Matches(fq[live] + base, fid[live], fd[live])

    # -- persistence ------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write atomically: a sibling temp dir renamed over the target."""
        target = Path(directory)
        self.merge_delta()
        tmp = target.with_name(target.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        with self._lock:
            np.save(tmp / "hashes.npy", self.hashes)
            np.save(tmp / "dead.npy", self.dead)
            for i, (off, post) in enumerate(zip(self.offsets, self.postings, strict=True)):
                np.save(tmp / f"offsets_{i}.npy", off)
                np.save(tmp / f"postings_{i}.npy", post)
            meta = {
                "format": FORMAT_VERSION,
                "count": int(self.hashes.shape[0]),
                "layout": [[c.width, c.radius] for c in self.layout],
            }
            (tmp / "meta.json").write_text(json.dumps(meta))
        old = target.with_name(target.name + ".old")
        if target.exists():
            if old.exists():
                shutil.rmtree(old)
            target.rename(old)
        tmp.rename(target)
        if old.exists():
            shutil.rmtree(old)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], mmap: bool = True) -> HashIndex:
        path = Path(directory)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a Daybreak hash index ({exc})") from None
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{path}: index format {meta.get('format')}, expected "
                f"{FORMAT_VERSION}; rebuild it with `daybreak media index build`"
            )
        mode: Literal["r"] | None = "r" if mmap else None
        index = cls.__new__(cls)
        index.layout = make_layout([(int(w), int(r)) for w, r in meta["layout"]])
        index.max_distance = layout_max_distance(index.layout)
        index._masks = [flip_masks(c.width, c.radius) for c in index.layout]
        index._lock = threading.RLock()
        index._merging = threading.Lock()
        index._writing = threading.Lock()
        index._merger = None
        index.hashes = np.load(path / "hashes.npy", mmap_mode=mode)
        index.dead = np.array(np.load(path / "dead.npy"))
        index.offsets = [
            np.load(path / f"offsets_{i}.npy", mmap_mode=mode) for i in range(len(index.layout))
        ]
        index.postings = [
            np.load(path / f"postings_{i}.npy", mmap_mode=mode) for i in range(len(index.layout))
        ]
        index.delta = np.empty((0, 4), dtype=np.uint64)
        return index

    def warm(self) -> None:
        """Copy memory-mapped arrays into RAM and swap them in.

        Loading memory-mapped is instant, but random probes into page-cache pages miss
        the TLB far more often than anonymous memory, which numpy backs with transparent
        huge pages for large arrays. Servers call this (e.g. in a background thread)
        after loading; searches keep working meanwhile and see either version.
        """
        with self._lock:
            old = (self.hashes, list(self.offsets), list(self.postings))
        hashes = np.array(old[0])
        offsets = [np.array(o) for o in old[1]]
        postings = [np.array(p) for p in old[2]]
        with self._lock:
            if self.hashes is old[0] and all(
                a is b for a, b in zip(self.postings, old[2], strict=True)
            ):
                self.hashes, self.offsets, self.postings = hashes, offsets, postings

    def nbytes(self) -> int:
        return int(
            self.hashes.nbytes
            + self.dead.nbytes
            + self.delta.nbytes
            + sum(o.nbytes for o in self.offsets)
            + sum(p.nbytes for p in self.postings)
        )


def _merged(
    layout: Layout,
    hashes: U64,
    offsets: list[npt.NDArray[np.uint32]],
    postings: list[npt.NDArray[np.uint32]],
    delta: U64,
) -> tuple[U64, list[npt.NDArray[np.uint32]], list[npt.NDArray[np.uint32]]]:
    """The arrays of an index with ``delta`` folded into its postings (new arrays; the
    given ones are left as they are for the searches that still read them).

    Every big array is written slice by slice into a preallocated one (see
    :data:`COPY_BLOCK`): one ``concatenate`` or ``insert`` over the whole index is a
    single numpy step of tens of milliseconds at 10M, which searches in other threads
    would wait out."""
    n = hashes.shape[0]
    new_ids = np.arange(n, n + delta.shape[0], dtype=np.uint32)
    new_offsets, new_postings = [], []
    for chunk, off, post in zip(layout, offsets, postings, strict=True):
        with timed("merge: chunk keys + argsort"):
            keys = chunk_keys(delta, chunk)
            order = np.argsort(keys, kind="stable")
        with timed("merge: insertion points"):
            sorted_keys = keys[order]
            # Inserting at the end of each bucket keeps ids ascending within buckets.
            at = off[sorted_keys + 1].astype(np.int64)
        with timed("merge: postings insert"):
            new_postings.append(_inserted(post, at, new_ids[order]))
        with timed("merge: offsets shift"):
            new_offsets.append(_shifted(off, sorted_keys))
    with timed("merge: hashes stacked"):
        stacked = _stacked(hashes, delta)
    return stacked, new_offsets, new_postings


COPY_BLOCK = 8 << 20  # bytes copied per numpy step when merging (see _merged)
OFFSET_BLOCK = 1 << 20  # offsets shifted this many at a time (see _shifted)


def _stacked(hashes: U64, delta: U64) -> U64:
    """``np.concatenate([hashes, delta])``, copied :data:`COPY_BLOCK` bytes at a time."""
    n = hashes.shape[0]
    out = np.empty((n + delta.shape[0], 4), dtype=np.uint64)
    rows = max(1, COPY_BLOCK // (4 * 8))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        out[start:stop] = hashes[start:stop]
    out[n:] = delta
    return out


def _inserted(
    post: npt.NDArray[np.uint32], at: I64, values: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]:
    """``np.insert(post, at, values)`` for ascending ``at``, a block of ``post`` at a time.

    Each block gets the values to be inserted before its elements (those at the end of
    ``post`` go with the last block); the values before a block shift it by their count."""
    n = post.shape[0]
    out = np.empty(n + values.shape[0], dtype=post.dtype)
    step = max(1, COPY_BLOCK // post.itemsize)
    starts = range(0, max(n, 1), step)
    bounds = np.searchsorted(at, [min(s + step, n) for s in starts], side="left")
    bounds[-1] = values.shape[0]  # at == n: appended after the last block
    done = 0
    for start, upto in zip(starts, bounds.tolist(), strict=True):
        stop = min(start + step, n)
        block = np.insert(post[start:stop], at[done:upto] - start, values[done:upto])
        out[start + done : stop + upto] = block
        done = upto
    return out


def _shifted(
    off: npt.NDArray[np.uint32], sorted_keys: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]:
    """``off`` with bucket *i*'s start moved by the added keys (ascending) below *i*.

    In blocks of :data:`OFFSET_BLOCK` buckets, each counted from its own slice of the
    keys: a cumulative sum over 2**24 buckets in one call holds the GIL for tens of
    milliseconds, and one ``bincount`` over all buckets allocates and faults in 128 MB
    per chunk and merge (traced at 2M: up to 161 ms a call)."""
    out = np.empty_like(off)
    out[0] = off[0]
    buckets = off.size - 1
    carry = 0
    for start in range(0, buckets, OFFSET_BLOCK):
        stop = min(start + OFFSET_BLOCK, buckets)
        lo, hi = np.searchsorted(sorted_keys, [start, stop]).tolist()
        counts = np.bincount(sorted_keys[lo:hi] - np.uint32(start), minlength=stop - start)
        part = np.cumsum(counts) + carry
        end = start + part.size
        np.add(off[start + 1 : end + 1], part, out=out[start + 1 : end + 1], casting="unsafe")
        carry = int(part[-1])
    return out
