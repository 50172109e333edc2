"""The PDQ index returns exactly the hashes a linear scan returns (random and clustered)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daybreak.media.index import (
    Chunk,
    HashFormatError,
    HashIndex,
    chunk_keys,
    default_layout,
    format_pdq,
    hamming,
    layout_max_distance,
    make_layout,
    parse_pdq,
)

LAYOUTS = {
    "16x16 r1": make_layout([(16, 1)] * 16),
    "32x8 r0": make_layout([(8, 0)] * 32),
    "mixed": make_layout([(8, 0)] * 16 + [(16, 1)] * 8),
    "13-bit crossing words": make_layout([(13, 1)] * 19 + [(9, 0)]),
}


def flip(words: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = words.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


def random_hashes(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)


def clustered(n_centres: int, per: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Clusters of near-duplicates at distances 0..40 (incl. exactly 31 and 32) around
    centres; returns (hashes, centres)."""
    centres = random_hashes(n_centres, rng)
    rows = []
    for c in centres:
        for d in [0, 1, 5, 15, 30, 31, 31, 32, 32, 33, 40][:per]:
            rows.append(flip(c, d, rng))
    return np.array(rows, dtype=np.uint64), centres


def brute(hashes: np.ndarray, queries: np.ndarray, d: int) -> set[tuple[int, int, int]]:
    dist = hamming(queries[:, None, :], hashes[None, :, :])
    q, i = np.nonzero(dist <= d)
    return {(int(a), int(b), int(dist[a, b])) for a, b in zip(q, i, strict=True)}


def found(index: HashIndex, queries: np.ndarray, d: int) -> set[tuple[int, int, int]]:
    m = index.search(queries, d)
    got = list(zip(m.query.tolist(), m.ids.tolist(), m.distance.tolist(), strict=True))
    assert len(got) == len(set(got)), "duplicate results"
    return set(got)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_exact_recall_random_and_clustered(name: str) -> None:
    rng = np.random.default_rng(7)
    layout = LAYOUTS[name]
    assert layout_max_distance(layout) >= 31
    cl, centres = clustered(60, 11, rng)
    hashes = np.concatenate([random_hashes(3000, rng), cl])
    index = HashIndex(layout, hashes)
    # queries: the centres, near-duplicates of listed hashes at 0..34 bits, random ones
    near = np.array(
        [
            flip(hashes[int(rng.integers(len(hashes)))], int(k), rng)
            for k in rng.integers(0, 35, 150)
        ]
    )
    queries = np.concatenate([centres, near, random_hashes(50, rng)])
    for d in (31, 20, 0):
        expected = brute(hashes, queries, d)
        assert found(index, queries, d) == expected
    # the cluster members at exactly 31 bits are found, those at 32 are not
    dists = {r[2] for r in brute(hashes, centres, 31)}
    assert 31 in dists and 32 not in dists
    assert 32 in {r[2] for r in brute(hashes, centres, 40)}


def test_larger_threshold_layout_is_exact() -> None:
    rng = np.random.default_rng(3)
    layout = default_layout(40)
    assert layout_max_distance(layout) >= 40
    cl, centres = clustered(40, 11, rng)
    index = HashIndex(layout, cl)
    assert found(index, centres, 40) == brute(cl, centres, 40)
    with pytest.raises(ValueError, match="exact up to"):
        HashIndex(LAYOUTS["16x16 r1"], cl).search(centres, 40)


@pytest.mark.parametrize("offset,width", [(0, 24), (56, 23), (40, 24), (233, 23), (120, 21)])
def test_chunk_keys_read_the_right_bits(offset: int, width: int) -> None:
    rng = np.random.default_rng(offset)
    words = random_hashes(50, rng)
    keys = chunk_keys(words, Chunk(offset, width, 0))
    for row, key in zip(format_pdq(words), keys.tolist(), strict=True):
        bits = bin(int(row, 16))[2:].zfill(256)
        assert key == int(bits[offset : offset + width], 2)


def test_add_remove_merge_save_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    base, centres = clustered(30, 11, rng)
    index = HashIndex(LAYOUTS["16x16 r1"], base)
    extra, extra_centres = clustered(10, 11, rng)
    ids = index.add(extra)  # searchable at once, from the delta segment
    assert ids.tolist() == list(range(len(base), len(base) + len(extra)))
    everything = np.concatenate([base, extra])
    queries = np.concatenate([centres, extra_centres])
    assert found(index, queries, 31) == brute(everything, queries, 31)
    removed = [0, 5, len(base) + 3]
    index.remove(removed)
    expect = {r for r in brute(everything, queries, 31) if r[1] not in removed}
    assert found(index, queries, 31) == expect
    index.merge_delta()  # folded into the postings: same answers
    assert index.delta.shape[0] == 0
    assert found(index, queries, 31) == expect
    index.add(random_hashes(5, rng))
    index.save(tmp_path / "idx")
    loaded = HashIndex.load(tmp_path / "idx")
    assert isinstance(loaded.hashes, np.memmap)
    assert found(loaded, queries, 31) == expect
    assert len(loaded) == len(everything) + 5 - len(removed)
    with pytest.raises(IndexError):
        loaded.remove([10**9])


def test_load_rejects_a_folder_that_is_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a Daybreak hash index"):
        HashIndex.load(tmp_path)


def test_parse_and_format_round_trip_and_malformed_hashes() -> None:
    h = "f8f8f0cee0f4a84f06370a22038f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    assert format_pdq(parse_pdq([h.upper()])) == [h]
    for bad in ["", "abc", h[:-1], h + "0", "g" * 64, None]:
        with pytest.raises(HashFormatError):
            parse_pdq([bad])  # type: ignore[list-item]


def test_empty_index_and_empty_queries() -> None:
    index = HashIndex(LAYOUTS["16x16 r1"])
    rng = np.random.default_rng(1)
    assert index.search(random_hashes(3, rng)).ids.size == 0
    assert index.search(np.empty((0, 4), dtype=np.uint64)).ids.size == 0


@pytest.mark.parametrize("size", [1_000_000, 3_000_000, 10_000_000, 50_000_000])
def test_default_layouts_cover_256_bits_and_are_exact_to_31(size: int) -> None:
    layout = default_layout(31, size)
    assert sum(c.width for c in layout) == 256
    assert layout_max_distance(layout) == 31


def test_warm_copies_a_loaded_index_into_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    hashes, centres = clustered(20, 11, rng)
    HashIndex(LAYOUTS["16x16 r1"], hashes).save(tmp_path / "i")
    index = HashIndex.load(tmp_path / "i")
    before = found(index, centres, 31)
    index.warm()
    assert not isinstance(index.hashes, np.memmap)
    assert not any(isinstance(p, np.memmap) for p in index.postings)
    assert found(index, centres, 31) == before == brute(hashes, centres, 31)


def test_a_background_merge_over_wide_chunks_keeps_answers_exact() -> None:
    """Chunks of 24 bits (the 10M layout's) have 2**24 buckets: more than one block of
    offsets to shift; add() past DELTA_LIMIT merges in a background thread."""
    from daybreak.media import index as index_module

    rng = np.random.default_rng(24)
    base, centres = clustered(40, 11, rng)
    layout = make_layout([(24, 1), (24, 2), (24, 2)] + [(23, 2)] * 8)
    index = HashIndex(layout, base)
    extra, extra_centres = clustered(20, 11, rng)
    limit = index_module.DELTA_LIMIT
    index_module.DELTA_LIMIT = 100  # a merge starts at the next add
    try:
        index.add(extra)
        index.wait_merged()
    finally:
        index_module.DELTA_LIMIT = limit
    assert index.delta.shape[0] == 0 and index.hashes.shape[0] == len(base) + len(extra)
    everything = np.concatenate([base, extra])
    queries = np.concatenate([centres, extra_centres])
    assert found(index, queries, 31) == brute(everything, queries, 31)
    for off in index.offsets:  # every bucket's start, as a fresh build has it
        assert off[-1] == len(everything) and bool(np.all(np.diff(off.astype(np.int64)) >= 0))
    fresh = HashIndex(layout, everything)
    assert all(np.array_equal(a, b) for a, b in zip(index.offsets, fresh.offsets, strict=True))


@pytest.mark.parametrize("block", [4, 64, 1 << 20])
@pytest.mark.parametrize(
    ("n", "m", "where"),
    [
        (0, 0, "random"),
        (0, 7, "random"),
        (50, 0, "random"),
        (50, 9, "front"),
        (50, 9, "end"),
        (50, 9, "both ends"),
        (50, 30, "duplicates"),
        (1000, 300, "random"),
    ],
)
def test_sliced_merge_equals_one_step_insert_and_concatenate(
    monkeypatch: pytest.MonkeyPatch, block: int, n: int, m: int, where: str
) -> None:
    """The merge copies in slices of COPY_BLOCK bytes (so searches are not kept waiting):
    its arrays equal the single np.insert / np.concatenate they replace."""
    from daybreak.media import index as index_module

    monkeypatch.setattr(index_module, "COPY_BLOCK", block)
    rng = np.random.default_rng(n * 7 + m)
    post = rng.permutation(n).astype(np.uint32)
    at = {
        "random": rng.integers(0, n + 1, size=m),
        "front": np.zeros(m, dtype=np.int64),
        "end": np.full(m, n),
        "both ends": np.where(np.arange(m) % 2 == 0, 0, n),
        "duplicates": rng.choice([0, 7, 7, 31, n], size=m),
    }[where]
    at = np.sort(at).astype(np.int64)
    values = np.arange(n, n + m, dtype=np.uint32)
    got = index_module._inserted(post, at, values)
    assert got.dtype == np.uint32 and np.array_equal(got, np.insert(post, at, values))
    hashes, delta = random_hashes(n, rng), random_hashes(m, rng)
    stacked = index_module._stacked(hashes, delta)
    assert np.array_equal(stacked, np.concatenate([hashes, delta]))


def test_sliced_merge_gives_the_index_a_fresh_build_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    from daybreak.media import index as index_module

    monkeypatch.setattr(index_module, "COPY_BLOCK", 256)  # many slices per array
    rng = np.random.default_rng(5)
    base, extra = random_hashes(3000, rng), random_hashes(700, rng)
    extra[:50] = base[:50]  # duplicates of listed hashes land in the same buckets
    layout = LAYOUTS["mixed"]
    index = HashIndex(layout, base)
    index.add(extra)
    index.merge_delta()
    fresh = HashIndex(layout, np.concatenate([base, extra]))
    assert np.array_equal(index.hashes, fresh.hashes)
    for a, b in zip(index.postings, fresh.postings, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(index.offsets, fresh.offsets, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_blockwise_offset_shift_equals_one_bincount_over_all_buckets(
    monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """The offsets shift counts each block of buckets from its own slice of the sorted
    keys (no 2**w-bucket bincount): it equals the one-step cumulative count, keys on
    block edges, in the first and last bucket and repeated included."""
    from daybreak.media import index as index_module

    monkeypatch.setattr(index_module, "OFFSET_BLOCK", block)
    rng = np.random.default_rng(block)
    buckets = 256
    off = np.zeros(buckets + 1, dtype=np.uint32)
    np.cumsum(rng.integers(0, 5, size=buckets), out=off[1:])
    keys = np.concatenate(
        [rng.integers(0, buckets, size=300), [0, 0, buckets - 1, 63, 64, 65, 127, 128]]
    )
    sorted_keys = np.sort(keys).astype(np.uint32)
    expected = off.astype(np.int64)
    expected[1:] += np.cumsum(np.bincount(keys, minlength=buckets))
    got = index_module._shifted(off, sorted_keys)
    assert got.dtype == np.uint32 and np.array_equal(got, expected)


def test_concurrent_adds_and_removes_keep_every_hash_and_tombstone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """add and remove build their new arrays outside the search lock (a writers' lock
    keeps them in turn): adds from several threads, removes and background merges
    meanwhile lose no hash and no tombstone, and searches still find exactly the rest."""
    import threading

    from daybreak.media import index as index_module

    monkeypatch.setattr(index_module, "DELTA_LIMIT", 150)  # merges run during the adds
    rng = np.random.default_rng(11)
    layout = LAYOUTS["16x16 r1"]
    index = HashIndex(layout, random_hashes(500, rng))
    batches = [random_hashes(20, rng) for _ in range(40)]
    ids: dict[int, np.ndarray] = {}

    def add_some(first: int) -> None:
        for b in range(first, len(batches), 4):
            ids[b] = index.add(batches[b])
            index.remove(ids[b][:2])  # the first two of every batch are removed again

    threads = [threading.Thread(target=add_some, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.wait_merged()
    index.merge_delta()
    assert index.size == 500 + 20 * len(batches) and len(index) == 500 + 18 * len(batches)
    every = np.concatenate([ids[b] for b in range(len(batches))])
    assert np.array_equal(np.sort(every), np.arange(500, index.size))
    for b, batch in enumerate(batches):
        assert np.array_equal(index.hashes[ids[b]], batch)
    found = index.search(np.concatenate(batches), 0)
    expected = np.concatenate([ids[b][2:] for b in range(len(batches))])
    assert np.array_equal(np.sort(found.ids), np.sort(expected))
