"""Failure labels: one deterministic label per wrong prediction, first match wins."""

from __future__ import annotations

import pytest

from harness.scoring.engine.sandbox import ExecResult
from harness.scoring.failures import describe_mismatch, label_failure

GOLD = (
    "SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.singer_id "
    "WHERE T2.year = 2014"
)


def ok(rows):
    return ExecResult(status="ok", rows=rows, error=None, elapsed_s=0.0)


def err(message, status="error"):
    return ExecResult(status=status, rows=None, error=message, elapsed_s=0.0)


GOLD_ROWS = ok([("Ann",), ("Cy",)])


@pytest.mark.parametrize(
    ("pred_sql", "pred", "expected"),
    [
        ("", None, "no_select"),
        ("I cannot answer that.", None, "no_select"),
        ("Sure! Here is the query: SELECT name FROM singer", err("near 'Sure'"), "prose_wrapped"),
        ("SELECT count(*) FROM r", err("interrupted", "timeout"), "timeout"),
        ("SELECT x FROM big", err("result too large", "too_large"), "resource_limit"),
        ("SELECT x FROM big", err("crash: SIGSEGV", "crash"), "resource_limit"),
        ("SELECT nme FROM singer", err("no such column: nme"), "wrong_schema"),
        ("SELECT name FROM singers", err("no such table: singers"), "wrong_schema"),
        ("SELECT name FROM singer WHERE", err('incomplete input'), "syntax_error"),
        ("SELECT name FROM singer WHER x", err('near "x": syntax error'), "syntax_error"),
        ("SELECT max(max(id)) FROM singer", err("misuse of aggregate function max()"),
         "execution_error"),
        ("SELECT name FROM singer WHERE age > 30", ok([("Bob",)]), "missing_join"),
        ("SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.singer_id "
         "JOIN stadium AS T3 ON T2.stadium_id = T3.id WHERE T2.year = 2014",
         ok([("Ann",)]), "unneeded_join"),
        ("SELECT T1.name, T1.age FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.singer_id "
         "WHERE T2.year = 2014", ok([("Ann", 25), ("Cy", 35)]), "wrong_columns"),
        ("SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.singer_id "
         "WHERE T2.year = 2015", ok([("Bob",)]), "wrong_filter"),
        ("SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.id = T2.singer_id "
         "WHERE T2.year = 2014 LIMIT 1", ok([("Ann",)]), "wrong_rows"),
    ],
)  # fmt: skip
def test_labels(pred_sql, pred, expected):
    assert label_failure(pred_sql, GOLD, pred, GOLD_ROWS) == expected


def test_wrong_order_needs_same_bag_in_another_order():
    gold_sql = "SELECT name FROM singer ORDER BY age DESC"
    pred_sql = "SELECT name FROM singer ORDER BY age"
    assert label_failure(pred_sql, gold_sql, ok([("Ann",), ("Bob",)]),
                         ok([("Bob",), ("Ann",)])) == "wrong_order"  # fmt: skip


def test_mismatch_names_first_missing_and_extra_rows():
    info = describe_mismatch(ok([(1, "a"), (2, "b")]), ok([(1, "a"), (3, "c"), (4, "d")]))
    assert info["gold_rows"] == 2 and info["pred_rows"] == 3
    assert info["first_gold_row_missing"] == [2, "b"]
    assert info["first_pred_row_extra"] == [3, "c"]


def test_mismatch_for_an_error_carries_the_message():
    info = describe_mismatch(GOLD_ROWS, err("no such column: nme"))
    assert info == {"pred_status": "error", "pred_error": "no such column: nme"}


def test_mismatch_cells_are_kept_small():
    info = describe_mismatch(ok([("x" * 500, b"\x00" * 10)]), ok([]))
    cell, blob = info["first_gold_row_missing"]
    assert len(cell) == 203 and blob == "<10 bytes>"
