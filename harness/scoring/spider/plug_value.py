"""`--plug-value`: judge the prediction's structure, not its literal values.

Reproduces the official evaluator's `get_all_preds_for_execution` (test-suite-sql-eval
parse.py, commit e97acc5) step by step; the comments name the official function each
step comes from. Both queries arrive as the official evaluator passes them: after the
`value`->`1` rewrite (prediction only), the `> =` joins and DISTINCT removal.

- A query is rebuilt from its sqlparse tokens (first statement only) joined by single
  spaces, with `;` and TABs deleted everywhere, string literals included.
- Its values are, in this order: every quoted token ('...' and "..." alike: a
  double-quoted identifier is a value too), each replaced by a slot wherever its text
  occurs; then every whitespace-separated word that equals a match of the float pattern
  `[-+]?\\d*\\.\\d+`, then one that equals a match of `[^tT]\\d+` (so `LIMIT 3` and
  `AS 1` are slots, `T1` is not). Every other word is lower-cased.
- The gold's values form a set (duplicates collapse; `'x'` and `"x"` stay distinct).
  Every assignment of gold values to the prediction's slots is tried, with no limit on
  their number; a prediction without slots yields one rebuilt query, a gold without
  values none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import product

from harness.scoring.spider.lexer import Kind, first_statement, statements, tokenize

_SLOT = "VALUERARE"
_FLOAT = re.compile(r"[-+]?\d*\.\d+")
_INT = re.compile(r"[^tT]\d+")
_TABLE_DOT = re.compile(r"[Tt]\d+\.")
_GLUE_TABLE = re.compile(r"(T\d+\.)\s")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_T_STARS = ("t1.*", "t2.*", "t3.*", "T1.*", "T2.*", "T3.*")


def _reformat(sql: str) -> str:
    """reformat_query."""
    sql = sql.strip().replace(";", "").replace("\t", "")
    sql = " ".join(t.text for t in first_statement(sql) if t.kind is not Kind.SPACE)
    for star in _T_STARS:
        sql = sql.replace(star, "*")
    return sql


def _format(sql: str) -> str:
    """sqlparse.format(sql, keyword_case='upper') up to letter case, which the later
    steps discard: statements split at GO, each with its lines right-stripped, are
    concatenated without a separator."""
    parts = []
    for stmt in statements(tokenize(sql), keywords_upper=True):
        text = "".join(t.text for t in stmt)
        parts.append("\n".join(line.rstrip() for line in _NEWLINE.split(text)))
    return "".join(parts)


def _strip_query(query: str) -> tuple[list[str], list[str]]:
    """strip_query: the lower-cased words with each value replaced by a slot, and the
    values in the order found."""
    values = [t.text for t in first_statement(query) if t.kind is Kind.STRING]
    for val in values:
        query = query.replace(val.strip(), _SLOT)
    words = query.split()
    floats = _FLOAT.findall(query)
    values += [w for w in words if w in floats]
    words = [_SLOT if w in floats else w for w in words]
    ints = [i.strip() for i in _INT.findall(" ".join(words))]
    values += [w for w in words if w in ints]
    words = [_SLOT if w in ints else w for w in words]
    out: list[str] = []
    for word in words:
        if "." in word and _TABLE_DOT.search(word):
            out.extend(p.lower() for p in word.replace(".", " . ").split())
        elif word:
            out.append(word.lower())
    return out, values


def query_values(sql: str) -> tuple[list[str], set[str]]:
    """extract_query_values: (the query's words with value slots, its set of values)."""
    words, values = _strip_query(_GLUE_TABLE.sub(r"\1", _format(_reformat(sql))))
    return words, set(values)


def count_alternatives(gold_sql: str, pred_sql: str) -> int:
    """How many plugged queries `plugged_predictions` yields."""
    _, values = query_values(gold_sql)
    words, _ = query_values(pred_sql)
    return len(values) ** words.count(_SLOT.lower())


def plugged_predictions(gold_sql: str, pred_sql: str) -> Iterator[str]:
    """The prediction with its value slots filled by every combination of gold values
    (plugin_all_permutations); the official evaluator tries these after the prediction
    as written. Values are tried in sorted order so a run is reproducible (the official
    order is a set's, which cannot change the verdict: any passing query decides it)."""
    _, gold_values = query_values(gold_sql)
    words, _ = query_values(pred_sql)
    slots = [i for i, w in enumerate(words) if w == _SLOT.lower()]
    values = sorted(gold_values)
    for combo in product(values, repeat=len(slots)):
        filled = list(words)
        for i, value in zip(slots, combo, strict=True):
            filled[i] = value
        yield " ".join(filled)
