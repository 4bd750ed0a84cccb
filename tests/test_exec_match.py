"""The Spider test-suite result comparison rules, case by case."""

from __future__ import annotations

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
