"""A Hamming hash type a plug-in registers (any length) is range-searched by the matcher
without editing it; exact types keep their exact look-up.

The types below are registered through the ``daybreak.signal_types`` entry-point group
for the test only (``extra_entry_points``); the hashes are generated bit strings."""

from __future__ import annotations

import random
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from daybreak import plugins
from daybreak.media.banks import BankEntry, BankStore
from daybreak.media.hamming import HammingScan, pack_hex
from daybreak.media.matcher import MediaMatcher, match_threshold
from daybreak.model.signal_types import HammingSignalType, SignalType


class Test64Signal(HammingSignalType):
    name = "test64"
    label = "Test hash (64-bit perceptual)"
    aliases = ("test-64",)
    hex_length = 16
    default_threshold = 6


class Test256Signal(HammingSignalType):
    name = "test256"
    label = "Test hash (256-bit perceptual)"
    hex_length = 64
    default_threshold = 20


class Test36Signal(HammingSignalType):
    """A length that is not a whole number of 64-bit words."""

    name = "test36"
    label = "Test hash (36-bit perceptual)"
    hex_length = 9
    default_threshold = 3


TYPES: tuple[type[SignalType], ...] = (Test64Signal, Test256Signal, Test36Signal)
MD5 = "d35c785545392755e7e4164457657269"


@pytest.fixture
def registered(extra_entry_points: list[EntryPoint]) -> None:
    for st in TYPES:
        extra_entry_points.append(
            EntryPoint(st.name, f"{__name__}:{st.__name__}", plugins.SIGNAL_TYPES)
        )
    plugins.refresh()
    assert list(plugins.signal_types())[3:] == sorted(st.name for st in TYPES)


def random_hash(bits: int, rng: random.Random) -> str:
    return format(rng.getrandbits(bits), f"0{bits // 4}x")


def flip(value: str, count: int, rng: random.Random) -> str:
    """``value`` with exactly ``count`` distinct bits flipped."""
    bits = len(value) * 4
    n = int(value, 16)
    for bit in rng.sample(range(bits), count):
        n ^= 1 << bit
    return format(n, f"0{len(value)}x")


def test_pack_hex_keeps_distances_for_any_length() -> None:
    rng = random.Random(3)
    for hex_length in (9, 16, 40, 64, 72):
        a, b = (random_hash(hex_length * 4, rng) for _ in range(2))
        words = pack_hex([a, b], hex_length)
        assert words.shape == (2, -(-hex_length // 16))
        expected = (int(a, 16) ^ int(b, 16)).bit_count()
        assert int(sum(int(x).bit_count() for x in words[0] ^ words[1])) == expected
    with pytest.raises(ValueError, match="hash #1 'abc': expected 16 hexadecimal"):
        pack_hex(["0" * 16, "abc"], 16)
    with pytest.raises(ValueError, match="not hexadecimal"):
        pack_hex(["z" * 16], 16)


def test_scan_finds_exactly_the_hashes_within_the_distance() -> None:
    rng = random.Random(11)
    listed = [random_hash(64, rng) for _ in range(300)]
    queries = [flip(rng.choice(listed), rng.randrange(0, 12), rng) for _ in range(80)]
    queries += [random_hash(64, rng) for _ in range(20)]
    found = HammingScan(Test64Signal, listed).search(queries, 6)
    got = set(zip(found.query.tolist(), found.ids.tolist(), found.distance.tolist(), strict=True))
    want = {
        (q, i, Test64Signal.distance(query, hashed))
        for q, query in enumerate(queries)
        for i, hashed in enumerate(listed)
        if Test64Signal.distance(query, hashed) <= 6
    }
    assert got == want and len(want) > 40  # the near-duplicates up to 6 bits were found
    order = list(zip(found.query.tolist(), found.distance.tolist(), strict=True))
    assert order == sorted(order)


@pytest.mark.usefixtures("registered")
def test_a_registered_hamming_type_is_matched_by_distance(tmp_path: Path) -> None:
    rng = random.Random(7)
    listed = {st.name: [random_hash(st.hex_length * 4, rng) for _ in range(40)] for st in TYPES}
    store = BankStore(tmp_path / "banks")
    store.create("known")  # threshold 31: PDQ bits, not applied to other types
    store.add(
        "known",
        [BankEntry(t, h, (f"{t}-{i}",)) for t, hs in listed.items() for i, h in enumerate(hs)],
    )
    store.add("known", [BankEntry("md5", MD5, ("exact",))])
    matcher = MediaMatcher.build(store)
    bank = store.get("known")
    for st in TYPES:
        assert match_threshold(bank, st) == st.default_threshold
        hashes = listed[st.name]
        within = flip(hashes[3], st.default_threshold, rng)
        beyond = flip(hashes[5], st.default_threshold + 1, rng)
        got = matcher.match([(st.name, within), (st.name, beyond), (st.name, hashes[9].upper())])
        assert [(m.query, m.listed_hash, m.distance, m.labels) for m in got] == [
            (0, hashes[3], st.default_threshold, (f"{st.name}-3",)),
            (2, hashes[9], 0, (f"{st.name}-9",)),
        ]
        limited = matcher.match_distance(st.name, [within], max_distance=1)
        assert limited == []
    assert [m.listed_hash for m in matcher.match([("test-64", listed["test64"][0])])] == [
        listed["test64"][0]
    ]  # aliases are accepted


@pytest.mark.usefixtures("registered")
def test_exact_types_keep_exact_lookup_beside_a_hamming_type(tmp_path: Path) -> None:
    store = BankStore(tmp_path / "banks")
    store.create("known")
    one_bit_off = MD5[:-1] + "8"  # ...9 -> ...8: one bit apart
    store.add("known", [BankEntry("md5", MD5, ("exact",)), BankEntry("test64", "0" * 16)])
    matcher = MediaMatcher.build(store)
    got = matcher.match([("md5", MD5.upper()), ("md5", one_bit_off), ("test64", "0" * 15 + "1")])
    assert [(m.query, m.hash_type, m.distance) for m in got] == [(0, "md5", 0), (2, "test64", 1)]
    with pytest.raises(ValueError, match="md5 hashes match exactly"):
        matcher.match_distance("md5", [MD5])


@pytest.mark.usefixtures("registered")
def test_live_changes_reach_a_registered_hamming_type(tmp_path: Path) -> None:
    rng = random.Random(5)
    first, second = random_hash(64, rng), random_hash(64, rng)
    store = BankStore(tmp_path / "banks")
    store.create("known")
    store.create("off")
    matcher = MediaMatcher.build(store)
    assert matcher.match([("test64", first)]) == []
    assert matcher.add_entries("known", [BankEntry("test64", first, ("added",))]) == 1
    assert [m.labels for m in matcher.match([("test64", flip(first, 2, rng))])] == [("added",)]
    matcher.remove_entries("known", [("test64", first)])
    assert matcher.match([("test64", first)]) == []
    other_process = BankStore(tmp_path / "banks")  # e.g. `daybreak media bank import`
    other_process.add("known", [BankEntry("test64", second, ("late",))])
    other_process.add("off", [BankEntry("test64", second, ("disabled",))])
    other_process.update("off", enabled=False)
    assert [(m.bank, m.labels) for m in matcher.match([("test64", second)])] == [
        ("known", ("late",))
    ]
