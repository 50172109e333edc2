"""Multiple-systems estimation: how many people none of the sources saw.

Each person resolved across K sources ("lists": bank alerts, platform detections,
tipline reports, hash matches) has a *capture history*, the set of lists it is on. The
counts of people per history form an incomplete 2^K table, whose all-absent cell is
unknown. A Poisson log-linear model with main effects and some two-way interactions
(dependence between pairs of lists) is fitted to the observed cells; ``exp(intercept)``
is the expected count in the missing cell, the "dark figure" (research:
platform-signals.md section 5; UK Home Office 2014, Silverman 2020).

What this module does about the method's known pitfalls:

* **model choice**: every model of main effects plus a subset of two-way interactions
  whose estimate exists is fitted, and the lowest BIC wins;
* **existence**: an interaction between two lists with no one on both has no finite
  estimate (the coefficient runs off to minus infinity, silently, in GLM software); such
  models are left out, as are fits that do not converge or whose design is rank-deficient;
* **model-selection uncertainty**: the interval is a parametric bootstrap that *redoes
  the model choice* in every replicate, and reads the error of the estimate against a
  hidden count drawn in each replicate (a prediction interval for the hidden count, not
  only for its expectation).

* **heterogeneity**: every model is also tried with a Darroch term (quadratic in the
  number of lists a history is on), kept only when positive, chosen by the same BIC; and
  with three lists or more a Bayesian latent-class model (LCMCR,
  :mod:`daybreak.graph.latent_class`) is fitted too. The reported estimate is the
  larger of the two models' (heterogeneity neither captures biases both down), the
  log-linear one being the geometric mean of the lowest-BIC model's estimate and the
  AIC-weighted average over models (:func:`aic_average`, :func:`combine`), with an
  interval from the lower to the higher end of the two models' intervals
  (:func:`combine`), so the choice between them widens the interval;
* **sparse tables**: when half the people seen or more are on one list only, the table
  cannot show the people every list is unlikely to see, so the estimate is likely too
  low: a warning says so and the reported interval's upper end is multiplied by
  ``SPARSE_WIDEN`` (a sensitivity bound chosen on simulated worlds, docs/estimate.md).

It cannot correct what the table cannot show: heterogeneity BIC does not detect (a
group of people no list is likely to see), or higher-order dependence. ``ASSUMPTIONS`` says so wherever an estimate is printed.
Pure numpy; nothing here reads files.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy import special

from daybreak.graph import latent_class

ASSUMPTIONS = (
    "The population is closed over the period (no one enters or leaves between lists).",
    "Records are linked without error across lists (a missed link adds a person).",
    "Dependence between lists is pairwise: the chosen model holds the interactions "
    "that matter, and no group is invisible to every list beyond what pairs show.",
    "Within a history, everyone has the same chance of being listed, or the difference "
    "is what the Darroch term (quadratic in the number of lists) describes; other "
    "heterogeneity biases the log-linear estimate down.",
    "Latent classes: people fall into groups within which the lists are independent; "
    "the reported interval spans this model's and the log-linear one's.",
)
# When not to trust an estimate (docs/estimate.md explains each), shown beside every
# stored estimate on the console's dashboards.
DO_NOT_TRUST = (
    "Dependent lists (a detector that learns from tipline reports, a report prompted by "
    "a bank's alert): pairwise terms absorb this only with enough people on both lists; "
    "otherwise the hidden count is too low.",
    "Heterogeneity: when some people are easier for every list to see, log-linear "
    "intervals covered the truth in only about two thirds of strong-heterogeneity "
    "simulations. Sparse lists (half the people or more on one list only) get a "
    "'likely too low' warning and an upper end doubled: so widened, the reported "
    "interval covered the truth in 99 of 100 held-out sparse worlds, but the estimate "
    "itself was 10-28% too low at the median: quote the interval, not the point.",
    "Sparse overlaps: two lists sharing fewer than five people, or a hidden count above "
    "twice the people seen (both are flagged as warnings).",
    "Record linkage: a person not linked across two lists counts twice and looks unseen "
    "by one of them.",
    "An open population: people entering or leaving within the period; estimate per "
    "quarter, not over years.",
    "Lists dropped or merged change the estimate: report which lists were used.",
)
# Half the people seen or more on one list only: a sparse table, whose estimate is likely
# too low and whose reported upper end is raised by SPARSE_WIDEN (docs/estimate.md,
# "Which estimate is reported": chosen on development worlds, seeds 30000+).
SPARSE_SHARE = 0.5
SPARSE_WIDEN = 2.0
LATENT_CLASS = "latent classes (LCMCR, Dirichlet-process mixture of independent lists)"
MAX_LISTS = 6  # 2^15 candidate models at 6 lists; more would be slow and overfit
DIVERGED = 20.0  # |log-linear coefficient| beyond this means no finite estimate


class EstimationError(ValueError):
    """The table cannot support an estimate (too few lists, no overlaps, ...)."""


@dataclass(frozen=True)
class CaptureTable:
    """Counts of people by capture history (one 0/1 per list; the all-zero history,
    the people nobody saw, is what is estimated and never present)."""

    lists: tuple[str, ...]
    counts: Mapping[tuple[int, ...], int]

    @property
    def observed(self) -> int:
        return sum(self.counts.values())

    def cells(self) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
        """(histories as rows, counts) over every non-empty history, zeros included."""
        rows = _histories(len(self.lists))
        hist = np.array(rows, dtype=np.int8)
        y = np.array([float(self.counts.get(h, 0)) for h in rows])
        return hist, y

    def overlap(self, i: int, j: int) -> int:
        return sum(n for h, n in self.counts.items() if h[i] and h[j])

    @property
    def one_list_share(self) -> float:
        """The share of the people seen who are on one list only (0 when none seen)."""
        once = sum(n for h, n in self.counts.items() if sum(h) == 1)
        return once / self.observed if self.observed else 0.0


@cache
def _histories(k: int) -> tuple[tuple[int, ...], ...]:
    return tuple(h for h in itertools.product((0, 1), repeat=k) if any(h))


def capture_table(memberships: Iterable[Iterable[str]], lists: Sequence[str]) -> CaptureTable:
    """A table from each person's lists (e.g. ``[{"bank", "tipline"}, {"bank"}, ...]``);
    a list name outside ``lists`` is an error naming it."""
    if not 2 <= len(lists) <= MAX_LISTS or len(set(lists)) != len(lists):
        raise EstimationError(f"need 2 to {MAX_LISTS} distinct lists, got {list(lists)}")
    index = {name: i for i, name in enumerate(lists)}
    counts: dict[tuple[int, ...], int] = {}
    for person, on in enumerate(memberships):
        row = [0] * len(lists)
        for name in on:
            if name not in index:
                raise EstimationError(f"person {person}: unknown list {name!r}; lists: {lists}")
            row[index[name]] = 1
        if any(row):
            counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    return CaptureTable(tuple(lists), counts)


Pairs = tuple[tuple[int, int], ...]
# A model: the two-way interactions it holds, and its heterogeneity term ("" for none).
Model = tuple[Pairs, str]

# Heterogeneity terms (Darroch et al. 1993; Rcapture's Mh models, Baillargeon and Rivest
# 2007): one column f(z) of the number of lists z a history is on, with a coefficient
# that must be positive (people seen once are then fewer, and people seen often more,
# than independent lists give: the signature of a group every list sees more easily).
# Darroch's f(z) = z^2/2 is a common interaction of every pair of lists.
HETEROGENEITY: dict[str, tuple[str, Callable[[NDArray[np.float64]], NDArray[np.float64]]]] = {
    "darroch": ("heterogeneity (Darroch, z²/2)", lambda z: z * z / 2.0),
    "poisson2": ("heterogeneity (Poisson2, 2^z-1)", lambda z: np.exp2(z) - 1.0),
    "gamma3.5": ("heterogeneity (Gamma3.5)", lambda z: np.log(3.5) - np.log(3.5 + z)),
}
CANDIDATE_HETEROGENEITY = ("darroch",)  # the terms BIC chooses among (docs/estimate.md)


@dataclass(frozen=True)
class Fit:
    interactions: Pairs
    coef: NDArray[np.float64]
    loglik: float
    bic: float
    hidden: float  # expected count of people on no list, exp(intercept)
    heterogeneity: str = ""  # a key of HETEROGENEITY, or "" for none

    @property
    def model(self) -> Model:
        return self.interactions, self.heterogeneity

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * len(self.coef)

    def describe(self, lists: Sequence[str]) -> str:
        terms = [f"{lists[i]}×{lists[j]}" for i, j in self.interactions]
        if self.heterogeneity:
            terms.append(HETEROGENEITY[self.heterogeneity][0])
        return f"main effects + {', '.join(terms)}" if terms else "main effects only (independence)"


@cache
def _design(k: int, interactions: Pairs, heterogeneity: str = "") -> NDArray[np.float64] | None:
    """The model's design over the non-empty histories (the heterogeneity column last);
    None when it is rank-deficient (more parameters than the table can identify)."""
    hist = np.array(_histories(k), dtype=np.float64)
    cols = [np.ones(len(hist)), *(hist[:, i] for i in range(k))]
    cols += [hist[:, i] * hist[:, j] for i, j in interactions]
    if heterogeneity:
        cols.append(HETEROGENEITY[heterogeneity][1](hist.sum(axis=1)))
    x = np.column_stack(cols)
    return x if np.linalg.matrix_rank(x) == x.shape[1] else None


def _poisson_fits(
    x: NDArray[np.float64], y: NDArray[np.float64], start: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Newton's method for a Poisson log-linear model, on many tables at once (``y``:
    one row of cell counts per table, ``start``: the coefficients to start from). Returns
    the coefficients and which tables converged to finite ones (the others have no
    maximum-likelihood estimate). The bootstrap fits every model to all its replicates
    in one go: a loop of small fits was most of an estimate's time."""
    beta = np.array(np.broadcast_to(start, (y.shape[0], x.shape[1])), dtype=np.float64)
    done = np.zeros(y.shape[0], dtype=np.bool_)
    failed = np.zeros(y.shape[0], dtype=np.bool_)
    for _ in range(100):
        live = ~done & ~failed
        if not live.any():
            break
        mu = np.exp(np.clip(beta[live] @ x.T, -50, 50))
        info = (x.T * mu[:, None, :]) @ x
        grad = (y[live] - mu) @ x
        step = np.zeros_like(grad)
        ok = _condition(info) < 1e12  # a singular information matrix: no estimate
        if ok.any():
            step[ok] = np.linalg.solve(info[ok], grad[ok][..., None])[..., 0]
        rows = np.flatnonzero(live)
        beta[rows] += step
        failed[rows[~ok]] = True
        failed[rows] |= np.max(np.abs(beta[rows]), axis=1) > DIVERGED
        done[rows] |= ok & (np.max(np.abs(step), axis=1) < 1e-9)
    return beta, done & ~failed


def _condition(info: NDArray[np.float64]) -> NDArray[np.float64]:
    """The 2-norm condition number of each symmetric positive semi-definite matrix of a
    stack (inf where singular): what ``np.linalg.cond`` gives, from the eigenvalues
    rather than an SVD, at less than half the cost (it was most of a bootstrap's time)."""
    ev = np.linalg.eigvalsh(info)
    low, high = ev[:, 0], ev[:, -1]
    positive = low > 0
    out: NDArray[np.float64] = np.full(len(ev), np.inf)
    out[positive] = high[positive] / low[positive]
    return out


def _poisson_fit(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """One table's fit, started from least squares on the log counts; None if it has
    no finite estimate."""
    start = np.linalg.lstsq(x, np.log(y + 0.5), rcond=None)[0].astype(np.float64)
    beta, ok = _poisson_fits(x, y[None, :], start)
    return beta[0] if ok[0] else None


def _loglik(x: NDArray[np.float64], y: NDArray[np.float64], beta: NDArray[np.float64]) -> float:
    eta = x @ beta
    return float(np.sum(y * eta - np.exp(eta))) - sum(math.lgamma(v + 1.0) for v in y)


def candidate_models(k: int, heterogeneity: Sequence[str] = CANDIDATE_HETEROGENEITY) -> list[Model]:
    """Every subset of the two-way interactions of k lists, smallest first, each also
    with every ``heterogeneity`` term."""
    pairs = list(itertools.combinations(range(k), 2))
    subsets = [s for r in range(len(pairs) + 1) for s in itertools.combinations(pairs, r)]
    return [(s, h) for h in ("", *heterogeneity) for s in subsets]


def fit_models(
    table: CaptureTable,
    models: Sequence[Model] | None = None,
    heterogeneity: Sequence[str] = CANDIDATE_HETEROGENEITY,
) -> list[Fit]:
    """Every model whose estimate exists, lowest BIC first. A model with an interaction
    between two lists that share no one is left out (its estimate does not exist), and
    so is a heterogeneity term fitted below zero (it would say that people seen by one
    list are *less* likely on another, which is dependence, not heterogeneity)."""
    k = len(table.lists)
    _, y = table.cells()
    n = max(table.observed, 1)
    empty = {(i, j) for i, j in itertools.combinations(range(k), 2) if table.overlap(i, j) == 0}
    out = []
    for inter, het in models if models is not None else candidate_models(k, heterogeneity):
        if empty.intersection(inter):
            continue
        x = _design(k, tuple(inter), het)
        if x is None:
            continue
        beta = _poisson_fit(x, y)
        if beta is None or (het and beta[-1] < 0):
            continue
        ll = _loglik(x, y, beta)
        bic = -2.0 * ll + x.shape[1] * math.log(n)
        out.append(Fit(tuple(inter), beta, ll, bic, float(math.exp(beta[0])), het))
    return sorted(out, key=lambda f: (f.bic, len(f.interactions) + bool(f.heterogeneity)))


def aic_average(fits: Sequence[Fit]) -> float:
    """The hidden count averaged over ``fits`` with Akaike weights, exp(-ΔAIC/2)
    (Burnham and Anderson 2002). AIC charges a term 2 where BIC charges ln n, so the
    heterogeneity and interaction terms that BIC drops on thin evidence keep weight
    here: under heterogeneity this average is less biased than the lowest-BIC model's
    estimate, and noisier (docs/estimate.md, "What is reported")."""
    aic = np.array([f.aic for f in fits])
    weights = np.exp(-(aic - aic.min()) / 2.0)
    return float(weights @ np.array([f.hidden for f in fits]) / weights.sum())


@dataclass(frozen=True)
class Estimate:
    lists: tuple[str, ...]
    observed: int
    hidden: float  # point estimate of the people on no list
    low: float  # interval for the hidden count
    high: float
    level: float
    model: str
    models_considered: int
    replicates: int
    warnings: tuple[str, ...]
    method: str = "loglinear"  # or "latent class", or "both" (the interval spans both)

    @property
    def total(self) -> float:
        return self.observed + self.hidden

    def method_line(self) -> str:
        """How the estimate was made, in one line (the CLI and the console)."""
        if self.method == "latent class":
            return f"model: {self.model}; credible interval from {self.replicates} posterior draws"
        if self.method == "both":
            return (
                f"models: {self.model}; reported: the larger of the latent-class estimate "
                "and the log-linear one (the geometric mean of the lowest-BIC model's "
                "estimate and the AIC-weighted average over models), the interval from "
                "the lower of the two lower ends to the higher of the upper ends"
            )
        return (
            f"model (lowest BIC of {self.models_considered}): {self.model}; interval from "
            f"{self.replicates} bootstrap replicates, model chosen again in each"
        )

    def summary(self) -> str:
        lines = [
            f"lists: {', '.join(self.lists)}; people seen: {self.observed}",
            f"hidden (on no list): {self.hidden:.0f}, {100 * self.level:.0f}% interval "
            f"{self.low:.0f}-{self.high:.0f}; total {self.total:.0f}",
            self.method_line(),
            *(f"warning: {w}" for w in self.warnings),
            "assumptions:",
            *(f"  - {a}" for a in ASSUMPTIONS),
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class StratumEstimate:
    """One line of a run: everyone ("all") or one stratum ("country=PH, quarter=2025Q1"),
    its estimate, or why it has none."""

    label: str
    estimate: Estimate | None
    error: str = ""


@dataclass(frozen=True)
class EstimateReport:
    """One ``daybreak estimate`` run: the lists, the strata columns and every stratum."""

    lists: tuple[str, ...]
    by: tuple[str, ...]
    level: float
    strata: tuple[StratumEstimate, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "lists": list(self.lists),
                "by": list(self.by),
                "level": self.level,
                "strata": [
                    {
                        "label": s.label,
                        "error": s.error,
                        "estimate": None if s.estimate is None else asdict(s.estimate),
                    }
                    for s in self.strata
                ],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> EstimateReport:
        data = json.loads(text)
        strata = []
        for s in data["strata"]:
            e = s["estimate"]
            if e is not None:
                e = Estimate(**{**e, "lists": tuple(e["lists"]), "warnings": tuple(e["warnings"])})
            strata.append(StratumEstimate(s["label"], e, s["error"]))
        return cls(tuple(data["lists"]), tuple(data["by"]), data["level"], tuple(strata))


def _warnings(table: CaptureTable, hidden: float) -> list[str]:
    k = len(table.lists)
    out = []
    for i, j in itertools.combinations(range(k), 2):
        if table.overlap(i, j) < 5:
            out.append(
                f"{table.lists[i]} and {table.lists[j]} share {table.overlap(i, j)} people: "
                "their dependence cannot be estimated, and is assumed absent"
            )
    if hidden > 2 * table.observed:
        out.append(
            "the hidden count exceeds twice those seen: the estimate rests on small overlaps"
        )
    if table.one_list_share >= SPARSE_SHARE:
        out.append(_sparse_warning(table))
    return out


def _sparse_warning(table: CaptureTable) -> str:
    return (
        f"likely too low: {100 * table.one_list_share:.0f}% of people are on one list only, "
        "so the table cannot show the people every list is unlikely to see"
    )


def estimate_loglinear(
    table: CaptureTable,
    *,
    level: float = 0.95,
    replicates: int = 200,
    seed: int = 0,
    heterogeneity: Sequence[str] = CANDIDATE_HETEROGENEITY,
) -> Estimate:
    """The hidden count under the lowest-BIC log-linear model, with a bootstrap interval.

    Each replicate draws the observed cells and a hidden count from the chosen model's
    fitted means, chooses a model again and records its estimate minus the drawn hidden
    count; the interval is the point estimate minus the error quantiles (floored at 0)."""
    return _loglinear(table, level, replicates, seed, heterogeneity)[0]


def _loglinear(
    table: CaptureTable, level: float, replicates: int, seed: int, heterogeneity: Sequence[str]
) -> tuple[Estimate, list[Fit]]:
    """:func:`estimate_loglinear`'s estimate and every model it fitted."""
    _check(table)
    fits = fit_models(table, heterogeneity=heterogeneity)
    if not fits:
        raise EstimationError(
            "no model has a finite estimate: the lists do not overlap enough "
            f"(pairwise overlaps: {_overlaps(table)})"
        )
    best = fits[0]
    x = _design(len(table.lists), best.interactions, best.heterogeneity)
    assert x is not None  # the model was fitted
    rng = np.random.default_rng(seed)
    drawn = rng.poisson(np.exp(x @ best.coef), size=(replicates, x.shape[0])).astype(np.float64)
    truth = rng.poisson(best.hidden, size=replicates).astype(np.float64)
    again = _choose_again(table, fits, drawn)
    errors = (again - truth)[~np.isnan(again)].tolist()
    if len(errors) < replicates // 2:
        raise EstimationError("most bootstrap replicates had no estimate: overlaps too sparse")
    lo_q, hi_q = np.quantile(errors, [(1 + level) / 2, (1 - level) / 2])
    estimate = Estimate(
        lists=table.lists,
        observed=table.observed,
        hidden=best.hidden,
        low=max(0.0, best.hidden - float(lo_q)),
        high=max(0.0, best.hidden - float(hi_q)),
        level=level,
        model=best.describe(table.lists),
        models_considered=len(fits),
        replicates=len(errors),
        warnings=tuple(_warnings(table, best.hidden)),
    )
    return estimate, fits


def estimate_latent_class(
    table: CaptureTable, *, level: float = 0.95, draws: int = 2000, seed: int = 0
) -> Estimate:
    """The posterior median of the hidden count under the latent-class model (LCMCR,
    :mod:`daybreak.graph.latent_class`) and its equal-tailed credible interval."""
    _check(table)
    if len(table.lists) < 3:
        raise EstimationError("the latent-class model needs at least three lists")
    hist, y = table.cells()
    post = latent_class.sample(hist, y, draws=draws, seed=seed)
    low, high = post.interval(level)
    return Estimate(
        lists=table.lists,
        observed=table.observed,
        hidden=post.median(),
        low=low,
        high=high,
        level=level,
        model=LATENT_CLASS,
        models_considered=1,
        replicates=draws,
        warnings=tuple(_warnings(table, post.median())),
        method="latent class",
    )


def estimate(
    table: CaptureTable,
    *,
    level: float = 0.95,
    replicates: int = 200,
    seed: int = 0,
    heterogeneity: Sequence[str] = CANDIDATE_HETEROGENEITY,
) -> Estimate:
    """What ``daybreak estimate`` reports (:func:`estimates`)."""
    return estimates(
        table, level=level, replicates=replicates, seed=seed, heterogeneity=heterogeneity
    )[2]


def estimates(
    table: CaptureTable,
    *,
    level: float = 0.95,
    replicates: int = 200,
    seed: int = 0,
    heterogeneity: Sequence[str] = CANDIDATE_HETEROGENEITY,
) -> tuple[Estimate | None, Estimate | None, Estimate]:
    """The log-linear and the latent-class estimate (None where one has none) and the
    one reported: with three lists or more both, combined by :func:`combine`; with two
    lists the log-linear one (the latent-class model needs three); either alone when
    the other has no estimate. Raises EstimationError when neither has one."""
    loglinear: Estimate | None = None
    fits: list[Fit] = []
    try:
        loglinear, fits = _loglinear(table, level, replicates, seed, heterogeneity)
    except EstimationError:
        if len(table.lists) < 3:
            raise
    if len(table.lists) < 3:
        assert loglinear is not None
        return loglinear, None, widen_if_sparse(table, loglinear)
    latent = estimate_latent_class(table, level=level, seed=seed)
    if loglinear is None:
        alone = (
            "no log-linear model has an estimate (overlaps too sparse): the latent-class "
            "estimate alone rests mostly on its prior; do not quote it"
        )
        reported = replace(latent, warnings=(*latent.warnings, alone))
        return None, latent, widen_if_sparse(table, reported)
    reported = combine(loglinear, latent, aic_average(fits))
    return loglinear, latent, widen_if_sparse(table, reported)


def widen_if_sparse(table: CaptureTable, reported: Estimate) -> Estimate:
    """The reported estimate with its upper end multiplied by ``SPARSE_WIDEN`` when the
    table is sparse (``SPARSE_SHARE`` of the people or more on one list only): there
    both models' intervals lay wholly below the true hidden count in a third to half
    of simulated strong-heterogeneity worlds (docs/estimate.md), and the table cannot
    tell whether heterogeneity is strong. A note in the warnings says so."""
    if table.one_list_share < SPARSE_SHARE:
        return reported
    note = (
        f"the upper end of the interval is {SPARSE_WIDEN:g} times the models' "
        f"({reported.high:.0f}), since the table is sparse"
    )
    return replace(reported, high=SPARSE_WIDEN * reported.high, warnings=(*reported.warnings, note))


def combine(loglinear: Estimate, latent: Estimate, averaged: float | None = None) -> Estimate:
    """The reported estimate from both models (docs/estimate.md, "What is reported"):
    the larger of the two point estimates, and an interval from the lower of the two
    lower ends to the higher of the two upper ends, so that it carries the uncertainty
    of the choice between the models. With ``averaged`` (:func:`aic_average` of the
    log-linear models) the log-linear point is the geometric mean of the lowest-BIC
    model's estimate and that average: BIC's choice is biased down under heterogeneity
    and the average is noisy in sparse tables, and halfway between them on the log
    scale had the smaller error on development worlds of every region."""
    point = loglinear.hidden if averaged is None else math.sqrt(loglinear.hidden * averaged)
    hidden = max(point, latent.hidden)
    averaged_note = "" if averaged is None else f"; AIC-weighted average {averaged:.0f}"
    disagree = latent.low > loglinear.high or loglinear.low > latent.high
    notes = (
        [
            f"the models disagree: log-linear {loglinear.hidden:.0f} "
            f"({loglinear.low:.0f}-{loglinear.high:.0f}), latent classes {latent.hidden:.0f} "
            f"({latent.low:.0f}-{latent.high:.0f}); the interval spans both"
        ]
        if disagree
        else []
    )
    return Estimate(
        lists=latent.lists,
        observed=latent.observed,
        hidden=hidden,
        low=min(loglinear.low, latent.low, hidden),
        high=max(loglinear.high, latent.high, hidden),
        level=latent.level,
        model=f"{latent.model}: {latent.hidden:.0f} ({latent.low:.0f}-{latent.high:.0f}); "
        f"log-linear, {loglinear.model}: {loglinear.hidden:.0f} "
        f"({loglinear.low:.0f}-{loglinear.high:.0f}){averaged_note}",
        models_considered=loglinear.models_considered + 1,
        replicates=loglinear.replicates,
        warnings=tuple([*latent.warnings, *notes]),
        method="both",
    )


def _check(table: CaptureTable) -> None:
    if len(table.lists) < 2:
        raise EstimationError("need at least two lists")
    if table.observed == 0:
        raise EstimationError("no one is on any list")


def _choose_again(
    table: CaptureTable, fits: Sequence[Fit], drawn: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each replicate's hidden count under its own lowest-BIC model among ``fits``'
    models (NaN where none has an estimate), as :func:`fit_models` would choose: a
    model is out where two lists it ties share no one, where it diverges, and where a
    heterogeneity term falls below zero."""
    k = len(table.lists)
    hist = np.array(_histories(k), dtype=np.float64)
    ln_n = np.log(np.maximum(drawn.sum(axis=1), 1.0))
    const = np.sum(_lgamma(drawn + 1.0), axis=1)
    best_bic = np.full(drawn.shape[0], np.inf)
    hidden = np.full(drawn.shape[0], np.nan)
    # fewer terms first: a tie in BIC goes to the simpler model, as in fit_models
    for fit in sorted(fits, key=lambda f: len(f.interactions) + bool(f.heterogeneity)):
        x = _design(k, fit.interactions, fit.heterogeneity)
        assert x is not None
        beta, ok = _poisson_fits(x, drawn, fit.coef)
        for i, j in fit.interactions:
            ok &= drawn[:, (hist[:, i] * hist[:, j]) > 0].sum(axis=1) > 0
        if fit.heterogeneity:
            ok &= beta[:, -1] >= 0
        eta = beta @ x.T
        loglik = np.sum(drawn * eta - np.exp(np.clip(eta, -50, 50)), axis=1) - const
        bic = np.where(ok, -2.0 * loglik + x.shape[1] * ln_n, np.inf)
        better = bic < best_bic
        best_bic[better] = bic[better]
        hidden[better] = np.exp(beta[better, 0])
    return hidden


def _lgamma(v: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = special.gammaln(v)
    return out


def _overlaps(table: CaptureTable) -> str:
    k = len(table.lists)
    return ", ".join(
        f"{table.lists[i]}&{table.lists[j]}={table.overlap(i, j)}"
        for i, j in itertools.combinations(range(k), 2)
    )


def simulate(
    rng: np.random.Generator,
    people: int,
    capture: Sequence[float],
    *,
    dependence: Mapping[tuple[int, int], float] | None = None,
    visible_share: float = 1.0,
    visible_boost: float = 1.0,
    spread: float = 0.0,
) -> tuple[CaptureTable, int]:
    """A population of ``people`` seen by lists with base chances ``capture``;
    ``dependence[(i, j)]`` multiplies list j's odds for people on list i (i < j);
    a ``visible_share`` of people have their odds multiplied by ``visible_boost``
    (heterogeneity in two groups), and with ``spread`` > 0 everyone's odds on every
    list are also multiplied by exp(N(0, spread²)) (heterogeneity without groups).
    Returns the table and the true number on no list."""
    k = len(capture)
    odds = np.array([p / (1 - p) for p in capture])
    boost = np.where(rng.random(people) < visible_share, visible_boost, 1.0)
    if spread > 0:
        boost = boost * np.exp(rng.normal(0.0, spread, people))
    on = np.zeros((people, k), dtype=bool)
    for j in range(k):
        o = odds[j] * boost
        for (a, b), factor in (dependence or {}).items():
            if b == j:
                o = np.where(on[:, a], o * factor, o)
        on[:, j] = rng.random(people) < o / (1 + o)
    names = tuple(f"list{i + 1}" for i in range(k))
    memberships = ([names[i] for i in np.flatnonzero(row)] for row in on)
    hidden = int(np.sum(~on.any(axis=1)))
    return capture_table(memberships, names), hidden


__all__ = [
    "ASSUMPTIONS",
    "CANDIDATE_HETEROGENEITY",
    "DO_NOT_TRUST",
    "HETEROGENEITY",
    "SPARSE_SHARE",
    "SPARSE_WIDEN",
    "CaptureTable",
    "Estimate",
    "EstimateReport",
    "EstimationError",
    "Fit",
    "Model",
    "StratumEstimate",
    "aic_average",
    "candidate_models",
    "capture_table",
    "combine",
    "estimate",
    "estimate_latent_class",
    "estimate_loglinear",
    "estimates",
    "fit_models",
    "simulate",
    "widen_if_sparse",
]
