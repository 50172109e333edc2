"""Hash lists: import formats, settings, versions, negative banks, flood control, live changes."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from daybreak.media.banks import BankEntry, BankError, BankStore, parse_hash_list
from daybreak.media.matcher import FloodControl, MediaMatcher
from daybreak.media.sightings import near_duplicate

RNG = random.Random(5)
PDQ = ["".join(RNG.choice("0123456789abcdef") for _ in range(64)) for _ in range(6)]
MD5 = "d35c785545392755e7e4164457657269"
SHA = "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_jsonl_and_threatexchange_formats(tmp_path: Path) -> None:
    csv_file = write(
        tmp_path / "l.csv",
        f"hash,type,list,labels\n{PDQ[0]},pdq,ncmec,a b\n"
        f"{MD5.upper()},md5,ncmec,\n{SHA},sha256,iwf,x;y\n",
    )
    entries, neg = parse_hash_list(csv_file)
    assert [(e.hash_type, e.bank, e.labels) for e in entries] == [
        ("pdq", "ncmec", ("a", "b")),
        ("md5", "ncmec", ()),
        ("sha256", "iwf", ("x", "y")),
    ]
    assert entries[1].hash == MD5 and neg == 0
    jsonl = write(
        tmp_path / "l.jsonl", json.dumps({"hash": PDQ[1], "type": "pdq", "labels": ["p"]}) + "\n\n"
    )
    assert parse_hash_list(jsonl)[0] == [BankEntry("pdq", PDQ[1], ("p",))]
    te = write(tmp_path / "signals.txt", f"pdq {PDQ[2]}\nvideo_md5 {MD5}\n# comment\n")
    got = parse_hash_list(te)[0]
    assert [(e.hash_type, e.hash) for e in got] == [("pdq", PDQ[2]), ("md5", MD5)]
    bare = write(tmp_path / "bare.txt", f"{PDQ[3]}\n")
    assert parse_hash_list(bare, default_type="pdq")[0][0].hash == PDQ[3]
    # python-threatexchange `dataset -P` output: type, hash, collab, metadata
    printed = write(tmp_path / "p.txt", f"pdq {PDQ[4]} 'Sample Collab' FetchedSignalMetadata()\n")
    assert parse_hash_list(printed)[0][0].hash == PDQ[4]
    # python-threatexchange `dataset -P --csv`
    te_csv = write(
        tmp_path / "te.csv",
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{PDQ[0]},c,POSITIVE_CLASS,t1 t2\npdq,{PDQ[1]},c,NEGATIVE_CLASS,\n",
    )
    entries, neg = parse_hash_list(te_csv)
    assert [(e.hash, e.bank, e.labels) for e in entries] == [(PDQ[0], "c", ("t1", "t2"))]
    assert neg == 1


def test_bad_rows_name_the_line_and_import_nothing(tmp_path: Path) -> None:
    store = BankStore(tmp_path / "banks")
    bad = write(tmp_path / "bad.csv", f"hash,type\n{PDQ[0]},pdq\nnot-a-hash,pdq\n{MD5},sha1\n")
    with pytest.raises(BankError) as exc:
        store.import_file(bad, "b")
    assert "bad.csv:3" in str(exc.value) and "64 hexadecimal" in str(exc.value)
    assert "bad.csv:4" in str(exc.value) and "unsupported hash type 'sha1'" in str(exc.value)
    assert store.banks() == []
    with pytest.raises(BankError, match="bare hash without a type"):
        parse_hash_list(write(tmp_path / "t.txt", f"{PDQ[0]}\n"))
    with pytest.raises(BankError, match="not valid JSON"):
        parse_hash_list(write(tmp_path / "j.jsonl", '{"hash": \n'))
    with pytest.raises(BankError, match="no list name"):
        store.import_file(write(tmp_path / "n.csv", f"hash,type\n{PDQ[0]},pdq\n"))
    with pytest.raises(BankError, match="bank name"):
        store.create("../escape")


def test_settings_versions_and_history(tmp_path: Path) -> None:
    store = BankStore(tmp_path)
    store.create("ncmec", source="NCMEC hash sharing", threshold=25)
    f = write(tmp_path / "l.csv", f"hash,type\n{PDQ[0]},pdq\n{PDQ[0]},pdq\n{MD5},md5\n")
    report = store.import_file(f, "ncmec")
    assert report.added == {"ncmec": 2}
    assert store.import_file(f, "ncmec").duplicates == 3  # re-import adds nothing
    store.update("ncmec", enabled=False)
    again = BankStore(tmp_path)  # persisted
    bank = again.get("ncmec")
    assert (bank.enabled, bank.threshold, bank.count, bank.source) == (
        False,
        25,
        2,
        "NCMEC hash sharing",
    )
    assert bank.version == 4 and bank.entries_version == 2
    assert [h["action"] for h in again.history("ncmec")] == [
        "create",
        "add",
        "add",
        "update enabled",
    ]
    assert again.remove("ncmec", [("md5", MD5)]) == 1
    with pytest.raises(BankError, match="no bank named 'nope'"):
        again.get("nope")
    with pytest.raises(BankError, match="cannot change"):
        again.update("ncmec", version=9)


def _store(tmp_path: Path) -> BankStore:
    store = BankStore(tmp_path / "banks")
    store.create("known", source="test")
    store.add(
        "known",
        [
            BankEntry("pdq", PDQ[0], ("l1",)),
            BankEntry("pdq", PDQ[1]),
            BankEntry("md5", MD5, ("exact",)),
        ],
    )
    store.create("strict", threshold=5)
    store.add("strict", [BankEntry("pdq", PDQ[2])])
    return store


def test_matching_thresholds_enable_disable_and_exact(tmp_path: Path) -> None:
    store = _store(tmp_path)
    matcher = MediaMatcher.build(store)
    rng = random.Random(1)
    q = [
        near_duplicate(PDQ[0], 31, rng),
        near_duplicate(PDQ[0], 32, rng),
        near_duplicate(PDQ[2], 5, rng),
        near_duplicate(PDQ[2], 6, rng),
    ]
    got = {(m.query, m.bank, m.distance) for m in matcher.match_pdq(q)}
    assert got == {(0, "known", 31), (2, "strict", 5)}
    exact = matcher.match([("md5", MD5.upper()), ("sha256", SHA)])
    assert [(m.query, m.bank, m.labels) for m in exact] == [(0, "known", ("exact",))]
    store.update("known", enabled=False)  # takes effect without a rebuild
    assert {m.bank for m in matcher.match_pdq(q)} == {"strict"}
    with pytest.raises(BankError, match="query 1"):
        matcher.match([("pdq", PDQ[0]), ("pdq", "zz")])


def test_live_add_remove_and_saved_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    matcher = MediaMatcher.build(store)
    new = near_duplicate(PDQ[3], 0, random.Random(2))
    assert matcher.match_pdq([new]) == []
    assert matcher.add_entries("known", [BankEntry("pdq", new, ("added",))]) == 1
    assert [m.labels for m in matcher.match_pdq([new])] == [("added",)]
    matcher.remove_entries("known", [("pdq", PDQ[0])])
    assert matcher.match_pdq([PDQ[0]]) == []
    assert store.entries("known").height == 3
    matcher.save(tmp_path / "index")
    assert MediaMatcher.is_current(store, tmp_path / "index")
    loaded = MediaMatcher.load(store, tmp_path / "index")
    assert [m.labels for m in loaded.match_pdq([new])] == [("added",)]
    assert loaded.match_pdq([PDQ[0]]) == []
    store.add("known", [BankEntry("pdq", PDQ[5])])
    assert not MediaMatcher.is_current(store, tmp_path / "index")


def test_negative_bank_suppresses_matches(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.create("false-positives", negative=True, threshold=10)
    store.add("false-positives", [BankEntry("pdq", PDQ[1], ("benign meme",))])
    matcher = MediaMatcher.build(store)
    statuses = {(m.bank, m.status) for m in matcher.match_pdq([PDQ[1], PDQ[0]]) if m.query == 0}
    assert statuses == {("known", "suppressed"), ("false-positives", "negative")}
    assert [m.status for m in matcher.match_pdq([PDQ[0]])] == ["match"]


def test_flood_control_quarantines_a_hash_that_matches_too_much(tmp_path: Path) -> None:
    store = _store(tmp_path)
    now = [0.0]
    matcher = MediaMatcher.build(
        store, FloodControl(max_matches=3, window_seconds=60, clock=lambda: now[0])
    )
    statuses = [matcher.match_pdq([PDQ[0]])[0].status for _ in range(5)]
    assert statuses == ["match"] * 3 + ["quarantined"] * 2
    assert ("known", PDQ[0]) in BankStore(tmp_path / "banks").quarantined()  # persisted
    assert matcher.match_pdq([PDQ[1]])[0].status == "match"  # other hashes unaffected
    assert store.release("known", PDQ[0])
    now[0] = 1000.0  # window has passed
    assert matcher.match_pdq([PDQ[0]])[0].status == "match"


def test_changes_by_another_process_reach_the_live_index(tmp_path: Path) -> None:
    store = _store(tmp_path)
    server = MediaMatcher.build(store)  # e.g. the API server's matcher
    server.save(tmp_path / "index")
    cli = BankStore(tmp_path / "banks")  # e.g. `daybreak media bank import` meanwhile
    cli.add("known", [BankEntry("pdq", PDQ[4], ("late",)), BankEntry("sha256", SHA)])
    cli.remove("known", [("pdq", PDQ[1])])
    time.sleep(0.01)
    got = server.match([("pdq", PDQ[4]), ("sha256", SHA), ("pdq", PDQ[1])])
    assert [(m.query, m.bank) for m in got] == [(0, "known"), (1, "known")]
    # a saved index that is older than the banks catches up when loaded
    stale = MediaMatcher.load(BankStore(tmp_path / "banks"), tmp_path / "index")
    assert not MediaMatcher.is_current(stale.store, tmp_path / "index")
    got = stale.match([("pdq", PDQ[4]), ("sha256", SHA), ("pdq", PDQ[1]), ("pdq", PDQ[0])])
    assert [m.query for m in got] == [0, 1, 3]
