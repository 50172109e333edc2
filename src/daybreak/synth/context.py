"""What every generator step shares: the profile, window, customers, ledger and a named
random stream per step (so adding a step never changes what the others draw)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from daybreak.synth.clock import Window
from daybreak.synth.ledger import F64, Ledger
from daybreak.synth.population import Population
from daybreak.synth.profiles import Profile


@dataclass
class Ctx:
    seed: int
    profile: Profile
    window: Window
    pop: Population
    ledger: Ledger
    txn_per_month: float

    def rng(self, step: str) -> np.random.Generator:
        return rng_for(self.seed, step)

    def money(self, aud: F64 | float) -> F64:
        """AUD-grounded amounts in the profile's currency (rounded to cents by batch())."""
        out: F64 = np.asarray(aud, dtype=np.float64) * self.profile.amount_scale
        return out

    @property
    def home(self) -> str:
        return self.profile.countries[0][0]


def rng_for(seed: int, step: str) -> np.random.Generator:
    return np.random.default_rng(
        [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, zlib.crc32(step.encode())]
    )


def lognormal(rng: np.random.Generator, median: F64 | float, sigma: F64 | float, n: int) -> F64:
    out: F64 = np.exp(np.log(median) + np.asarray(sigma) * rng.standard_normal(n))
    return out
