"""One-at-a-time draws for generators that loop over customers.

A numpy call per item (a phone, a name, a weighted choice) costs far more than the item:
these pools draw blocks per key and hand items out in order, so a loop over thousands of
look-alike customers stays fast. Deterministic: the same random stream and the same
sequence of requests give the same items.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from daybreak.synth.lookalikes import payout_handles
from daybreak.synth.names import Person, sample_people

BLOCK = 64


class Pools:
    def __init__(self, rng: np.random.Generator, block: int = BLOCK) -> None:
        self.rng = rng
        self.block = block
        self._handles: dict[str, deque[str]] = {}
        self._people: dict[tuple[str, str], deque[Person]] = {}
        self._uniform: deque[float] = deque()
        self._normal: deque[float] = deque()

    def handle(self, country: str) -> str:
        """A payout handle in ``country`` (a wallet 60 % of the time where wallets exist,
        else a bank account), as payout_handles draws them."""
        queue = self._handles.get(country)
        if not queue:
            queue = self._handles[country] = deque(payout_handles(self.rng, [country] * self.block))
        return queue.popleft()

    def person(self, culture: str, gender: str) -> Person:
        key = (culture, gender)
        queue = self._people.get(key)
        if not queue:
            queue = self._people[key] = deque(
                sample_people(self.rng, culture, [gender] * self.block)
            )
        return queue.popleft()

    def random(self) -> float:
        """A uniform number in [0, 1)."""
        if not self._uniform:
            self._uniform.extend(float(x) for x in self.rng.random(self.block * 4))
        return self._uniform.popleft()

    def normal(self) -> float:
        """A standard normal number."""
        if not self._normal:
            self._normal.extend(float(x) for x in self.rng.standard_normal(self.block * 4))
        return self._normal.popleft()

    def lognormal(self, median: float, sigma: float) -> float:
        return float(np.exp(np.log(median) + sigma * self.normal()))

    def index(self, n: int) -> int:
        """A uniform integer in [0, n)."""
        return min(n - 1, int(self.random() * n))

    def choice(self, weights: tuple[tuple[str, float], ...]) -> str:
        """A key of ``weights`` drawn in proportion to its weight."""
        total = sum(w for _, w in weights)
        u, acc = self.random() * total, 0.0
        for key, w in weights:
            acc += w
            if u < acc:
                return key
        return weights[-1][0]
