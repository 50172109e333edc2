"""Match hashes against the banks: Hamming range search, exact look-up, video frame lists.

Which search a hash type gets comes from its signal type (``daybreak.signal_types``):
PDQ from the saved multi-index (:class:`~daybreak.media.index.HashIndex`), every other
distance-matched type from the range index its ``index`` names, built in memory from the
banks (:mod:`daybreak.media.hamming`), every exact type (MD5, SHA-256) from a dictionary.

Policy applied on top of raw distances:
- each bank's own threshold (``Bank.threshold``) and enabled flag, read at match time, so
  enabling/disabling a bank is instant (no rebuild);
- negative banks (known false positives): a query that matches one has its other matches
  marked ``suppressed``;
- flood control: a listed hash matching more than ``FloodControl.max_matches`` times in
  ``window_seconds`` is quarantined (persisted in the bank store) until an operator
  releases it; its matches come back with status ``quarantined``.
Only status ``match`` is a signal.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from daybreak.media.bank_segments import ADD, Part
from daybreak.media.banks import Bank, BankEntry, BankStore, normalize_hash
from daybreak.media.hamming import RangeSearch
from daybreak.media.index import U64, HashIndex, Matches, default_layout, parse_pdq, timed
from daybreak.media.video import FrameHash, VideoMatchRule
from daybreak.model.signal_types import PdqSignal, SignalType
from daybreak.plugins import resolve, signal_type, signal_types

META_SCHEMA: dict[str, pl.DataType] = {
    "bank": pl.String(),
    "hash": pl.String(),
    "labels": pl.List(pl.String()),
}
VIDEO_LABEL = "video:"  # a PDQ entry labelled video:<id> is a frame of listed video <id>
# The signal type served by the saved multi-index (``daybreak media index build``, sized
# for millions of hashes); every other distance-matched type gets an in-memory range
# index (``_RangeTable``), every exact type (``index`` None) a dictionary look-up.
INDEXED: type[SignalType] = PdqSignal
# A bank change of at most this many entries is applied by the query that notices it;
# a larger one (an exchange sync's write) in a background thread, while queries go on.
INLINE_ROWS = 10_000
ADD_BLOCK = 16_384  # hashes handed to the live index at a time (its delta stays small)
META_CHUNKS = 64  # the metadata frame is rechunked beyond this many chunks


def match_threshold(bank: Bank, signal: type[SignalType]) -> int:
    """The largest distance at which a listed ``signal`` hash matches in ``bank``.

    A bank's ``threshold`` is set in PDQ bits; another distance-matched type uses its own
    ``default_threshold`` (31 bits mean something else for a 64-bit hash), exact types 0."""
    if signal.exact():
        return 0
    return bank.threshold if signal.name == INDEXED.name else signal.default_threshold


@dataclass(frozen=True)
class _RangeTable:
    """The listed hashes of one distance-matched type other than PDQ, in memory: row
    ``i`` of ``meta`` (bank, hash, labels) is id ``i`` of ``index``."""

    signal: type[SignalType]
    meta: pl.DataFrame
    index: RangeSearch


def _range_types() -> list[type[SignalType]]:
    """Registered distance-matched types served by an in-memory range index."""
    return [st for st in signal_types().values() if not st.exact() and st.name != INDEXED.name]


@dataclass(frozen=True)
class Match:
    query: int  # position of the query in the request
    hash_type: str
    bank: str
    listed_hash: str
    distance: int
    labels: tuple[str, ...]
    status: str  # match | suppressed | quarantined | negative

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "hash_type": self.hash_type,
            "bank": self.bank,
            "listed_hash": self.listed_hash,
            "distance": self.distance,
            "labels": list(self.labels),
            "status": self.status,
        }


class FloodControl:
    """Counts matches per listed hash in a sliding window."""

    def __init__(
        self,
        max_matches: int = 1000,
        window_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_matches = max_matches
        self.window = window_seconds
        self.clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def record(self, key: tuple[str, str]) -> bool:
        """Record one match; True when the hash is now over the limit."""
        now = self.clock()
        seen = self._seen[key]
        seen.append(now)
        while seen and seen[0] < now - self.window:
            seen.popleft()
        return len(seen) > self.max_matches


class MediaMatcher:
    def __init__(
        self,
        store: BankStore,
        index: HashIndex,
        pdq_meta: pl.DataFrame,
        flood: FloodControl | None = None,
        synced: dict[str, int] | None = None,
        applied: dict[str, int] | None = None,
    ) -> None:
        self.store = store
        self.index = index
        # Row i names index id i. Only ever replaced (appended to as chunks), so a
        # search reading it sees every id the index gave it.
        self._meta_frame = pdq_meta
        self._meta_head = pdq_meta.height  # rows before the appended chunks (never rechunked)
        self.flood = flood or FloodControl()
        self._exact: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
        self._lock = threading.RLock()  # writers of the live state; searches never take it
        # entries_version of each bank that the live index reflects
        self._synced: dict[str, int] = dict(synced or {})
        # the last entry part of each bank that the live index reflects
        self._applied: dict[str, int] = dict(applied or {})
        self._catching_up = threading.Lock()  # guards the two below
        self._catcher: threading.Thread | None = None
        self._again = False  # a change arrived while the catcher ran
        for bank in store.banks():
            self._index_exact(bank.name, store.entries(bank.name))
        self._ranged: dict[str, _RangeTable] = {}
        self._build_ranged()

    # -- building and persistence -----------------------------------------------------

    @classmethod
    def build(cls, store: BankStore, flood: FloodControl | None = None) -> MediaMatcher:
        frames, applied = [], {}
        versions = {b.name: b.entries_version for b in store.banks()}
        for bank in store.banks():
            entries, parts = store.segments(bank.name).read()
            applied[bank.name] = _last(parts)
            frames.append(_meta_rows(bank.name, entries))
        meta = pl.concat(frames) if frames else pl.DataFrame(schema=META_SCHEMA)
        hashes = pdq_words(meta["hash"])
        max_d = max([INDEXED.default_threshold] + [b.threshold for b in store.banks()])
        index = HashIndex(default_layout(max_d, hashes.shape[0]), hashes)
        return cls(store, index, meta, flood, versions, applied)

    def save(self, directory: str | Path) -> None:
        path = Path(directory)
        self.index.save(path)
        self._meta().write_parquet(path / "entries.parquet")
        versions = {b.name: b.entries_version for b in self.store.banks()}
        (path / "bank_versions.json").write_text(json.dumps(versions))
        (path / "bank_parts.json").write_text(json.dumps(self._applied))

    @staticmethod
    def is_current(store: BankStore, directory: str | Path) -> bool:
        """True when the saved index was built from the banks' current entries."""
        try:
            saved = json.loads((Path(directory) / "bank_versions.json").read_text())
        except (OSError, ValueError):
            return False
        return bool(saved == {b.name: b.entries_version for b in store.banks()})

    @classmethod
    def load(
        cls,
        store: BankStore,
        directory: str | Path,
        flood: FloodControl | None = None,
        warm_in_background: bool = False,
    ) -> MediaMatcher:
        path = Path(directory)
        index = HashIndex.load(path)
        meta = pl.read_parquet(path / "entries.parquet")
        if meta.height != index.size:
            raise ValueError(
                f"{path}: entries ({meta.height}) and index ({index.size}) "
                "disagree; rebuild with `daybreak media index build`"
            )
        if warm_in_background:  # long-running servers: move the index into RAM
            threading.Thread(target=index.warm, name="daybreak-index-warm", daemon=True).start()
        try:
            saved = json.loads((path / "bank_versions.json").read_text())
        except (OSError, ValueError):
            saved = {}
        try:  # absent (an index saved before parts): the first catch-up diffs whole banks
            applied = json.loads((path / "bank_parts.json").read_text())
        except (OSError, ValueError):
            applied = {}
        matcher = cls(store, index, meta, flood, saved, applied)
        matcher.sync()  # catch up with entries changed since the index was saved
        return matcher

    def _meta(self) -> pl.DataFrame:
        return self._meta_frame

    def _append_meta(self, rows: pl.DataFrame) -> None:
        """Append ``rows`` as a new chunk (no copy of the rows already there); called
        under :attr:`_lock`, before the index gets their hashes. Past
        :data:`META_CHUNKS` appended chunks only those are merged into one (gathers
        slow down with many chunks): rechunking a whole 10 M-row frame took 5.9 s of a
        catch-up (its first append, a loaded frame having a chunk per row group) and
        slowed every query meanwhile. The whole frame is rechunked only when the
        appended rows outnumber the rest (each row copied a bounded number of times)."""
        frame = pl.concat([self._meta_frame, rows], rechunk=False)
        head = frame.slice(0, self._meta_head)
        tail = frame.slice(self._meta_head)
        if tail.height > head.height:
            frame, self._meta_head = frame.rechunk(), frame.height
        elif tail.n_chunks() > META_CHUNKS:
            frame = pl.concat([head, tail.rechunk()], rechunk=False)
        self._meta_frame = frame

    def _index_exact(self, bank: str, entries: pl.DataFrame) -> None:
        exact = [st.name for st in signal_types().values() if st.exact()]
        rows = entries.filter(pl.col("hash_type").is_in(exact))
        for t, h, labels in rows.select("hash_type", "hash", "labels").iter_rows():
            # a bank lists a hash once: its newer entry replaces one applied before
            others = [x for x in self._exact.get((t, h), []) if x[0] != bank]
            self._exact[(t, h)] = [*others, (bank, tuple(labels or ()))]

    def _build_ranged(self, only: Iterable[str] | None = None) -> None:
        """(Re)build the in-memory range index of each distance-matched type other than
        PDQ (``only`` those named) from the banks' current entries. Built-in types have
        none, so this costs nothing unless a plug-in registered one."""
        wanted = [st for st in _range_types() if only is None or st.name in only]
        if not wanted:
            return
        entries = {b.name: self.store.entries(b.name) for b in self.store.banks()}
        tables = dict(self._ranged)
        for st in wanted:
            frames = [
                e.filter(pl.col("hash_type") == st.name).select(
                    pl.lit(bank).alias("bank"), "hash", "labels"
                )
                for bank, e in entries.items()
            ]
            meta = pl.concat(frames) if frames else pl.DataFrame(schema=META_SCHEMA)
            factory = resolve(st.index or "", f"index of hash type {st.name}")
            tables[st.name] = _RangeTable(st, meta, factory(st, meta["hash"].to_list()))
        self._ranged = tables  # one assignment: a concurrent search sees old or new

    # -- live changes (no rebuild) ----------------------------------------------------

    def add_entries(self, bank: str, entries: Iterable[BankEntry]) -> int:
        """Add to the bank and to the live index at once."""
        with self._lock:
            added, _ = self.store.add(bank, list(entries))
            self._sync_bank(self.store.get(bank))
            return added

    def remove_entries(self, bank: str, hashes: Sequence[tuple[str, str]]) -> int:
        with self._lock:
            removed = self.store.remove(bank, hashes)
            self._sync_bank(self.store.get(bank))
            return removed

    def sync(self) -> int:
        """Apply entry changes another process made (``daybreak media bank import`` while
        a server runs, or since the index was saved) to the live index: additions and
        removals, no rebuild. Returns the number of banks brought up to date."""
        changed = 0
        with self._lock:
            for bank in self.store.banks():
                if self._synced.get(bank.name) != bank.entries_version:
                    self._sync_bank(bank)
                    changed += 1
        return changed

    def _sync_bank(self, bank: Bank) -> None:
        """Bring one bank up to date: its parts written since the last one applied, one
        after another (each costs its own rows); the whole bank diffed against the live
        index when they are not known (an index saved before parts, a compaction that
        merged parts not applied yet)."""
        parts = self.store.entry_parts(bank.name)
        done = self._applied.get(bank.name)
        new = [p for p in parts if done is None or p.last > done]
        types: set[str] = set()
        touched: set[str] | None = types
        if done is not None and all(p.first > done for p in new):
            for part in new:
                with timed("catch-up: read part"):
                    rows = self.store.read_entry_parts(bank.name, [part])
                if part.kind == ADD:
                    self._add_live(bank.name, rows)
                else:
                    self._remove_live(bank.name, rows)
                types.update(rows["hash_type"].unique())
        else:
            self._diff_bank(bank.name, self.store.read_entry_parts(bank.name, parts))
            touched = None  # every type
        self._applied[bank.name] = _last(parts)
        self._synced[bank.name] = bank.entries_version
        with timed("catch-up: build ranged"):
            self._build_ranged(only=touched)

    def _add_live(self, bank: str, new: pl.DataFrame) -> None:
        """Hand new entries to the live index in blocks of :data:`ADD_BLOCK`: each block
        is searchable at once, and the index merges its delta in the background. Each
        block's hashes are decoded on their own: one ``bytes.fromhex`` over a million
        held the GIL (every query waited) for ~0.2 s, and building its text ~0.3 s."""
        rows = _meta_rows(bank, new)
        for start in range(0, rows.height, ADD_BLOCK):
            block = rows.slice(start, ADD_BLOCK)
            with timed("catch-up: decode block"):
                hashes = pdq_words(block["hash"])
            # metadata first: a concurrent search must never see an id it cannot name
            with timed("catch-up: append metadata"):
                self._append_meta(block)
            with timed("catch-up: index add"):
                self.index.add(hashes)
        with timed("catch-up: exact hashes"):
            self._index_exact(bank, new)

    def _remove_live(self, bank: str, gone: pl.DataFrame) -> None:
        """Tombstone ``gone``'s (hash_type, hash) keys of ``bank`` in the live index."""
        pdq = gone.filter(pl.col("hash_type") == INDEXED.name)["hash"]
        if pdq.len():
            found = self.index.search(pdq_words(pdq), 0)
            banks = self._meta()["bank"].gather(found.ids).to_numpy()
            self.index.remove(found.ids[banks == bank])
        for t, h in gone.select("hash_type", "hash").iter_rows():
            if (t, h) in self._exact:
                self._exact[(t, h)] = [x for x in self._exact[(t, h)] if x[0] != bank]

    def _diff_bank(self, bank: str, current: pl.DataFrame) -> None:
        """Make the live index list exactly ``current`` for ``bank`` (anti-joins both
        ways against every hash it lists for the bank)."""
        meta = self._meta().with_row_index("id")
        mine = meta.filter(pl.col("bank") == bank)
        live = mine.filter(pl.Series(~self.index.dead[mine["id"].to_numpy()]))
        want = current.filter(pl.col("hash_type") == INDEXED.name)
        gone = live.join(want.select("hash"), on="hash", how="anti")
        self.index.remove(gone["id"].to_numpy())
        new = want.join(live.select("hash"), on="hash", how="anti")
        for key in list(self._exact):
            self._exact[key] = [x for x in self._exact[key] if x[0] != bank]
        self._add_live(bank, new.filter(pl.col("hash_type") == INDEXED.name))
        self._index_exact(bank, current)

    def catch_up(self) -> None:
        """Apply what other processes changed in the banks, as a query does: a small
        change at once, a large one (an exchange sync's write) in a background thread
        that adds it a block at a time while queries go on against what is live."""
        if not self.store.reload_if_changed():
            return
        with self._catching_up:
            if self._catcher is not None:
                self._again = True  # the running catcher takes it too
                return
            if self._pending_rows() > INLINE_ROWS:
                self._catcher = threading.Thread(
                    target=self._catch_up_in_background, name="daybreak-bank-sync", daemon=True
                )
                self._catcher.start()
                return
        self.sync()

    def wait_caught_up(self) -> None:
        """Wait for a background catch-up (if one runs) to finish."""
        catcher = self._catcher
        if catcher is not None:
            catcher.join()

    def _catch_up_in_background(self) -> None:
        try:
            while True:
                self.sync()
                with self._catching_up:
                    if not self._again:
                        return
                    self._again = False
                self.store.reload_if_changed()
        finally:
            with self._catching_up:
                self._catcher = None

    def _pending_rows(self) -> int:
        """Entries written to the banks since the live index last caught up (every
        entry of a bank whose applied parts are not known)."""
        rows = 0
        for bank in self.store.banks():
            if self._synced.get(bank.name) == bank.entries_version:
                continue
            done = self._applied.get(bank.name, -1)
            rows += sum(p.rows for p in self.store.entry_parts(bank.name) if p.last > done)
        return rows

    # -- matching ---------------------------------------------------------------------

    def _banks(self) -> dict[str, Bank]:
        self.catch_up()
        return {b.name: b for b in self.store.banks()}

    def match_pdq(self, hashes: Sequence[str], max_distance: int | None = None) -> list[Match]:
        """PDQ range search; ``max_distance`` further limits every bank's threshold."""
        banks = self._banks()
        found = self.index.search(parse_pdq(hashes))
        raw = _listed_matches(INDEXED, found, self._meta(), banks, max_distance)
        return self._apply_policy(raw, banks)

    def match_distance(
        self, hash_type: str, values: Sequence[str], max_distance: int | None = None
    ) -> list[Match]:
        """Range search for any distance-matched hash type (PDQ or one a plug-in
        registered); ``max_distance`` further limits every bank's threshold."""
        kind = signal_type(hash_type, "query")
        if kind.name == INDEXED.name:
            return self.match_pdq(values, max_distance)
        if kind.exact():
            raise ValueError(f"{kind.name} hashes match exactly: use match_exact")
        banks = self._banks()
        queries = [normalize_hash(kind.name, v, f"query {q}")[1] for q, v in enumerate(values)]
        if kind.name not in self._ranged:  # registered after this matcher was built
            with self._lock:
                self._build_ranged(only={kind.name})
        table = self._ranged[kind.name]
        widest = max((match_threshold(b, kind) for b in banks.values()), default=0)
        found = table.index.search(queries, widest)
        raw = _listed_matches(kind, found, table.meta, banks, max_distance)
        return self._apply_policy(raw, banks)

    def match_exact(self, hash_type: str, values: Sequence[str]) -> list[Match]:
        banks = self._banks()
        raw = []
        for q, value in enumerate(values):
            kind, hexed = normalize_hash(hash_type, value, f"query {q}")
            for bank, labels in self._exact.get((kind, hexed), []):
                info = banks.get(bank)
                if info is not None and info.enabled:
                    raw.append(Match(q, kind, bank, hexed, 0, labels, "match"))
        return self._apply_policy(raw, banks)

    def match(self, queries: Sequence[tuple[str, str]]) -> list[Match]:
        """Mixed (hash_type, value) queries; ``Match.query`` indexes ``queries``."""
        out: list[Match] = []
        by_type: dict[str, list[int]] = defaultdict(list)
        for i, (t, v) in enumerate(queries):
            kind, _ = normalize_hash(t, v, f"query {i}")
            by_type[kind].append(i)
        for kind, positions in by_type.items():
            values = [queries[i][1] for i in positions]
            exact = signal_type(kind).exact()
            got = self.match_exact(kind, values) if exact else self.match_distance(kind, values)
            out += [
                Match(
                    positions[m.query],
                    m.hash_type,
                    m.bank,
                    m.listed_hash,
                    m.distance,
                    m.labels,
                    m.status,
                )
                for m in got
            ]
        return sorted(out, key=lambda m: (m.query, m.status != "match", m.distance, m.bank))

    def _apply_policy(self, raw: list[Match], banks: dict[str, Bank]) -> list[Match]:
        negative_queries = {m.query for m in raw if banks[m.bank].negative}
        quarantined = self.store.quarantined()
        out = []
        for m in raw:
            status = "match"
            if banks[m.bank].negative:
                status = "negative"
            elif m.query in negative_queries:
                status = "suppressed"
            elif (m.bank, m.listed_hash) in quarantined:
                status = "quarantined"
            elif self.flood.record((m.bank, m.listed_hash)):
                self.store.quarantine(
                    m.bank,
                    m.listed_hash,
                    f"more than {self.flood.max_matches} matches in {self.flood.window:.0f} s",
                )
                quarantined.add((m.bank, m.listed_hash))
                status = "quarantined"
            out.append(
                Match(m.query, m.hash_type, m.bank, m.listed_hash, m.distance, m.labels, status)
            )
        return out

    def match_video(
        self, frames: Sequence[FrameHash], rule: VideoMatchRule | None = None
    ) -> list[dict[str, Any]]:
        """Listed videos (entries labelled ``video:<id>``) that the frame list matches."""
        rule = rule or VideoMatchRule()
        usable = [f for f in frames if f.quality >= rule.min_quality]
        if not usable:
            return []
        matches = [
            m
            for m in self.match_pdq([f.pdq for f in usable], rule.frame_distance)
            if m.status == "match"
        ]
        meta = self._meta()
        video_of = meta.with_columns(
            pl.col("labels")
            .list.eval(pl.element().filter(pl.element().str.starts_with(VIDEO_LABEL)))
            .list.first()
            .alias("video")
        )
        sizes = dict(
            video_of.group_by("bank", "video")
            .len()
            .filter(pl.col("video").is_not_null())
            .select(pl.concat_str("bank", "video", separator="|"), "len")
            .iter_rows()
        )
        q_hit: dict[str, set[int]] = defaultdict(set)
        c_hit: dict[str, set[str]] = defaultdict(set)
        for m in matches:
            video = next((lb for lb in m.labels if lb.startswith(VIDEO_LABEL)), None)
            if video is not None:
                key = f"{m.bank}|{video}"
                q_hit[key].add(m.query)
                c_hit[key].add(m.listed_hash)
        out = []
        for key, qs in q_hit.items():
            bank, video = key.split("|", 1)
            q_share = len(qs) / len(usable)
            c_share = len(c_hit[key]) / max(1, int(sizes.get(key, 1)))
            out.append(
                {
                    "bank": bank,
                    "video": video.removeprefix(VIDEO_LABEL),
                    "query_share": round(q_share, 3),
                    "listed_share": round(c_share, 3),
                    "matched": q_share >= rule.query_share and c_share >= rule.listed_share,
                }
            )
        return sorted(out, key=lambda r: (not r["matched"], -r["query_share"]))


def _listed_matches(
    signal: type[SignalType],
    found: Matches,
    meta: pl.DataFrame,
    banks: dict[str, Bank],
    max_distance: int | None,
) -> list[Match]:
    """Raw matches for index hits (ids are rows of ``meta``) within each enabled bank's
    threshold for ``signal``, further limited by ``max_distance``."""
    raw: list[Match] = []
    if not found.ids.size:
        return raw
    # Row by row (~2 µs each): a gather from a frame of several chunks (the live
    # matcher appends its metadata as chunks, a saved one loads a chunk per row group)
    # copied the whole labels column first, ~0.2 s a query at 10 M entries.
    rows = (meta.row(i) for i in found.ids.tolist())
    for q, dist, (bank, listed, labels) in zip(
        found.query.tolist(), found.distance.tolist(), rows, strict=True
    ):
        info = banks.get(bank)
        if info is None or not info.enabled:
            continue
        limit = match_threshold(info, signal)
        if max_distance is not None:
            limit = min(limit, max_distance)
        if dist <= limit:
            raw.append(Match(q, signal.name, bank, listed, dist, tuple(labels or ()), "match"))
    return raw


def _meta_rows(bank: str, entries: pl.DataFrame) -> pl.DataFrame:
    """The metadata rows (bank, hash, labels) of ``entries``' PDQ hashes."""
    pdq = entries.filter(pl.col("hash_type") == INDEXED.name)
    return pdq.select(pl.lit(bank).alias("bank"), "hash", "labels")


def _last(parts: Sequence[Part]) -> int:
    return max((p.last for p in parts), default=0)


def pdq_words(hashes: pl.Series) -> U64:
    """Stored PDQ hashes (64 lowercase hex characters each, as banks keep them) as
    ``(n, 4)`` words, decoded in one ``bytes.fromhex`` over the column (a loop per hash
    took ~1.5 s per million); anything else goes through :func:`parse_pdq`, which names
    the bad hash."""
    if not hashes.len():
        return np.empty((0, 4), dtype=np.uint64)
    if (
        hashes.str.len_bytes().min() != 64
        or hashes.str.len_bytes().max() != 64
        or bool(hashes.str.contains("[^0-9a-f]").any())
    ):
        return parse_pdq(hashes.to_list())
    raw = bytes.fromhex(hashes.str.join("").item())
    return np.frombuffer(raw, dtype=">u8").reshape(-1, 4).astype(np.uint64)


def frames_to_entries(
    video_id: str, frames: Sequence[FrameHash], labels: Sequence[str] = (), min_quality: int = 50
) -> list[BankEntry]:
    """Bank entries for a listed video: one PDQ entry per usable frame."""
    return [
        BankEntry(INDEXED.name, f.pdq, (*labels, f"{VIDEO_LABEL}{video_id}"))
        for f in frames
        if f.quality >= min_quality
    ]
