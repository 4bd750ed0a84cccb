"""`--plug-value`: judge the prediction's structure, not its literal values.

The official evaluator's rule (exec_eval.py `get_all_preds_for_execution`): every literal
of the prediction (strings and numbers, LIMIT counts included) is a slot; every way of
filling the slots with the gold query's literals is tried after the prediction as
written, and the prediction is correct if any of them is. The official code finds
literals with sqlparse and regular expressions; here they come from sqlglot's tree, so
the same slots are found on ordinary Spider queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

MAX_ALTERNATIVES = 100_000


def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return None


def plugged_predictions(gold_sql: str, pred_sql: str) -> Iterator[str]:
    """The prediction with its literals replaced by every combination of gold literals."""
    gold, pred = _parse(gold_sql), _parse(pred_sql)
    if gold is None or pred is None:
        return
    values: list[exp.Literal] = []
    seen: set[tuple[bool, str]] = set()
    for lit in gold.find_all(exp.Literal):
        key = (lit.is_string, lit.this)
        if key not in seen:
            seen.add(key)
            values.append(lit)
    slots = list(pred.find_all(exp.Literal))
    if not slots or not values or len(values) ** len(slots) > MAX_ALTERNATIVES:
        return
    for combo in product(values, repeat=len(slots)):
        tree = pred.copy()
        for slot, value in zip(list(tree.find_all(exp.Literal)), combo, strict=True):
            slot.replace(value.copy())
        yield tree.sql(dialect="sqlite")
