"""Multiple-systems estimation: published figures reproduced, estimates that do not exist
left out, and the intervals' coverage on simulated populations of known size."""

from __future__ import annotations

import statistics
from dataclasses import replace

import numpy as np
import pytest

from daybreak.graph.estimate import (
    SPARSE_SHARE,
    SPARSE_WIDEN,
    CaptureTable,
    EstimationError,
    _design,
    _histories,
    aic_average,
    capture_table,
    combine,
    estimate,
    estimate_latent_class,
    estimate_loglinear,
    estimates,
    fit_models,
    simulate,
    widen_if_sparse,
)

# Ball, Shin and Yang (2018), as bundled with the R package MultipleSystemsEstimation
# (data "Korea"); its user guide prints the totals and BICs checked below.
KOREA = CaptureTable(
    ("b", "c", "d"),
    {(0, 0, 1): 41, (0, 1, 0): 5, (1, 0, 0): 5, (1, 1, 0): 54, (1, 0, 1): 6, (1, 1, 1): 12},
)


def test_the_r_package_figures_for_the_korea_lists_are_reproduced() -> None:
    fits = {f.interactions: f for f in fit_models(KOREA) if not f.heterogeneity}
    published = {  # model -> (total population, BIC)
        ((0, 1), (1, 2)): (157.1667, 57.14081),
        ((0, 1),): (268.7778, 58.96860),
        ((0, 2), (1, 2)): (123.4630, 91.89711),
        ((1, 2),): (126.1944, 138.06368),
        ((0, 2),): (126.9394, 155.16018),
        (): (141.9926, 184.14431),
    }
    for model, (total, bic) in published.items():
        assert KOREA.observed + fits[model].hidden == pytest.approx(total, abs=1e-4), model
        assert fits[model].bic == pytest.approx(bic, abs=1e-4), model
    # b×d with b×c has no finite estimate (no one is on c and d only): left out
    assert ((0, 1), (0, 2)) not in fits
    best = estimate_loglinear(KOREA, replicates=200)
    assert best.model == "main effects + b×c, c×d"
    assert best.observed + best.hidden == pytest.approx(157.1667, abs=1e-4)
    assert best.low <= best.hidden <= best.high


def test_lists_that_share_no_one_get_no_interaction_and_a_warning() -> None:
    # the R package's "Artificial_3": A and C, B and C share no one
    table = CaptureTable(
        ("A", "B", "C"), {(1, 0, 0): 40, (0, 1, 0): 30, (0, 0, 1): 20, (1, 1, 0): 6}
    )
    for fit in fit_models(table):
        assert (0, 2) not in fit.interactions and (1, 2) not in fit.interactions
    result = estimate(table, replicates=100)
    assert any("A and C share 0 people" in w for w in result.warnings)
    assert "assumptions:" in result.summary()


def _darroch_table(tau: float, hidden: float = 1e5) -> CaptureTable:
    """The expected counts of a Darroch heterogeneity model (a column z²/2 of the number
    of lists z a history is on, coefficient ``tau``), ``hidden`` people on no list."""
    x = _design(4, (), "darroch")
    assert x is not None
    beta = np.array([np.log(hidden), -1.2, -1.0, -0.8, -1.5, tau])
    mu = np.exp(x @ beta)
    return CaptureTable(
        tuple("abcd"), {h: round(m) for h, m in zip(_histories(4), mu, strict=True)}
    )


def test_a_heterogeneity_term_is_chosen_when_the_table_has_one_and_only_if_positive() -> None:
    best = fit_models(_darroch_table(0.4))[0]
    assert best.heterogeneity == "darroch" and best.interactions == ()
    assert best.coef[-1] == pytest.approx(0.4, abs=1e-4)
    assert best.hidden == pytest.approx(1e5, rel=1e-4)
    assert "heterogeneity (Darroch" in best.describe(("a", "b", "c", "d"))
    # fewer people on several lists than independence gives: not heterogeneity, and
    # the term is left out (the pairs can still say it)
    assert not any(f.heterogeneity for f in fit_models(_darroch_table(-0.4)))


def test_the_aic_average_keeps_the_heterogeneity_term_bic_drops() -> None:
    # a weak Darroch term on 4,930 people seen: BIC (ln n per term) drops it and is 14%
    # too low; AIC (2 per term) keeps it, so the Akaike-weighted average is closer
    table = _darroch_table(0.1, hidden=2000)
    fits = fit_models(table)
    assert fits[0].heterogeneity == "" and fits[0].hidden < 0.9 * 2000
    by_aic = min(fits, key=lambda f: f.aic)
    assert by_aic.heterogeneity == "darroch"
    assert by_aic.aic == pytest.approx(-2 * by_aic.loglik + 2 * len(by_aic.coef))
    averaged = aic_average(fits)
    assert abs(averaged - 2000) < abs(fits[0].hidden - 2000) / 2
    weights = np.exp(-(np.array([f.aic for f in fits]) - by_aic.aic) / 2)
    assert averaged == pytest.approx(weights @ [f.hidden for f in fits] / weights.sum())
    assert aic_average(fits[:1]) == pytest.approx(fits[0].hidden)
    # the reported point: the larger of the latent classes' and the geometric mean of
    # the lowest-BIC estimate and the average
    loglinear, latent, reported = estimates(table, replicates=30, seed=1)
    assert loglinear is not None and latent is not None
    assert loglinear.hidden == fits[0].hidden
    point = max(latent.hidden, float(np.sqrt(loglinear.hidden * averaged)))
    assert reported.hidden == pytest.approx(point)
    assert reported.hidden > max(loglinear.hidden, latent.hidden)  # closer to 2000
    assert reported.low <= reported.hidden <= reported.high
    assert f"AIC-weighted average {averaged:.0f}" in reported.summary()


def test_bad_tables_are_clear_errors() -> None:
    with pytest.raises(EstimationError, match="unknown list 'tips'"):
        capture_table([{"bank"}, {"tips"}], ["bank", "platform"])
    with pytest.raises(EstimationError, match="no one is on any list"):
        estimate(capture_table([set(), set()], ["bank", "platform"]))
    with pytest.raises(EstimationError, match="2 to 6 distinct lists"):
        capture_table([], ["bank"])


def _run(
    worlds: int,
    heterogeneity: tuple[str, ...] = ("darroch",),
    capture: tuple[float, ...] = (0.2, 0.25, 0.3),
    **scenario: object,
) -> tuple[int, list[float]]:
    covered, errors = 0, []
    for s in range(worlds):
        rng = np.random.default_rng(500 + s)
        table, hidden = simulate(rng, 2000, capture, **scenario)  # type: ignore[arg-type]
        result = estimate_loglinear(table, replicates=100, seed=s, heterogeneity=heterogeneity)
        covered += result.low <= hidden <= result.high
        errors.append((result.hidden - hidden) / hidden)
    return covered, errors


@pytest.mark.slow
def test_intervals_cover_the_true_hidden_count_when_dependence_is_pairwise() -> None:
    # two lists that feed each other (people on list 1 are 3x likelier on list 2)
    covered, errors = _run(30, dependence={(0, 1): 3.0})
    assert covered >= 27, f"{covered}/30 intervals cover the hidden count"
    assert statistics.median(abs(e) for e in errors) <= 0.2


@pytest.mark.slow
def test_the_heterogeneity_term_removes_most_of_the_bias_pairs_cannot_show() -> None:
    # a visible 30% with odds x3 on each of four lists: with pairwise terms only (the
    # limit docs/estimate.md shows) the estimate is far too low; the Darroch term
    # corrects most of it (with three lists BIC rarely chooses it: docs/estimate.md)
    strong: dict[str, object] = {
        "visible_share": 0.3, "visible_boost": 3.0, "capture": (0.2, 0.25, 0.3, 0.15)
    }  # fmt: skip
    _, pairs_only = _run(20, (), **strong)
    assert statistics.median(pairs_only) < -0.15
    _, with_term = _run(20, **strong)
    assert abs(statistics.median(with_term)) < abs(statistics.median(pairs_only)) / 2


def test_the_latent_class_model_sees_a_group_every_list_sees_more_easily() -> None:
    # a visible 30% with odds x3 on each of five lists: the independence model is far
    # too low, the latent classes recover the hidden count and cover it
    rng = np.random.default_rng(41)
    table, hidden = simulate(rng, 20_000, (0.1, 0.15, 0.2, 0.12, 0.1), visible_share=0.3, visible_boost=3.0)  # fmt: skip
    independence = next(f for f in fit_models(table, heterogeneity=()) if not f.interactions)
    assert independence.hidden < 0.85 * hidden
    latent = estimate_latent_class(table, seed=1)
    assert latent.method == "latent class" and latent.low <= hidden <= latent.high
    assert abs(latent.hidden - hidden) < 0.1 * hidden
    assert "posterior draws" in latent.summary()
    with pytest.raises(EstimationError, match="at least three lists"):
        estimate_latent_class(capture_table([{"a"}, {"a", "b"}, {"b"}], ["a", "b"]))


def test_the_reported_interval_spans_both_models_and_says_when_they_disagree() -> None:
    table, _ = simulate(np.random.default_rng(5), 3000, (0.2, 0.25, 0.3))
    loglinear, latent, reported = estimates(table, replicates=50, seed=2)
    assert loglinear is not None and latent is not None
    assert table.one_list_share >= SPARSE_SHARE  # so the upper end is widened
    assert reported.method == "both"
    averaged = aic_average(fit_models(table))
    assert reported.hidden == max(latent.hidden, np.sqrt(loglinear.hidden * averaged))
    assert reported.low == min(loglinear.low, latent.low)
    assert reported.high == pytest.approx(SPARSE_WIDEN * max(loglinear.high, latent.high))
    assert "latent classes" in reported.summary() and "log-linear" in reported.summary()
    far = replace(latent, hidden=10 * latent.hidden, low=5 * latent.high, high=20 * latent.high)
    both = combine(loglinear, far)
    assert both.hidden == far.hidden
    assert both.high == far.high and both.low == loglinear.low
    assert any(w.startswith("the models disagree") for w in both.warnings)
    assert not any(w.startswith("the models disagree") for w in reported.warnings)
    # two lists: the log-linear estimate alone (the latent classes need three)
    two, _ = simulate(np.random.default_rng(6), 1000, (0.3, 0.4))
    assert estimate(two, replicates=20).method == "loglinear"


def test_without_a_log_linear_estimate_the_latent_classes_alone_carry_a_warning() -> None:
    apart = CaptureTable(("a", "b", "c"), {(1, 0, 0): 10, (0, 1, 0): 12, (0, 0, 1): 9})
    assert fit_models(apart) == []
    loglinear, latent, reported = estimates(apart, replicates=20)
    assert loglinear is None and latent is not None and reported.method == "latent class"
    assert any("do not quote it" in w for w in reported.warnings)


def test_a_sparse_table_is_flagged_likely_too_low_and_its_upper_end_widened() -> None:
    # most people on one list only: the table cannot show who every list misses
    sparse, _ = simulate(np.random.default_rng(7), 3000, (0.08, 0.1, 0.12, 0.1))
    assert sparse.one_list_share >= SPARSE_SHARE
    loglinear, latent, reported = estimates(sparse, replicates=30, seed=1)
    assert loglinear is not None and latent is not None
    share = f"{100 * sparse.one_list_share:.0f}% of people are on one list only"
    assert any(w.startswith("likely too low") and share in w for w in reported.warnings)
    assert reported.high == pytest.approx(SPARSE_WIDEN * max(loglinear.high, latent.high))
    assert any("upper end of the interval is 2 times" in w for w in reported.warnings)
    assert "likely too low" in reported.summary()


def test_a_dense_table_is_neither_flagged_nor_widened() -> None:
    dense, _ = simulate(np.random.default_rng(8), 2000, (0.5, 0.55, 0.6, 0.5))
    assert dense.one_list_share < SPARSE_SHARE
    loglinear, latent, reported = estimates(dense, replicates=30, seed=1)
    assert loglinear is not None and latent is not None
    assert reported.high == max(loglinear.high, latent.high)
    assert not any("likely too low" in w or "upper end" in w for w in reported.warnings)
    assert widen_if_sparse(dense, reported) == reported


def test_the_share_on_one_list_counts_people_not_histories() -> None:
    table = CaptureTable(("a", "b", "c"), {(1, 0, 0): 6, (0, 1, 0): 2, (1, 1, 0): 2})
    assert table.one_list_share == pytest.approx(0.8)
    assert CaptureTable(("a", "b"), {}).one_list_share == 0.0
