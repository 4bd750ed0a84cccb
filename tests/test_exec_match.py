"""The Spider test-suite result comparison rules, case by case."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from harness.scoring.exec_match import results_equal


def test_bags_ignore_row_order_without_order_by():
    assert results_equal([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], order_matters=False)


def test_row_order_matters_when_gold_orders():
    assert not results_equal([(1,), (2,)], [(2,), (1,)], order_matters=True)
    assert results_equal([(1,), (2,)], [(1,), (2,)], order_matters=True)


def test_duplicates_count_as_a_bag():
    assert not results_equal([(1,), (1,), (2,)], [(1,), (2,), (2,)], order_matters=False)
    assert not results_equal([(1,), (1,)], [(1,)], order_matters=False)


def test_column_order_is_searched():
    gold = [(1, "x", 3.5), (2, "y", 4.5)]
    pred = [(3.5, 1, "x"), (4.5, 2, "y")]
    assert results_equal(gold, pred, order_matters=False)
    assert results_equal(gold, pred, order_matters=True)


def test_column_permutation_must_be_one_for_all_rows():
    gold = [(1, 2), (3, 4)]
    pred = [(1, 2), (4, 3)]  # each row matches under some permutation, not the same one
    assert not results_equal(gold, pred, order_matters=False)


def test_wide_results_use_pruned_permutations():
    gold = [(1, 2, 3, 4, 5), (6, 7, 8, 9, 10)]
    pred = [(5, 4, 3, 2, 1), (10, 9, 8, 7, 6)]
    assert results_equal(gold, pred, order_matters=False)
    assert not results_equal(gold, [(5, 4, 3, 2, 1), (10, 9, 8, 6, 7)], order_matters=False)


def test_empty_results_are_equal_whatever_their_width():
    assert results_equal([], [], order_matters=True)


def test_width_and_length_must_match():
    assert not results_equal([(1, 2)], [(1,)], order_matters=False)
    assert not results_equal([(1,)], [], order_matters=False)


def test_int_and_float_compare_equal_as_python_does():
    assert results_equal([(1,)], [(1.0,)], order_matters=False)
    assert not results_equal([(1,)], [("1",)], order_matters=False)


def test_none_values():
    assert results_equal([(None, 1)], [(1, None)], order_matters=False)


def test_equal_text_of_different_types_sorts_by_type_in_the_quick_check():
    # The official row key sorts cells by text + type name: 1 and "1" sort apart, so a
    # swapped pair of them still passes the quick check and the permutation search.
    assert results_equal([(1, "1")], [("1", 1)], order_matters=False)
    assert results_equal([(1, "1"), (2, "2")], [("1", 1), ("2", 2)], order_matters=True)


def _brute_force(gold, pred, order_matters):
    """Some column permutation makes pred equal gold (list or bag): every one is tried."""
    if not gold and not pred:
        return True
    if len(gold) != len(pred) or len(gold[0]) != len(pred[0]):
        return False
    for perm in itertools.permutations(range(len(gold[0]))):
        permuted = [tuple(row[j] for j in perm) for row in pred]
        if permuted == list(gold) if order_matters else Counter(permuted) == Counter(gold):
            return True
    return False


def test_agrees_with_trying_every_permutation_on_random_results():
    # Small integer domains make ties, repeated rows and several candidate column maps
    # (the pruned search for width >= 4 must backtrack); half the cases are true matches
    # (pred = gold with its columns and maybe its rows permuted). Integers only: mixed
    # int/float rows hit the official quick check's text-sort quirk, tested above.
    rng = random.Random(0)
    for _ in range(3000):
        width, n = rng.randint(1, 5), rng.randint(1, 4)
        gold = [tuple(rng.randint(0, 2) for _ in range(width)) for _ in range(n)]
        pred = [tuple(rng.randint(0, 2) for _ in range(width)) for _ in range(n)]
        if rng.random() < 0.5:
            perm = rng.sample(range(width), width)
            pred = [tuple(row[j] for j in perm) for row in gold]
            if rng.random() < 0.5:
                rng.shuffle(pred)
        ordered = rng.random() < 0.5
        expected = _brute_force(gold, pred, ordered)
        assert results_equal(gold, pred, ordered) == expected, (gold, pred, ordered)
