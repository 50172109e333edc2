"""A bank's entries as appended parts: each write adds the change only; reading is the
union of the parts minus later tombstones; crashes, re-adds, legacy files, compaction."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from daybreak.media import bank_segments, banks
from daybreak.media.bank_segments import ADD, MANIFEST, REMOVE, BankSegments
from daybreak.media.banks import ENTRY_SCHEMA, BankEntry, BankStore

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
        MANIFEST,
    ]
    assert listed(BankStore(tmp_path)) == [PDQ[0], PDQ[1], PDQ[2], PDQ[3]]


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
