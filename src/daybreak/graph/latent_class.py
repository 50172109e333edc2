"""A Bayesian latent-class model of the capture histories (LCMCR; Manrique-Vallier 2016,
"Bayesian population size estimation using Dirichlet process mixtures", Biometrics
72(4); the model HRDAG uses for casualty counts, R package LCMCR).

People fall into latent classes; within a class every list sees a person independently
with the class's own chances. A group that every list sees more easily (heterogeneity)
is a class of its own, which is what log-linear models with pairwise terms cannot say.
The number of classes is left to the data by a truncated stick-breaking (Dirichlet
process) prior; the population size has the prior p(N) ∝ 1/N. The Gibbs sampler works
on the counts of the 2^K capture patterns, not on people, so a step costs the same for
100 or 100,000 people:

1. the people of each pattern (the all-absent pattern: the hidden count drawn last) are
   split over the classes, multinomially by each class's posterior share;
2. each class's chance on each list: Beta(1 + on it, 1 + not on it);
3. the class weights by stick-breaking: V_k ~ Beta(1 + n_k, α + n_{>k});
4. the concentration α ~ Gamma(0.25 + K* − 1, 0.25 − log π_{K*});
5. the hidden count ~ NegBinomial(n seen, 1 − ρ0), ρ0 the chance of being on no list.

The posterior median of the hidden count is the estimate, and its quantiles the
credible interval. Pure numpy; nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CLASSES = 10  # K*, the truncation of the stick-breaking prior (LCMCR's default)
ALPHA_PRIOR = (0.25, 0.25)  # shape and rate of α's Gamma prior (LCMCR's default)


@dataclass(frozen=True)
class Posterior:
    """Draws of the hidden count (people on no list) after burn-in and thinning."""

    hidden: NDArray[np.float64]

    def median(self) -> float:
        return float(np.median(self.hidden))

    def interval(self, level: float) -> tuple[float, float]:
        lo, hi = np.quantile(self.hidden, [(1 - level) / 2, (1 + level) / 2])
        return float(lo), float(hi)


def sample(
    histories: NDArray[np.int8],
    counts: NDArray[np.float64],
    *,
    draws: int = 2000,
    burn_in: int = 1000,
    thin: int = 2,
    classes: int = CLASSES,
    seed: int = 0,
) -> Posterior:
    """Gibbs draws of the hidden count from the counts of the non-empty ``histories``
    (one row of 0/1 per pattern, as :meth:`CaptureTable.cells` gives)."""
    rng = np.random.default_rng(seed)
    # the all-absent pattern first, its count filled in by the sampler
    h = np.vstack([np.zeros((1, histories.shape[1])), histories.astype(np.float64)])
    off, ht = 1.0 - h, np.ascontiguousarray(h.T)
    y = np.concatenate([[0.0], counts]).astype(np.int64)
    seen = int(counts.sum())
    k = classes
    lam = rng.beta(1.0, 1.0, size=(h.shape[1], k))
    pi = np.full(k, 1.0 / k)
    alpha = 1.0
    y[0] = seen  # a start; the first sweep redraws it
    out = np.empty(draws)
    a0, b0 = ALPHA_PRIOR
    # the sweep's arrays, reused: with 2^K patterns and ten classes every array is tiny,
    # and a sweep's time was mostly numpy's per-call overhead, not arithmetic
    stick, rest = np.ones(k), np.ones(k)
    for it in range(burn_in + draws * thin):
        # 1. classes of each pattern's people
        logp = h @ np.log(lam)
        logp += off @ np.log1p(-lam)
        logp += np.log(pi)
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp, out=logp)
        p /= p.sum(axis=1, keepdims=True)
        m = rng.multinomial(y, p)  # patterns x classes
        n_k = m.sum(axis=0)
        on = ht @ m  # lists x classes: people of the class on the list
        # 2. chances per list and class
        lam = rng.beta(1.0 + on, 1.0 + n_k - on)
        _clip(lam, 1e-12, 1 - 1e-12)
        # 3. weights by stick-breaking
        after = np.cumsum(n_k[:0:-1])[::-1]  # people in the classes after each one
        v = rng.beta(1.0 + n_k[:-1], alpha + after)
        _clip(v, 1e-12, 1 - 1e-12)
        stick[:-1] = v
        np.cumprod(1.0 - v, out=rest[1:])
        pi = np.maximum(stick * rest, 1e-300)
        # 4. concentration
        alpha = rng.gamma(a0 + k - 1, 1.0 / (b0 - np.log1p(-v).sum()))
        # 5. the hidden count
        rho0 = float(pi @ np.prod(1.0 - lam, axis=0))
        y[0] = rng.negative_binomial(seen, min(max(1.0 - rho0, 1e-12), 1.0))
        if it >= burn_in and (it - burn_in) % thin == 0:
            out[(it - burn_in) // thin] = y[0]
    return Posterior(out)


def _clip(a: NDArray[np.float64], low: float, high: float) -> None:
    """``np.clip`` in place through the ufunc (the wrapper's checks cost more than the
    clipping on arrays this small)."""
    np.minimum(a, high, out=a)
    np.maximum(a, low, out=a)


__all__ = ["ALPHA_PRIOR", "CLASSES", "Posterior", "sample"]
