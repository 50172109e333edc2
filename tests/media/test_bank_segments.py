"""A bank's entries as appended parts: each write adds the change only; reading is the
union of the parts minus later tombstones; crashes, re-adds, legacy files, compaction."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from daybreak.media import bank_segments, banks
from daybreak.media import matcher as matcher_module
from daybreak.media.bank_segments import ADD, DIGESTS, MANIFEST, REMOVE, BankSegments, Part
from daybreak.media.banks import ENTRY_SCHEMA, BankEntry, BankStore
from daybreak.media.matcher import MediaMatcher

RNG = random.Random(17)
PDQ = ["".join(RNG.choice("0123456789abcdef") for _ in range(64)) for _ in range(12)]


def pdq(*indexes: int, label: str = "x") -> list[BankEntry]:
    return [BankEntry("pdq", PDQ[i], (label,)) for i in indexes]


def listed(store: BankStore, name: str = "b") -> list[str]:
    return store.entries(name)["hash"].to_list()


def test_each_write_appends_only_its_change_and_reads_see_the_union(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    assert store.add("b", pdq(0, 1, 2)) == (3, 0)
    assert store.add("b", pdq(2, 3, 3)) == (1, 2)  # 2 listed, 3 given twice
    assert store.remove("b", [("pdq", PDQ[1]), ("pdq", PDQ[9])]) == 1
    parts = store.entry_parts("b")
    assert [(p.kind, p.first, p.rows) for p in parts] == [(ADD, 1, 3), (ADD, 2, 1), (REMOVE, 3, 1)]
    assert listed(store) == [PDQ[0], PDQ[2], PDQ[3]]
    assert store.get("b").count == 3
    # the second part holds the one new entry only, with its own labels and time
    second = store.read_entry_parts("b", parts[1:2])
    assert second["hash"].to_list() == [PDQ[3]] and second["labels"].to_list() == [["x"]]
    assert store.read_entry_parts("b", parts[2:])["hash"].to_list() == [PDQ[1]]


def test_a_removed_hash_added_again_is_listed_again_and_removed_again(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1))
    store.remove("b", [("pdq", PDQ[0])])
    assert store.add("b", pdq(0, label="again")) == (1, 0)
    got = store.entries("b")
    assert got["hash"].to_list() == [PDQ[1], PDQ[0]]
    assert got["labels"].to_list() == [["x"], ["again"]]
    assert store.remove("b", [("pdq", PDQ[0])]) == 1
    assert listed(store) == [PDQ[1]] and store.get("b").count == 1
    assert store.remove("b", [("pdq", PDQ[0])]) == 0  # not listed any more


def test_a_crash_between_part_and_manifest_loses_nothing_and_doubles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1))
    real = BankSegments._write_manifest

    def crash(self: BankSegments, parts: object) -> None:
        raise OSError("killed before the manifest")

    monkeypatch.setattr(BankSegments, "_write_manifest", crash)
    with pytest.raises(OSError, match="killed"):
        store.add("b", pdq(1, 2, 3))
    monkeypatch.setattr(BankSegments, "_write_manifest", real)
    folder = tmp_path / "entries" / "b"
    orphan = folder / "00000002.add.parquet"
    assert orphan.exists()  # the part was written, never committed
    reader = BankStore(tmp_path)  # another process: what was committed, nothing more
    assert listed(reader) == [PDQ[0], PDQ[1]]
    # the sync that retries adds them once; the orphan's number is reused, not read twice
    assert reader.add("b", pdq(1, 2, 3)) == (2, 1)
    assert listed(reader) == [PDQ[0], PDQ[1], PDQ[2], PDQ[3]]
    assert pl.read_parquet(orphan)["hash"].to_list() == [PDQ[2], PDQ[3]]
    assert reader.compact("b") == 2
    assert sorted(p.name for p in folder.iterdir()) == [
        "00000001-00000002.add.parquet",
        "00000001-00000002.add.parquet" + DIGESTS,
        MANIFEST,
    ]
    assert listed(BankStore(tmp_path)) == [PDQ[0], PDQ[1], PDQ[2], PDQ[3]]


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The part files whose key rows a deduplication reads, recorded."""
    seen: list[str] = []
    real = BankSegments._read_matching

    def spy(self: BankSegments, part: Part, keys: pl.DataFrame) -> pl.DataFrame:
        seen.append(part.file)
        return real(self, part, keys)

    monkeypatch.setattr(BankSegments, "_read_matching", spy)
    return seen


def test_adding_new_hashes_reads_no_listed_keys_and_a_listed_one_only_its_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1, 2))
    store.add("b", pdq(3, 4))
    reads = _reads(monkeypatch)
    assert store.add("b", pdq(5, 6)) == (2, 0)
    assert reads == []  # no digest hit: nothing read
    assert store.add("b", pdq(4, 7)) == (1, 1)
    assert reads == ["00000002.add.parquet"]  # the one part that lists PDQ[4]
    assert store.remove("b", [("pdq", PDQ[8]), ("pdq", PDQ[1])]) == 1
    assert reads[1:] == ["00000001.add.parquet"]
    assert listed(store) == [PDQ[0], PDQ[2], PDQ[3], PDQ[4], PDQ[5], PDQ[6], PDQ[7]]
    assert store.get("b").count == 7


@pytest.mark.parametrize("colliding", [False, True])
def test_deduplication_by_digests_agrees_with_a_set_over_random_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, colliding: bool
) -> None:
    if colliding:  # every key the same digest: each hit must be checked against the rows
        monkeypatch.setattr(
            bank_segments, "key_digests", lambda frame: np.zeros(frame.height, dtype=np.uint64)
        )
    rng = random.Random(5 if colliding else 6)
    store = BankStore(tmp_path)
    store.create("b")
    model: set[str] = set()
    for _ in range(40):
        chosen = [rng.randrange(len(PDQ)) for _ in range(rng.randint(1, 5))]
        if rng.random() < 0.6:
            fresh = {PDQ[i] for i in chosen} - model
            assert store.add("b", pdq(*chosen)) == (len(fresh), len(chosen) - len(fresh))
            model |= fresh
        else:
            gone = {PDQ[i] for i in chosen} & model
            assert store.remove("b", [("pdq", PDQ[i]) for i in chosen]) == len(gone)
            model -= gone
        assert sorted(listed(store)) == sorted(model)
        assert store.get("b").count == len(model)


def test_missing_or_stale_digests_are_computed_again_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1, 2))
    folder = tmp_path / "entries" / "b"
    kept = folder / ("00000001.add.parquet" + DIGESTS)
    right = np.load(kept)
    kept.unlink()  # a part written before digests
    assert store.add("b", pdq(2, 3)) == (1, 1)
    assert np.array_equal(np.load(kept), right)
    np.save(kept, right[:2])  # not the part's rows: not trusted
    assert store.add("b", pdq(1, 4)) == (1, 1)
    assert np.array_equal(np.load(kept), right)


def test_an_old_single_file_bank_is_read_and_migrated_on_its_first_write(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    old = pl.DataFrame(
        {
            "hash_type": ["pdq", "pdq"],
            "hash": [PDQ[0], PDQ[1]],
            "labels": [["old"], []],
            "added_at": [None, None],
        },
        schema=ENTRY_SCHEMA,
    )
    legacy = tmp_path / "entries" / "b.parquet"
    legacy.parent.mkdir(parents=True)
    old.write_parquet(legacy)  # as banks were written before parts
    assert listed(store) == [PDQ[0], PDQ[1]]
    assert [(p.first, p.file) for p in store.entry_parts("b")] == [(0, "../b.parquet")]
    assert store.add("b", pdq(1, 2)) == (1, 1)
    assert store.remove("b", [("pdq", PDQ[0])]) == 1
    assert [p.first for p in store.entry_parts("b")] == [0, 1, 2]
    assert listed(store) == [PDQ[1], PDQ[2]]
    store.compact("b")
    assert not legacy.exists()
    got = store.entries("b")
    assert got["hash"].to_list() == [PDQ[1], PDQ[2]]
    assert got["labels"].to_list() == [[], ["x"]]


def test_many_writes_compact_into_one_part_with_the_same_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(banks, "MAX_PARTS", 4)
    store = BankStore(tmp_path)
    store.create("b")
    expected: list[str] = []
    for i in range(6):
        store.add("b", pdq(i, i + 6))
        expected += [PDQ[i], PDQ[i + 6]]
        if i % 2:
            store.remove("b", [("pdq", PDQ[i])])
            expected.remove(PDQ[i])
        assert listed(store) == expected
        assert len(store.entry_parts("b")) <= 4
    parts = store.entry_parts("b")
    assert parts[0].first == 1 and parts[-1].last == 9  # numbers keep counting
    assert store.get("b").count == len(expected)


def test_a_damaged_manifest_is_named(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0))
    (tmp_path / "entries" / "b" / MANIFEST).write_text("{not json")
    with pytest.raises(bank_segments.SegmentError, match=r"b/manifest.json: not a bank manifest"):
        store.entries("b")


# -- the live matcher catching up part by part -------------------------------------------


def _server(tmp_path: Path) -> MediaMatcher:
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1, 2))
    return MediaMatcher.build(store)


def test_the_live_matcher_reads_only_the_parts_written_since_it_caught_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(tmp_path)
    cli = BankStore(tmp_path)  # another process
    cli.add("b", pdq(3, 4))
    cli.remove("b", [("pdq", PDQ[0])])
    cli.add("b", pdq(0, label="again"))
    read: list[int] = []
    real = BankStore.read_entry_parts

    def counted(self: BankStore, name: str, parts: Sequence[Part]) -> pl.DataFrame:
        rows = real(self, name, parts)
        read.append(rows.height)
        return rows

    monkeypatch.setattr(BankStore, "read_entry_parts", counted)
    monkeypatch.setattr(MediaMatcher, "_diff_bank", None)  # a whole-bank diff would fail
    got = server.match([("pdq", PDQ[i]) for i in (0, 1, 3, 4)])
    assert [(m.query, m.labels) for m in got] == [
        (0, ("again",)),
        (1, ("x",)),
        (2, ("x",)),
        (3, ("x",)),
    ]
    assert read == [2, 1, 1]  # the three new parts, not the bank
    assert server.index.size == 6 and len(server.index) == 5  # PDQ[0]'s old id is dead
    assert server._meta().height == 6 and server._meta().n_chunks() > 1  # appended, not copied


def test_a_large_change_is_caught_up_in_the_background_while_queries_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = _server(tmp_path)
    monkeypatch.setattr(matcher_module, "INLINE_ROWS", 2)
    monkeypatch.setattr(matcher_module, "ADD_BLOCK", 2)
    release = threading.Event()
    real = MediaMatcher._add_live

    def slow(self: MediaMatcher, bank: str, new: pl.DataFrame) -> None:
        assert release.wait(30)
        real(self, bank, new)

    monkeypatch.setattr(MediaMatcher, "_add_live", slow)
    BankStore(tmp_path).add("b", pdq(5, 6, 7, 8, 9))  # more than INLINE_ROWS
    # the query that notices the change answers from what is live, without waiting
    assert [m.listed_hash for m in server.match_pdq([PDQ[1], PDQ[7]], 0)] == [PDQ[1]]
    release.set()
    server.wait_caught_up()
    got = server.match_pdq([PDQ[i] for i in (5, 6, 7, 8, 9)], 0)
    assert [m.query for m in got] == [0, 1, 2, 3, 4]


def test_a_large_part_is_decoded_a_block_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes reach the live index decoded one block at a time: decoding a whole large
    part in one call holds the GIL (every query waits) for as long as it takes."""
    server = _server(tmp_path)
    monkeypatch.setattr(matcher_module, "ADD_BLOCK", 2)
    decoded: list[int] = []
    real = matcher_module.pdq_words

    def counted(hashes: pl.Series) -> matcher_module.U64:
        decoded.append(hashes.len())
        return real(hashes)

    monkeypatch.setattr(matcher_module, "pdq_words", counted)
    BankStore(tmp_path).add("b", pdq(5, 6, 7, 8, 9))
    server.catch_up()  # inline: fewer than INLINE_ROWS
    assert decoded == [2, 2, 1]
    got = server.match_pdq([PDQ[i] for i in (5, 6, 7, 8, 9)], 0)
    assert [m.query for m in got] == [0, 1, 2, 3, 4]


def test_parts_compacted_before_the_matcher_applied_them_are_diffed_whole(
    tmp_path: Path,
) -> None:
    server = _server(tmp_path)
    cli = BankStore(tmp_path)
    cli.add("b", pdq(3))
    cli.remove("b", [("pdq", PDQ[1])])
    cli.compact("b")  # parts 2 and 3 are gone into one part 1..3
    got = server.match_pdq([PDQ[i] for i in (0, 1, 2, 3)], 0)
    assert [m.query for m in got] == [0, 2, 3]
    cli.add("b", pdq(4))  # and from there on part by part again
    assert [m.query for m in server.match_pdq([PDQ[4]], 0)] == [0]


def test_appended_metadata_is_merged_without_copying_the_rows_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past META_CHUNKS appended chunks only the appended rows are merged: the rows
    the matcher started with (a loaded frame, a chunk per row group) keep their
    chunks, and every row still names its index id."""
    monkeypatch.setattr(matcher_module, "META_CHUNKS", 2)
    monkeypatch.setattr(matcher_module, "ADD_BLOCK", 1)  # a chunk per added hash
    store = BankStore(tmp_path)
    store.create("b")
    store.add("b", pdq(0, 1, 2, 3))
    server = MediaMatcher.build(store)
    loaded = server._meta()
    server._meta_frame = pl.concat([loaded.slice(0, 2), loaded.slice(2, 2)], rechunk=False)
    server.add_entries("b", pdq(4, 5, 6))  # the third appended chunk merges the three
    assert server._meta().n_chunks() == 3
    assert server._meta().slice(0, 4).n_chunks() == 2  # the loaded rows not copied
    assert server._meta()["hash"].to_list() == PDQ[:7]
    server.add_entries("b", pdq(7, 8))  # appended rows now outnumber the rest: all merged
    assert server._meta().n_chunks() == 1 and server._meta()["hash"].to_list() == PDQ[:9]
    assert [m.query for m in server.match([("pdq", PDQ[i]) for i in (0, 5, 8)])] == [0, 1, 2]
