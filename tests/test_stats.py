"""Paired bootstrap, exact McNemar and Holm, checked against answers derived independently."""

from __future__ import annotations

import itertools
import math
from math import comb

import numpy as np
import pytest
from scipy.stats import multinomial

from harness.stats import CI, McNemar, bootstrap_ci, holm, mcnemar_exact, paired_bootstrap_diff


def _pair(only_base: int, only_head: int, both: int, neither: int) -> tuple[list[int], list[int]]:
    base = [1] * only_base + [0] * only_head + [1] * both + [0] * neither
    head = [0] * only_base + [1] * only_head + [1] * both + [0] * neither
    return base, head


def _exact_two_sided_binomial(k: int, n: int) -> float:
    """Two-sided exact p for k successes in n fair trials, by enumerating every outcome:
    the total probability of outcomes no more likely than the one observed."""
    probs = [comb(n, i) / 2**n for i in range(n + 1)]
    return min(1.0, sum(p for p in probs if p <= probs[k] * (1 + 1e-12)))


@pytest.mark.parametrize(
    ("only_base", "only_head", "expected"),
    [
        # Worked by hand: 6 of 7 discordant favour head: 2 * (C(7,6) + C(7,7)) / 2^7 = 16/128.
        (1, 6, 0.125),
        # 5 of 5 favour head: 2 * 1/32.
        (0, 5, 0.0625),
        # Symmetric split: every outcome is as likely or less, p = 1.
        (3, 3, 1.0),
    ],
)
def test_mcnemar_matches_hand_worked_examples(only_base, only_head, expected):
    base, head = _pair(only_base, only_head, both=10, neither=4)
    result = mcnemar_exact(base, head)
    assert (result.only_base, result.only_head) == (only_base, only_head)
    assert result.p_value == pytest.approx(expected, rel=1e-12)


def test_mcnemar_matches_enumeration_on_many_cases():
    for only_base, only_head in itertools.product(range(0, 9), range(0, 9)):
        if only_base + only_head == 0:
            continue
        base, head = _pair(only_base, only_head, both=3, neither=2)
        expected = _exact_two_sided_binomial(only_head, only_base + only_head)
        assert mcnemar_exact(base, head).p_value == pytest.approx(expected, rel=1e-9)


def test_mcnemar_ignores_concordant_pairs_and_is_symmetric():
    a = mcnemar_exact(*_pair(2, 9, both=0, neither=0)).p_value
    b = mcnemar_exact(*_pair(2, 9, both=500, neither=300)).p_value
    c = mcnemar_exact(*_pair(9, 2, both=7, neither=1)).p_value
    assert a == b == c


def test_mcnemar_without_discordant_pairs_is_one():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]).p_value == 1.0


def test_mcnemar_rejects_non_binary_and_unpaired_input():
    with pytest.raises(ValueError):
        mcnemar_exact([0, 2], [1, 1])
    with pytest.raises(ValueError):
        mcnemar_exact([0, 1, 1], [1, 1])


def _exact_paired_percentiles(only_base: int, only_head: int, n: int, confidence: float):
    """Exact percentile-bootstrap bounds of mean(head - base): per-question differences are
    +1 (only_head), -1 (only_base) or 0; a resample draws n of them, so (#+1, #-1) is
    multinomial. Enumerate it and read off the quantiles."""
    p = [only_head / n, only_base / n, 1 - (only_head + only_base) / n]
    dist: dict[int, float] = {}
    for plus in range(n + 1):
        for minus in range(n + 1 - plus):
            mass = multinomial.pmf([plus, minus, n - plus - minus], n, p)
            dist[plus - minus] = dist.get(plus - minus, 0.0) + mass
    support = sorted(dist)
    cdf = np.cumsum([dist[s] for s in support])
    alpha = (1 - confidence) / 2

    def quantile(q: float) -> float:
        return support[int(np.searchsorted(cdf, q))] / n

    return quantile(alpha), quantile(1 - alpha)


def test_paired_bootstrap_matches_exact_enumeration():
    n, only_base, only_head = 40, 2, 10
    base, head = _pair(only_base, only_head, both=15, neither=n - 27)
    ci = paired_bootstrap_diff(base, head, resamples=20_000, seed=3)
    low, high = _exact_paired_percentiles(only_base, only_head, n, 0.95)
    assert ci.mean == pytest.approx((only_head - only_base) / n)
    assert ci.n == n
    # Monte-Carlo quantiles land on the exact ones up to one step of the 1/n grid.
    assert abs(ci.low - low) <= 1 / n + 1e-12
    assert abs(ci.high - high) <= 1 / n + 1e-12
    assert ci.low > 0  # 10 vs 2 discordant on 40 questions is a clear gain


def test_paired_bootstrap_tiny_case_enumerated_by_hand():
    # diffs [1, 0, 0]: a resample's mean is k/3 with k ~ Binomial(3, 1/3):
    # P = 8/27, 12/27, 6/27, 1/27 for k = 0..3. 2.5% quantile: k=0 (8/27 > .025);
    # 97.5% quantile: k=3, since P(k <= 2) = 26/27 = 0.963 < 0.975.
    ci = paired_bootstrap_diff([0, 1, 1], [1, 1, 1], resamples=10_000, seed=0)
    assert ci.mean == pytest.approx(1 / 3)
    assert (ci.low, ci.high) == (0.0, 1.0)


def test_paired_ci_is_narrower_than_unpaired_when_configs_agree_mostly():
    rng = np.random.default_rng(1)
    base = (rng.random(500) < 0.6).astype(int)
    head = base.copy()
    flip = rng.choice(np.flatnonzero(base == 0), size=25, replace=False)
    head[flip] = 1  # head fixes 25 questions and breaks none
    paired = paired_bootstrap_diff(base, head, resamples=4000)
    a, b = bootstrap_ci(base, resamples=4000), bootstrap_ci(head, resamples=4000)
    assert paired.low > 0
    assert paired.high - paired.low < 0.5 * ((a.high - a.low) + (b.high - b.low))
    # Two separate CIs overlap even though the paired test sees a clear gain.
    assert b.low < a.high


def test_paired_bootstrap_of_identical_vectors_is_zero():
    ci = paired_bootstrap_diff([1, 0, 1, 1], [1, 0, 1, 1], resamples=500)
    assert (ci.mean, ci.low, ci.high) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("ci_of", [paired_bootstrap_diff, lambda b, h, **kw: bootstrap_ci(h, **kw)])
def test_bootstrap_is_seeded(ci_of):
    base, head = _pair(5, 9, both=20, neither=16)
    runs = {seed: ci_of(base, head, resamples=300, seed=seed) for seed in range(6)}
    # The same seed gives the same CI...
    assert all(ci_of(base, head, resamples=300, seed=s) == ci for s, ci in runs.items())
    # ...and the seed is used: six seeds do not all draw the same Monte-Carlo bounds
    # (a seed that is ignored, or replaced by a fixed one, gives one pair of bounds).
    assert len({(ci.low, ci.high) for ci in runs.values()}) > 1


def test_paired_bootstrap_rejects_unpaired_input():
    with pytest.raises(ValueError):
        paired_bootstrap_diff([1, 0], [1])


def test_holm_matches_hand_worked_example():
    # Sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> running max .06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_edges():
    assert holm([0.5, 0.6, 0.9]) == [1.0, 1.0, 1.0]
    assert holm([0.02]) == [0.02]
    assert holm([]) == []
    adjusted = holm([0.001, 0.2, 0.001])
    assert adjusted[0] == adjusted[2] == pytest.approx(0.003)
    assert adjusted[1] == pytest.approx(0.2)


def _reference_percentile_bootstrap(values, resamples, seed, confidence):
    """The documented method, written out: resample questions with replacement from
    numpy's default_rng(seed), take the mean of each resample, read off the percentiles."""
    x = np.asarray(values, dtype=float)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - confidence) / 2
    return tuple(np.quantile(means, [alpha, 1 - alpha]))


@pytest.mark.parametrize("confidence", [0.95, 0.8])
def test_bootstrap_is_the_seeded_percentile_bootstrap(confidence):
    values = [1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0.5, 1]
    ci = bootstrap_ci(values, resamples=500, seed=11, confidence=confidence)
    assert (ci.low, ci.high) == _reference_percentile_bootstrap(values, 500, 11, confidence)
    assert ci.mean == pytest.approx(np.mean(values)) and ci.n == len(values)
    paired = paired_bootstrap_diff([0] * 12, values, resamples=500, seed=11, confidence=confidence)
    assert paired == ci


def test_every_resample_is_drawn_even_in_chunks():
    # 3,000 questions x 2,000 resamples is drawn in chunks of 666 resamples: each chunk
    # must fill its own rows. All-ones input makes every resample mean exactly 1.
    ci = bootstrap_ci([1.0] * 3000, resamples=2000)
    assert (ci.mean, ci.low, ci.high, ci.n) == (1.0, 1.0, 1.0, 3000)
    for resamples in (1, 2, 7):  # the first resample counts too (the array starts empty)
        assert bootstrap_ci([1, 1, 1], resamples=resamples) == bootstrap_ci([1, 1, 1])


def test_bootstrap_edge_sizes():
    empty = bootstrap_ci([])
    assert empty.n == 0 and all(math.isnan(v) for v in (empty.mean, empty.low, empty.high))
    assert bootstrap_ci([0.25]) == CI(0.25, 0.25, 0.25, 1)
    assert bootstrap_ci([0.25]).as_dict() == {"mean": 0.25, "low": 0.25, "high": 0.25, "n": 1}


def test_paired_inputs_may_be_booleans():
    base, head = [True, False, False, True], [True, True, False, True]
    assert paired_bootstrap_diff(base, head, resamples=200) == paired_bootstrap_diff(
        [1, 0, 0, 1], [1, 1, 0, 1], resamples=200
    )
    assert mcnemar_exact(base, head) == mcnemar_exact([1, 0, 0, 1], [1, 1, 0, 1])


def test_mcnemar_result_fields():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == McNemar(0, 0, 1.0)
    result = mcnemar_exact(*_pair(1, 6, both=2, neither=0))
    assert result.as_dict() == {"only_base": 1, "only_head": 6, "p_value": pytest.approx(0.125)}


def test_errors_say_what_is_wrong():
    unpaired = r"^paired vectors must have the same length \(\(2,\) vs \(1,\)\)$"
    with pytest.raises(ValueError, match=unpaired):
        paired_bootstrap_diff([1, 0], [1])
    with pytest.raises(ValueError, match=r"^McNemar's test needs 0/1 correctness vectors$"):
        mcnemar_exact([0, 2], [1, 1])


def _reference_ci(values, resamples, seed):
    """The bootstrap as first written (one draw per call, float mean): bootstrap_cis must
    give exactly its figures, so summaries stay byte-identical."""
    x = np.asarray(values, dtype=float)
    n = x.size
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        means[start:stop] = x[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    alpha = (1.0 - 0.95) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(x.mean()), float(low), float(high), n)


def test_shared_bootstrap_gives_each_columns_own_figures_exactly():
    from harness.stats import bootstrap_cis

    rng = np.random.default_rng(7)
    columns = []
    for n in (1, 37, 37, 400, 2500, 2500):
        columns.append(rng.integers(0, 2, n).tolist())  # 0/1, the byte-summed path
        columns.append(rng.random(n).tolist())  # Soft-F1-like values
    for resamples, seed in ((999, 0), (2_000, 3)):
        cis = bootstrap_cis(columns, resamples=resamples, seed=seed)
        got = [(c.mean, c.low, c.high, c.n) for c in cis]
        assert got == [_reference_ci(col, resamples, seed) for col in columns]


def test_paired_diff_matrix_equals_pairwise_paired_bootstrap():
    from harness.stats import paired_bootstrap_diff, paired_diff_matrix

    rng = np.random.default_rng(7)
    vectors = rng.integers(0, 2, size=(4, 300))
    matrix = paired_diff_matrix(vectors, resamples=2000, seed=3)
    assert set(matrix) == {(i, j) for i in range(4) for j in range(i + 1, 4)}
    for (i, j), ci in matrix.items():
        one = paired_bootstrap_diff(vectors[i], vectors[j], resamples=2000, seed=3)
        assert ci.n == one.n == 300
        for field in ("mean", "low", "high"):
            assert getattr(ci, field) == pytest.approx(getattr(one, field), abs=1e-12)


def test_paired_diff_matrix_sizes_and_errors():
    from harness.stats import paired_diff_matrix

    assert paired_diff_matrix([[1], [0]], resamples=50) == {(0, 1): CI(-1.0, -1.0, -1.0, 1)}
    needs = r"^paired_diff_matrix needs k vectors of one non-zero length$"
    for bad in ([[], []], [1, 0]):
        with pytest.raises(ValueError, match=needs):
            paired_diff_matrix(bad)


def test_bootstrap_cis_keeps_every_column_after_an_empty_one():
    from harness.stats import bootstrap_cis

    cis = bootstrap_cis([[], [1.0, 1.0], [0.5]], resamples=20)
    assert [ci.n for ci in cis] == [0, 2, 1] and cis[1] == CI(1.0, 1.0, 1.0, 2)
