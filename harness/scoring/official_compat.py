"""The official Spider evaluator's text preprocessing, reproduced so our verdicts match its.

Each step is a deviation from plain SQL that the official evaluator
(taoyds/test-suite-sql-eval, evaluation.py / exec_eval.py) applies; the README lists them:

1. A prediction line is cut at its first TAB (text after it is ignored) and stripped.
   A JSONL prediction is first made one line: each newline or TAB becomes a space.
2. Every lowercase substring ``value`` of a *prediction* becomes ``1`` (a placeholder
   convention of older Spider models). This also rewrites identifiers such as
   ``value_usd`` and aliases named ``value``; that is the official behaviour.
3. For execution only, ``> =``, ``< =`` and ``! =`` are joined in both queries.
4. For execution only and unless keep-distinct is set, every DISTINCT keyword token is
   removed from both queries.
5. At execution, ``YEAR(CURDATE())`` becomes ``2020`` (MySQL idiom SQLite lacks).
6. Row order matters only when the *gold* query text contains ``order by``
   (lowercased substring test, exactly one space).
"""

from __future__ import annotations

import functools
import re

_CUR_YEAR = re.compile(r"YEAR\s*\(\s*CURDATE\s*\(\s*\)\s*\)\s*", flags=re.IGNORECASE)


@functools.cache
def _tokenizer():  # type: ignore[no-untyped-def]
    # Imported on first use: writing an official-format file needs this module, not sqlglot.
    from sqlglot.tokens import Tokenizer

    return Tokenizer()


def as_line(sql: str) -> str:
    """A multi-line query as one line of the official format (string literals keep their
    inner spaces; only line breaks and TABs change)."""
    return sql.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")


def replace_value_placeholder(pred: str) -> str:
    return pred.replace("value", "1")


def join_split_comparisons(sql: str) -> str:
    return sql.replace("> =", ">=").replace("< =", "<=").replace("! =", "!=")


def remove_distinct(sql: str) -> str:
    """Drop every DISTINCT keyword token, keeping the rest of the text byte for byte.

    Works on sqlglot's token spans, so a string literal or identifier that merely
    contains the word is untouched. Text sqlglot cannot tokenize is returned as is: such
    a query cannot run in SQLite either, so the verdict does not change.
    """
    if "distinct" not in sql.lower():
        return sql
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = _tokenizer().tokenize(sql)
    except TokenError:
        return sql
    spans = [
        (tok.start, tok.end + 1)
        for tok in tokens
        if tok.token_type == TokenType.DISTINCT and tok.text.lower() == "distinct"
    ]
    if not spans:
        return sql
    out, pos = [], 0
    for start, end in spans:
        out.append(sql[pos:start])
        pos = end
    out.append(sql[pos:])
    return "".join(out)


def replace_cur_year(sql: str) -> str:
    return _CUR_YEAR.sub("2020", sql)


def order_matters(gold_for_exec: str) -> bool:
    return "order by" in gold_for_exec.lower()


def exec_text(sql: str, keep_distinct: bool) -> str:
    """The query text the official evaluator executes (steps 3-5), for pred or gold."""
    sql = join_split_comparisons(sql)
    if not keep_distinct:
        sql = remove_distinct(sql)
    return sql


def official_prediction(sql: str) -> str:
    """Steps 1-2: the prediction string the official evaluator parses and executes, for a
    prediction already cut from its line (see `prediction_text`)."""
    return replace_value_placeholder(as_line(sql).strip())
