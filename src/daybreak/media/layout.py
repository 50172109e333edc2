"""Chunk layouts for multi-index hashing of 256-bit PDQ hashes.

A layout splits the bits into disjoint chunks, each searched at a radius. It finds every
hash within ``sum(radius + 1) - 1`` bits of a query (see :mod:`daybreak.media.index`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

PDQ_BITS = 256


@dataclass(frozen=True)
class Chunk:
    offset: int  # first bit (0 = most significant bit of the hex string)
    width: int
    radius: int


Layout = tuple[Chunk, ...]


def make_layout(widths_radii: Sequence[tuple[int, int]]) -> Layout:
    chunks: list[Chunk] = []
    offset = 0
    for width, radius in widths_radii:
        chunks.append(Chunk(offset, width, radius))
        offset += width
    if offset != PDQ_BITS:
        raise ValueError(f"layout covers {offset} bits, expected {PDQ_BITS}")
    return tuple(chunks)


def layout_max_distance(layout: Layout) -> int:
    """The largest distance the layout finds with exact recall."""
    return sum(c.radius + 1 for c in layout) - 1


def default_layout(max_distance: int = 31, expected_size: int = 0) -> Layout:
    """A layout exact up to ``max_distance``, sized for ``expected_size`` hashes.

    Measured at 10M hashes the cost is dominated by verifying candidates (a random
    32-byte read each), so larger indexes use wider chunks: fewer candidates per probe,
    more probes, bigger offset tables (2**w entries each):

    - below 2M: 16 chunks of 16 bits at radius 1 (16 x 2 = 32 > 31); 4 MB of tables;
    - 2M to 6M: 8 x 21 bits at radius 2 and 4 x 22 bits at radius 1 (24 + 8 = 32); 128 MB;
    - 6M and more: 1 x 24 bits at radius 1, 2 x 24 and 8 x 23 at radius 2 (2 + 30 = 32);
      469 MB, about 47 bytes a hash at 10M, ~3,000 candidates a query instead of ~41,000.
    """
    if max_distance <= 31 and expected_size >= 6_000_000:
        return make_layout([(24, 1)] + [(24, 2)] * 2 + [(23, 2)] * 8)
    if max_distance <= 31 and expected_size >= 2_000_000:
        return make_layout([(21, 2)] * 8 + [(22, 1)] * 4)
    if max_distance <= 31:
        return make_layout([(16, 1)] * 16)
    # General fallback: 16-bit chunks, radius spread so that sum(r + 1) > max_distance.
    need = max_distance + 1
    radii = [need // 16 - 1] * 16
    for i in range(need - sum(r + 1 for r in radii)):
        radii[i] += 1
    if min(radii) < 0:
        raise ValueError(f"max_distance {max_distance} too small")
    return make_layout([(16, r) for r in radii])


def flip_masks(width: int, radius: int) -> npt.NDArray[np.uint32]:
    masks = [0]
    for r in range(1, radius + 1):
        for bits in combinations(range(width), r):
            masks.append(sum(1 << b for b in bits))
    return np.asarray(masks, dtype=np.uint32)
