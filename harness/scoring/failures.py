"""A deterministic label for why a prediction is wrong, for error analysis tables.

Labels, checked in this order (the first that applies wins):
  no_select      nothing that looks like SQL (empty, or prose only)
  prose_wrapped  SQL buried in prose ("Here is the query: SELECT ...")
  timeout        the query hit the time limit
  resource_limit the result or a value exceeded the size limits, or the worker crashed
  wrong_schema   unknown table/column (or an ambiguous column)
  syntax_error   SQLite (or sqlglot) could not parse it
  execution_error any other SQLite error (misused aggregate, wrong argument count, ...)
  missing_join   ran, but uses fewer of the gold query's tables
  unneeded_join  ran, but joins tables the gold query does not use
  wrong_columns  ran, but selects a different number or set of columns
  wrong_order    same rows as gold, in another order (gold has ORDER BY)
  wrong_filter   same tables and columns, different WHERE/HAVING conditions
  wrong_rows     anything else
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from harness.scoring.engine.sandbox import ExecResult

_SQL_START = re.compile(r"^\s*(\(\s*)*(select|with)\b", re.IGNORECASE)
_SQL_ANYWHERE = re.compile(r"\b(select|with)\b", re.IGNORECASE)
_SCHEMA_ERRORS = ("no such table", "no such column", "ambiguous column name")
_SYNTAX_ERRORS = ("syntax error", "incomplete input", "unrecognized token")


def _parse(sql: str) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return None


def _tables(tree: exp.Expression) -> set[str]:
    return {t.name.lower() for t in tree.find_all(exp.Table) if t.name}


def _conditions(tree: exp.Expression) -> set[str]:
    found = set()
    for clause in (*tree.find_all(exp.Where), *tree.find_all(exp.Having)):
        found.add(clause.this.sql(dialect="sqlite").lower())
    return found


def _select_width(tree: exp.Expression) -> int | None:
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    return len(select.expressions) if select is not None else None


def label_failure(
    pred_sql: str,
    gold_sql: str,
    pred: ExecResult | None,
    gold: ExecResult | None,
) -> str:
    """Why `pred_sql` is wrong; call only for a prediction scored incorrect."""
    text = pred_sql.strip()
    if not text or not _SQL_ANYWHERE.search(text):
        return "no_select"
    if not _SQL_START.match(text):
        return "prose_wrapped"
    if pred is None:
        return "no_select"
    if pred.status == "timeout":
        return "timeout"
    if pred.status in ("too_large", "crash"):
        return "resource_limit"
    if pred.status == "error":
        message = (pred.error or "").lower()
        if any(m in message for m in _SCHEMA_ERRORS):
            return "wrong_schema"
        if any(m in message for m in _SYNTAX_ERRORS):
            return "syntax_error"
        return "execution_error"
    p_tree, g_tree = _parse(text), _parse(gold_sql)
    if p_tree is not None and g_tree is not None:
        p_tables, g_tables = _tables(p_tree), _tables(g_tree)
        if not g_tables <= p_tables:
            return "missing_join"
        if p_tables - g_tables:
            return "unneeded_join"
    if gold is not None and gold.rows is not None and pred.rows is not None:
        g_width = len(gold.rows[0]) if gold.rows else None
        p_width = len(pred.rows[0]) if pred.rows else None
        if g_width is not None and p_width is not None and g_width != p_width:
            return "wrong_columns"
        if Counter(gold.rows) == Counter(pred.rows) and list(gold.rows) != list(pred.rows):
            return "wrong_order"
    if p_tree is not None and g_tree is not None:
        if _select_width(p_tree) != _select_width(g_tree):
            return "wrong_columns"
        if _conditions(p_tree) != _conditions(g_tree):
            return "wrong_filter"
    return "wrong_rows"


def _cell(value: object) -> object:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "..."
    return value


def describe_mismatch(gold: ExecResult | None, pred: ExecResult | None) -> dict | None:
    """What differed, small enough for rows.jsonl: error text, sizes, first differing rows."""
    if pred is None or gold is None:
        return None
    if pred.status != "ok":
        return {"pred_status": pred.status, "pred_error": pred.error}
    if gold.status != "ok":
        return {"gold_status": gold.status, "gold_error": gold.error}
    g_rows: Sequence[tuple] = gold.rows or []
    p_rows: Sequence[tuple] = pred.rows or []
    info: dict = {
        "gold_rows": len(g_rows),
        "pred_rows": len(p_rows),
        "gold_cols": len(g_rows[0]) if g_rows else None,
        "pred_cols": len(p_rows[0]) if p_rows else None,
    }
    p_bag, g_bag = Counter(p_rows), Counter(g_rows)
    missing = next((r for r in g_rows if g_bag[r] > p_bag.get(r, 0)), None)
    extra = next((r for r in p_rows if p_bag[r] > g_bag.get(r, 0)), None)
    if missing is not None:
        info["first_gold_row_missing"] = [_cell(v) for v in missing]
    if extra is not None:
        info["first_pred_row_extra"] = [_cell(v) for v in extra]
    if missing is None and extra is None:
        first = next(
            (i for i, (g, p) in enumerate(zip(g_rows, p_rows, strict=False)) if g != p), None
        )
        if first is not None:
            info["first_order_difference"] = {
                "index": first,
                "gold": [_cell(v) for v in g_rows[first]],
                "pred": [_cell(v) for v in p_rows[first]],
            }
    return info
