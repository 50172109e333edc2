"""Exact Hamming range search for any distance-matched hash type, whatever its length.

PDQ banks, which hold millions of hashes, are served by the multi-index
:class:`daybreak.media.index.HashIndex` (256 bits, saved with ``daybreak media index
build``). Every other :class:`~daybreak.model.signal_types.HammingSignalType` (a 64-bit
or 256-bit hash a plug-in registers in ``daybreak.signal_types``) is served by the class
its ``index`` names, :class:`HammingScan` unless it names a faster one: the matcher
builds it from the banks in memory, so a new Hamming type is matchable without editing
the matcher.

:class:`HammingScan` compares every query with every listed hash (hashes packed into
64-bit words, one popcount per word): exact by construction, about ``N x words``
popcounts a query, which suits the thousands to a few hundred thousand entries a new
list starts with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from daybreak.media.index import Matches
from daybreak.model.signal_types import SignalType

U64 = npt.NDArray[np.uint64]
BATCH_PAIRS = 1 << 22  # (query, listed hash) pairs compared at once: bounds memory


class RangeSearch(Protocol):
    """What the matcher needs of a range index: built with ``cls(signal, hashes)`` from
    normalised hex hashes (ids are positions in ``hashes``), then searched."""

    def search(self, queries: Sequence[str], max_distance: int) -> Matches:
        """Every listed hash within ``max_distance`` bits of each normalised query,
        sorted by query, distance, id."""
        ...


def pack_hex(hashes: Sequence[str], hex_length: int) -> U64:
    """Hex hashes of ``hex_length`` characters -> ``(n, words)`` big-endian uint64 words.

    A length that is not a multiple of 16 is left-padded with zero bits, which are equal
    in every hash and so leave distances unchanged."""
    words = -(-hex_length // 16)
    out = np.empty((len(hashes), words), dtype=np.uint64)
    for i, value in enumerate(hashes):
        if len(value) != hex_length:
            raise ValueError(f"hash #{i} {value!r}: expected {hex_length} hexadecimal characters")
        try:
            raw = bytes.fromhex(value.rjust(words * 16, "0"))
        except ValueError:
            raise ValueError(f"hash #{i} {value!r}: not hexadecimal") from None
        out[i] = np.frombuffer(raw, dtype=">u8")
    return out


class HammingScan:
    """Exact Hamming range search by comparing each query with every listed hash."""

    def __init__(self, signal: type[SignalType], hashes: Sequence[str] = ()) -> None:
        self.signal = signal
        self.words = pack_hex(hashes, signal.hex_length)

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def search(self, queries: Sequence[str], max_distance: int) -> Matches:
        packed = pack_hex(queries, self.signal.hex_length)
        step = max(1, BATCH_PAIRS // max(1, len(self)))
        parts: list[Matches] = []
        for start in range(0, packed.shape[0], step):
            block = packed[start : start + step, None, :] ^ self.words[None, :, :]
            dist = np.bitwise_count(block).sum(axis=-1, dtype=np.int64)
            qi, ids = np.nonzero(dist <= max_distance)
            parts.append(Matches(qi.astype(np.int64) + start, ids.astype(np.int64), dist[qi, ids]))
        return Matches.merged(parts)
