"""Bootstrap confidence intervals and paired comparisons over per-question scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_RESAMPLES = 10_000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class CI:
    mean: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def bootstrap_ci(
    values: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CI:
    """Percentile bootstrap CI of the mean, resampling questions with replacement."""
    return bootstrap_cis([values], resamples, seed, confidence)[0]


def bootstrap_cis(
    columns: Sequence[Sequence[float]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[CI]:
    """`bootstrap_ci` of each column, figure for figure, drawing the resampling indices
    once per column length instead of once per column (the draw is most of the cost)."""
    arrays = [np.asarray(c, dtype=float) for c in columns]
    by_size: dict[int, list[int]] = {}
    for i, x in enumerate(arrays):
        by_size.setdefault(int(x.size), []).append(i)
    out: list[CI | None] = [None] * len(arrays)
    for n, members in by_size.items():
        if n == 0:
            for i in members:
                out[i] = CI(float("nan"), float("nan"), float("nan"), 0)
            continue
        means = bootstrap_means(np.stack([arrays[i] for i in members]), resamples, seed)
        for row, i in enumerate(members):
            out[i] = _percentile_ci(float(arrays[i].mean()), means[row], n, confidence)
    return [ci for ci in out if ci is not None]


def _percentile_ci(mean: float, means: np.ndarray, n: int, confidence: float) -> CI:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return CI(mean, float(low), float(high), n)


def bootstrap_means(x: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(k, n) scores -> (k, resamples) bootstrap means; every row uses the same question draws.

    Shared draws are what make a difference of two rows' means a paired bootstrap: the
    means of row b minus row a are the means of (b - a) under the same resamples.
    """
    k, n = x.shape
    rng = np.random.default_rng(seed)
    # A 0/1 row (most metrics) is summed as bytes: the sums are exact integers either way,
    # so count / n is the very float that float64 mean() gives, at a fraction of the cost.
    as_bytes = [x[row].astype(np.uint8) if np.isin(x[row], (0.0, 1.0)).all() else None
                for row in range(k)]  # fmt: skip
    # Resample in chunks: 10k x n indices for n ~ 10^4 would be 800 MB at once.
    means = np.empty((k, resamples))
    chunk = max(1, 2_000_000 // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        for row in range(k):
            small = as_bytes[row]
            if small is not None:
                means[row, start:stop] = small[idx].sum(axis=1, dtype=np.int64) / n
            else:
                means[row, start:stop] = x[row][idx].mean(axis=1)
    return means


def paired_diff_matrix(
    vectors: Sequence[Sequence[float]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[tuple[int, int], CI]:
    """Paired CIs of mean(row j) - mean(row i) for every i < j, with one set of draws.

    Equal (up to float rounding) to `paired_bootstrap_diff(rows[i], rows[j])` for each pair,
    at the cost of one bootstrap per row instead of one per pair.
    """
    x = np.asarray(vectors, dtype=float)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError("paired_diff_matrix needs k vectors of one non-zero length")
    means = bootstrap_means(x, resamples, seed)
    point = x.mean(axis=1)
    n = int(x.shape[1])
    return {
        (i, j): _percentile_ci(float(point[j] - point[i]), means[j] - means[i], n, confidence)
        for i in range(len(x))
        for j in range(i + 1, len(x))
    }


@dataclass(frozen=True)
class McNemar:
    """Exact McNemar test on the discordant pairs of two paired 0/1 vectors.

    `only_base` counts questions base got right and head got wrong; `only_head` the reverse.
    """

    only_base: int
    only_head: int
    p_value: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _paired_arrays(base: Sequence[float], head: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(base, dtype=float)
    b = np.asarray(head, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired vectors must have the same length ({a.shape} vs {b.shape})")
    return a, b


def paired_bootstrap_diff(
    base: Sequence[float],
    head: Sequence[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> CI:
    """Percentile bootstrap CI of mean(head) - mean(base) over the same questions.

    Questions are resampled jointly (one index draws both scores), which keeps the
    correlation between the two configs: the CI is much narrower than two independent CIs.
    """
    a, b = _paired_arrays(base, head)
    return bootstrap_ci(b - a, resamples=resamples, seed=seed, confidence=confidence)


def mcnemar_exact(base: Sequence[int], head: Sequence[int]) -> McNemar:
    """Two-sided exact McNemar p-value: a binomial test with p=0.5 on the discordant pairs."""
    # Imported here so `harness score` does not pay for scipy.stats at start-up.
    from scipy.stats import binomtest

    a, b = _paired_arrays(base, head)
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        raise ValueError("McNemar's test needs 0/1 correctness vectors")
    only_base = int(np.sum((a == 1) & (b == 0)))
    only_head = int(np.sum((a == 0) & (b == 1)))
    discordant = only_base + only_head
    if discordant == 0:
        return McNemar(0, 0, 1.0)
    p = binomtest(only_head, discordant, p=0.5, alternative="two-sided").pvalue
    return McNemar(only_base, only_head, float(p))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given (family-wise error control)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p, kind="stable")
    # The k-th smallest p (0-based) is scaled by m - k; a running max keeps them monotone.
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted_sorted = np.maximum.accumulate(scaled)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(x) for x in adjusted]
