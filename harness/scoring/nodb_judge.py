"""Judge a prediction when there is no database to run it on (sql-create-context rows).

Two verdicts, both reported apart from execution accuracy and never mixed with it:

- `em`: the official Spider exact set match (values disabled, foreign keys unified) against
  the schema parsed from the example's CREATE TABLE text;
- `string_match`: the prediction and the gold equal after `normalize_sql`: text inside
  quoted literals ('...', "...", `...`) is kept byte for byte; outside them everything is
  lowercased, trailing semicolons are dropped, and every word and every symbol becomes one
  token with one space between tokens (so `COUNT(*)` equals `count ( * )`, and `a>=1`
  equals `a >= 1`).
"""

from __future__ import annotations

import re
from typing import Any

from harness.records import Row
from harness.scoring import official_compat as oc
from harness.scoring.engine.worker import JudgeTask, WorkerContext

_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def normalize_sql(sql: str) -> str:
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    tokens: list[str] = []
    last = 0
    for m in _LITERAL.finditer(text):
        tokens += _TOKEN.findall(text[last : m.start()].lower())
        tokens.append(m.group(0))
        last = m.end()
    tokens += _TOKEN.findall(text[last:].lower())
    return " ".join(tokens)


def _schema(ctx: WorkerContext, db_id: str) -> tuple[Any, dict[str, str]]:
    from harness.scoring.exact_match import SpiderSchema, foreign_key_map

    key = ("nodb-schema", db_id)
    if key not in ctx.memo:
        entry = ctx.tables[db_id]
        names = [t.lower() for t in entry["table_names_original"]]
        columns: dict[str, list[str]] = {t: [] for t in names}
        for t_idx, col in entry["column_names_original"]:
            if t_idx >= 0:
                columns[names[t_idx]].append(col.lower())
        schema = SpiderSchema({t: tuple(c) for t, c in columns.items()})
        ctx.memo[key] = (schema, foreign_key_map(entry))
    return ctx.memo[key]


def judge_nodb(task: JudgeTask, ctx: WorkerContext) -> Row:
    from harness.scoring.exact_match import UnsupportedSQL, exact_match, hardness

    ex = task.example
    row: Row = {
        "id": ex.id,
        "db_id": ex.db_id,
        "pred_sql": task.pred_sql,
        "gold_sql": ex.gold_sql,
        "hardness": None,
        "em": 0,
        "string_match": int(normalize_sql(task.pred_sql) == normalize_sql(ex.gold_sql)),
        "error": None,
        "mismatch": None,
        "failure": None,
    }
    schema, kmap = _schema(ctx, ex.db_id)
    try:
        row["hardness"] = hardness(ex.gold_sql, schema)
        if task.pred_sql.strip():
            row["em"] = int(
                exact_match(oc.official_prediction(task.pred_sql), ex.gold_sql, schema, kmap).em
            )
        else:
            row["error"] = "empty prediction"
    except UnsupportedSQL as exc:
        # The gold is outside the official grammar: no exact-set verdict exists.
        row["em"] = None
        row["error"] = f"gold not parseable by the official grammar: {exc}"
    if row["em"] == 0:
        row["failure"] = "no_select" if not task.pred_sql.strip() else "structure"
    return row
