"""BIRD's result comparisons, as pure functions of result rows (lists of tuples).

`ex`, `soft_f1` and the R-VES pieces follow the official mini-dev evaluator
(bird-bench/mini_dev, evaluation/evaluation_ex.py, evaluation_f1.py, evaluation_ves.py)
rule for rule, including its quirks, so per-example `ex` and `soft_f1` equal the official
ones; R-VES depends on timings, and its two deliberate deviations (for degenerate
timings) are in `drop_outliers` and `mean_time_ratio`.
`ex_strict` is ours: the comparison users ask for beside the official one (see
bird/README.md for every case where the two disagree).

Cell values compare with Python `==` as in the official code: 1 == 1.0, NULL (None)
equals NULL, '1' != 1.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

Rows = Sequence[tuple]


def ex(pred_rows: Rows, gold_rows: Rows) -> int:
    """Official BIRD execution accuracy: equal as *sets* of rows.

    Row order and duplicate rows are ignored; column order is not (a row is a tuple).
    """
    return int(set(pred_rows) == set(gold_rows))


def ex_strict(pred_rows: Rows, gold_rows: Rows, order_matters: Callable[[], bool]) -> int:
    """Duplicates counted (bag equality); as lists when the gold query orders its output.
    `order_matters` is asked only when the answer depends on it (equal bags of two or
    more rows), since finding out parses the gold query."""
    if Counter(pred_rows) != Counter(gold_rows):
        return 0  # unequal bags: unequal lists too
    if len(gold_rows) < 2 or not order_matters():
        return 1
    return int(list(pred_rows) == list(gold_rows))


def _row_match(pred_row: tuple, gold_row: tuple) -> tuple[float, float, float]:
    """(matched, pred-only, gold-only) cell fractions of one row pair, per the official code.

    Matching is by membership, not position: a predicted value counts as matched if it
    occurs anywhere in the gold row, so (a, b) against (b, a) is a full match and
    (a, a) against (a, b) matches both cells. Every fraction is over the gold row's width.
    """
    width = len(gold_row)
    matched = sum(1 for v in pred_row if v in gold_row)
    pred_only = len(pred_row) - matched
    gold_only = sum(1 for v in gold_row if v not in pred_row)
    return matched / width, pred_only / width, gold_only / width


def soft_f1(pred_rows: Rows, gold_rows: Rows) -> float:
    """The official mini-dev Soft-F1.

    Both results empty scores 1.0. Otherwise duplicate rows are dropped (first occurrence
    kept, order preserved), rows are paired by position, and each pair contributes its
    matched / pred-only / gold-only cell fractions to tp / fp / fn; an unpaired gold row
    adds 1 to fn, an unpaired predicted row adds 1 to fp.
    """
    if not pred_rows and not gold_rows:
        return 1.0
    pred = list(dict.fromkeys(pred_rows))
    gold = list(dict.fromkeys(gold_rows))
    pairs = [_row_match(p, g) for p, g in zip(pred, gold, strict=False)]
    # Each total is one builtin sum() over its terms in the official order (paired rows
    # first, then the unpaired ones), so the float result is bit-identical to the official
    # one under the same Python, not merely equal to a few ulps.
    tp = sum(m for m, _, _ in pairs)
    fp = sum([p for _, p, _ in pairs] + [1] * max(0, len(pred) - len(gold)))
    fn = sum([g for _, _, g in pairs] + [1] * max(0, len(gold) - len(pred)))
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def drop_outliers(values: Sequence[float]) -> list[float]:
    """Keep the values strictly within 3 standard deviations (population std) of the mean.

    Deviation from the official `clean_abnormal`: when every value is identical (std 0,
    always the case with a single repetition) the official strict test keeps nothing and
    the evaluator then divides by zero and scores the example 0. We keep all values: none
    of them is an outlier.
    """
    if not values:
        return []
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    if std == 0:
        return list(values)
    return [v for v in values if mean - 3 * std < v < mean + 3 * std]


def mean_time_ratio(gold_times: Sequence[float], pred_times: Sequence[float]) -> float:
    """Official R-VES time ratio: mean of gold/pred time per repetition, 3σ outliers dropped."""
    if len(gold_times) != len(pred_times) or not gold_times:
        raise ValueError("need one gold and one predicted time per repetition")
    # A zero predicted time (timer resolution) would divide by zero; the official code
    # would then score 0. Treat it as one nanosecond instead.
    ratios = [g / max(p, 1e-9) for g, p in zip(gold_times, pred_times, strict=True)]
    kept = drop_outliers(ratios)
    return sum(kept) / len(kept)


def ves_reward(time_ratio: float) -> float:
    """The official R-VES reward bucket for one EX-correct example (0 for a ratio of 0)."""
    if time_ratio <= 0:
        return 0.0
    if time_ratio >= 2:
        return 1.25
    if time_ratio >= 1:
        return 1.0
    if time_ratio >= 0.5:
        return 0.75
    if time_ratio >= 0.25:
        return 0.5
    return 0.25


def r_ves_value(reward: float) -> float:
    """An example's contribution to R-VES: sqrt(reward).

    The official score is mean(sqrt(reward)) * 100 over all examples (incorrect ones
    count 0), so the mean of this per-row value times 100 is the official R-VES.
    """
    return math.sqrt(reward)
