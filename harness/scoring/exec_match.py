"""Whether two query results denote the same answer, by the Spider test-suite rules.

The official rule (Zhong et al. 2020, "Semantic Evaluation for Text-to-SQL with
Distilled Test Suites"; exec_eval.py `result_eq`): two results are equal if some
permutation of the predicted columns makes the rows equal as a bag, or as a list when
the gold query orders its rows. Two empty results are equal whatever their columns.
Only the first row's width is compared, as in the official code.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from itertools import permutations

Row = tuple
Rows = Sequence[Row]


def _unordered(row: Row) -> tuple:
    # The official key: sort cell values by their text and type name, so rows that hold
    # the same values in another column order compare equal at this coarse stage.
    return tuple(sorted(row, key=lambda v: str(v) + str(type(v))))


def _quick_reject(gold: Rows, pred: Rows, ordered: bool) -> bool:
    g = [_unordered(r) for r in gold]
    p = [_unordered(r) for r in pred]
    return g != p if ordered else set(g) != set(p)


def _candidate_permutations(gold: Rows, pred: Rows, width: int) -> Iterator[tuple[int, ...]]:
    """Column permutations that could map pred onto gold.

    A pred column can stand for a gold column only if every value in it occurs in that
    gold column; the official code samples 20 rows for this pruning, we use them all.
    Either way pruning removes only impossible maps, so the verdict is the same.
    """
    if width <= 3:
        yield from permutations(range(width))
        return
    gold_cols = [{row[i] for row in gold} for i in range(width)]
    pred_cols = [{row[j] for row in pred} for j in range(width)]
    allowed = [[j for j in range(width) if pred_cols[j] <= gold_cols[i]] for i in range(width)]

    def extend(i: int, used: set[int], acc: list[int]) -> Iterator[tuple[int, ...]]:
        if i == width:
            yield tuple(acc)
            return
        for j in allowed[i]:
            if j not in used:
                used.add(j)
                acc.append(j)
                yield from extend(i + 1, used, acc)
                acc.pop()
                used.remove(j)

    yield from extend(0, set(), [])


def results_equal(gold: Rows, pred: Rows, order_matters: bool) -> bool:
    if len(gold) == 0 and len(pred) == 0:
        return True
    if len(gold) != len(pred):
        return False
    width = len(gold[0])
    if len(pred[0]) != width:
        return False
    if _quick_reject(gold, pred, order_matters):
        return False
    gold_list = list(gold)
    gold_bag = Counter(gold_list) if not order_matters else None
    for perm in _candidate_permutations(gold, pred, width):
        permuted = [tuple(row[j] for j in perm) for row in pred] if width > 1 else list(pred)
        if order_matters:
            if permuted == gold_list:
                return True
        elif Counter(permuted) == gold_bag:
            return True
    return False
