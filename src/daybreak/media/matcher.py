"""Match hashes against the banks: PDQ range search, MD5/SHA-256 exact, video frame lists.

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

import polars as pl

from daybreak.media.banks import Bank, BankEntry, BankStore, normalize_hash
from daybreak.media.index import HashIndex, default_layout, parse_pdq
from daybreak.media.video import FrameHash, VideoMatchRule
from daybreak.model.signal_types import PdqSignal, SignalType
from daybreak.plugins import signal_type

META_SCHEMA: dict[str, pl.DataType] = {
    "bank": pl.String(),
    "hash": pl.String(),
    "labels": pl.List(pl.String()),
}
VIDEO_LABEL = "video:"  # a PDQ entry labelled video:<id> is a frame of listed video <id>
# The signal type the range index serves; every other registered type is matched
# exactly (its ``index`` is None). A second range-searched type needs its own index here.
INDEXED: type[SignalType] = PdqSignal


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
    ) -> None:
        self.store = store
        self.index = index
        self._meta_parts = [pdq_meta]
        self._meta_cache: pl.DataFrame | None = pdq_meta
        self.flood = flood or FloodControl()
        self._exact: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
        self._lock = threading.RLock()
        # entries_version of each bank that the live index reflects
        self._synced: dict[str, int] = dict(synced or {})
        for bank in store.banks():
            self._index_exact(bank.name, store.entries(bank.name))

    # -- building and persistence -----------------------------------------------------

    @classmethod
    def build(cls, store: BankStore, flood: FloodControl | None = None) -> MediaMatcher:
        frames = []
        for bank in store.banks():
            e = store.entries(bank.name).filter(pl.col("hash_type") == INDEXED.name)
            frames.append(e.select(pl.lit(bank.name).alias("bank"), "hash", "labels"))
        meta = pl.concat(frames) if frames else pl.DataFrame(schema=META_SCHEMA)
        hashes = parse_pdq(meta["hash"].to_list())
        max_d = max([INDEXED.default_threshold] + [b.threshold for b in store.banks()])
        index = HashIndex(default_layout(max_d, hashes.shape[0]), hashes)
        versions = {b.name: b.entries_version for b in store.banks()}
        return cls(store, index, meta, flood, versions)

    def save(self, directory: str | Path) -> None:
        path = Path(directory)
        self.index.save(path)
        self._meta().write_parquet(path / "entries.parquet")
        versions = {b.name: b.entries_version for b in self.store.banks()}
        (path / "bank_versions.json").write_text(json.dumps(versions))

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
        matcher = cls(store, index, meta, flood, saved)
        matcher.sync()  # catch up with entries changed since the index was saved
        return matcher

    def _meta(self) -> pl.DataFrame:
        if self._meta_cache is None:
            self._meta_cache = pl.concat(self._meta_parts).rechunk()
            self._meta_parts = [self._meta_cache]
        return self._meta_cache

    def _index_exact(self, bank: str, entries: pl.DataFrame) -> None:
        rows = entries.filter(pl.col("hash_type") != INDEXED.name)
        for t, h, labels in rows.select("hash_type", "hash", "labels").iter_rows():
            self._exact.setdefault((t, h), []).append((bank, tuple(labels or ())))

    # -- live changes (no rebuild) ----------------------------------------------------

    def add_entries(self, bank: str, entries: Iterable[BankEntry]) -> int:
        """Add to the bank and to the live index at once."""
        with self._lock:
            before = self.store.entries(bank)
            added, _ = self.store.add(bank, list(entries))
            new = self.store.entries(bank).join(
                before.select("hash_type", "hash"), on=["hash_type", "hash"], how="anti"
            )
            self._add_live(bank, new)
            self._synced[bank] = self.store.get(bank).entries_version
            return added

    def remove_entries(self, bank: str, hashes: Sequence[tuple[str, str]]) -> int:
        with self._lock:
            removed = self.store.remove(bank, hashes)
            pdq = [h for t, h in hashes if t == INDEXED.name]
            if pdq:
                found = self.index.search(parse_pdq(pdq), 0)
                banks = self._meta()["bank"].gather(found.ids).to_numpy()
                self.index.remove(found.ids[banks == bank])
            for t, h in hashes:
                if (t, h) in self._exact:
                    self._exact[(t, h)] = [x for x in self._exact[(t, h)] if x[0] != bank]
            self._synced[bank] = self.store.get(bank).entries_version
            return removed

    def _add_live(self, bank: str, new: pl.DataFrame) -> None:
        pdq = new.filter(pl.col("hash_type") == INDEXED.name)
        if pdq.height:
            # metadata first: a concurrent search must never see an id it cannot name
            self._meta_parts.append(pdq.select(pl.lit(bank).alias("bank"), "hash", "labels"))
            self._meta_cache = None
            self._meta()
            self.index.add(parse_pdq(pdq["hash"].to_list()))
        self._index_exact(bank, new)

    def sync(self) -> int:
        """Apply entry changes another process made (``daybreak media bank import`` while
        a server runs, or since the index was saved) to the live index: additions and
        removals, no rebuild. Returns the number of banks brought up to date."""
        changed = 0
        with self._lock:
            for bank in self.store.banks():
                if self._synced.get(bank.name) == bank.entries_version:
                    continue
                current = self.store.entries(bank.name)
                meta = self._meta().with_row_index("id")
                mine = meta.filter(pl.col("bank") == bank.name)
                live = mine.filter(pl.Series(~self.index.dead[mine["id"].to_numpy()]))
                want = current.filter(pl.col("hash_type") == INDEXED.name)
                gone = live.join(want.select("hash"), on="hash", how="anti")
                self.index.remove(gone["id"].to_numpy())
                new = want.join(live.select("hash"), on="hash", how="anti")
                for key in list(self._exact):
                    self._exact[key] = [x for x in self._exact[key] if x[0] != bank.name]
                self._add_live(bank.name, new)
                self._index_exact(bank.name, current.filter(pl.col("hash_type") != INDEXED.name))
                self._synced[bank.name] = bank.entries_version
                changed += 1
        return changed

    # -- matching ---------------------------------------------------------------------

    def _banks(self) -> dict[str, Bank]:
        if self.store.reload_if_changed():
            self.sync()
        return {b.name: b for b in self.store.banks()}

    def match_pdq(self, hashes: Sequence[str], max_distance: int | None = None) -> list[Match]:
        """PDQ range search; ``max_distance`` further limits every bank's threshold."""
        banks = self._banks()
        found = self.index.search(parse_pdq(hashes))
        meta = self._meta()
        raw: list[Match] = []
        if found.ids.size:
            sub = meta[found.ids]
            for q, dist, (bank, listed, labels) in zip(
                found.query.tolist(), found.distance.tolist(), sub.iter_rows(), strict=True
            ):
                info = banks.get(bank)
                limit = info.threshold if info else -1
                if max_distance is not None:
                    limit = min(limit, max_distance)
                if info is None or not info.enabled or dist > limit:
                    continue
                raw.append(Match(q, INDEXED.name, bank, listed, dist, tuple(labels or ()), "match"))
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
            if kind != INDEXED.name and not signal_type(kind).exact():
                raise ValueError(
                    f"query {i}: {kind} hashes are matched by distance, and this matcher "
                    f"range-searches only {INDEXED.name}"
                )
            by_type[kind].append(i)
        for kind, positions in by_type.items():
            values = [queries[i][1] for i in positions]
            got = self.match_pdq(values) if kind == INDEXED.name else self.match_exact(kind, values)
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


def frames_to_entries(
    video_id: str, frames: Sequence[FrameHash], labels: Sequence[str] = (), min_quality: int = 50
) -> list[BankEntry]:
    """Bank entries for a listed video: one PDQ entry per usable frame."""
    return [
        BankEntry(INDEXED.name, f.pdq, (*labels, f"{VIDEO_LABEL}{video_id}"))
        for f in frames
        if f.quality >= min_quality
    ]
