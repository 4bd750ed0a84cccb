"""The official evaluator's text preprocessing, reproduced step by step."""

from __future__ import annotations

from harness.predictions import prediction_text
from harness.scoring import official_compat as oc


def test_prediction_line_is_stripped_and_cut_at_tab():
    assert prediction_text("  SELECT 1\tconcert_singer\n") == "SELECT 1"


def test_jsonl_prediction_made_one_line_keeping_literal_spaces():
    assert oc.official_prediction("SELECT a\nFROM t\tWHERE b = 'x  y'\n") == (
        "SELECT a FROM t WHERE b = 'x  y'"
    )


def test_value_placeholder_replaced_case_sensitively():
    assert oc.official_prediction("SELECT value FROM t WHERE Value = 'value'") == (
        "SELECT 1 FROM t WHERE Value = '1'"
    )


def test_split_comparisons_joined():
    assert oc.join_split_comparisons("a > = 1 and b < = 2 and c ! = 3") == (
        "a >= 1 and b <= 2 and c != 3"
    )


def test_distinct_removed_as_tokens_only():
    sql = "SELECT DISTINCT name, count(distinct x) FROM t WHERE a = 'distinct'"
    assert oc.remove_distinct(sql) == "SELECT  name, count( x) FROM t WHERE a = 'distinct'"


def test_keep_distinct_leaves_query_alone():
    assert oc.exec_text("SELECT DISTINCT a FROM t", keep_distinct=True) == (
        "SELECT DISTINCT a FROM t"
    )


def test_untokenizable_text_is_returned_unchanged():
    assert oc.remove_distinct("SELECT 'unterminated") == "SELECT 'unterminated"


def test_order_matters_is_the_official_substring_test():
    assert oc.order_matters("select a from t ORDER BY a")
    assert not oc.order_matters("select a from t order  by a")


def test_cur_year():
    assert oc.replace_cur_year("SELECT YEAR(CURDATE()) - age FROM t") == "SELECT 2020- age FROM t"
