"""Judge one Spider prediction: execution (and test-suite) match, exact set match, hardness.

Runs inside a scoring worker. Follows the official test-suite evaluator step by step
(see official_compat.py for the text preprocessing it applies); never raises.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from harness.records import Row
from harness.scoring import official_compat as oc
from harness.scoring.engine.sandbox import ExecResult
from harness.scoring.engine.worker import JudgeTask, WorkerContext
from harness.scoring.exec_match import results_equal
from harness.scoring.failures import describe_mismatch, label_failure
from harness.scoring.spider.plug_value import plugged_predictions


def _schema_and_kmap(ctx: WorkerContext, db_id: str, db_path: Any) -> tuple[Any, dict]:
    from harness.scoring.exact_match import foreign_key_map, spider_schema

    key = ("schema", str(db_path))
    if key not in ctx.memo:
        entry = ctx.tables.get(db_id)
        ctx.memo[key] = (spider_schema(db_path), foreign_key_map(entry) if entry else {})
    return ctx.memo[key]


def static_fields(task: JudgeTask, ctx: WorkerContext) -> Row:
    """Hardness and exact match: what can be judged without running the prediction (the
    scorer fills these in for a row whose worker crashed or hung)."""
    return _hardness_and_em(task, ctx, oc.official_prediction(task.pred_sql))


def _hardness_and_em(task: JudgeTask, ctx: WorkerContext, pred: str) -> Row:
    ex = task.example
    out: Row = {"hardness": None, "em": None}
    try:
        from harness.scoring.exact_match import exact_match, hardness

        schema, kmap = _schema_and_kmap(ctx, ex.db_id, ex.db_paths[0])
    except Exception as exc:  # unreadable schema: report, keep scoring execution
        out["hardness_error"] = f"schema: {exc}"
        return out
    try:
        out["hardness"] = hardness(ex.gold_sql, schema)
    except Exception as exc:
        out["hardness_error"] = f"gold not parseable by the official grammar: {exc}"
    if task.options.em:
        try:
            out["em"] = int(bool(exact_match(pred, ex.gold_sql, schema, kmap).em))
        except Exception:
            out["em"] = 0
    return out


def _judge_one(
    ctx: WorkerContext, db_paths: tuple, gold: str, pred: str, ordered: bool
) -> tuple[bool, bool, ExecResult, ExecResult]:
    """(ex on the first database, ts over all variants, gold and pred on the first)."""
    ex_ok = True
    first_gold = first_pred = None
    for i, db in enumerate(db_paths):
        g = ctx.gold(db, gold)
        p = ctx.run(db, pred)
        if i == 0:
            first_gold, first_pred = g, p
        same = g.status == "ok" and p.status == "ok" and results_equal(g.rows, p.rows, ordered)
        if not same:
            if i == 0:
                ex_ok = False
            return ex_ok, False, first_gold, first_pred  # type: ignore[return-value]
    return ex_ok, True, first_gold, first_pred  # type: ignore[return-value]


def judge_spider(task: JudgeTask, ctx: WorkerContext) -> Row:
    ex, opts = task.example, task.options
    pred = oc.official_prediction(task.pred_sql)
    row: Row = {
        "id": ex.id,
        "db_id": ex.db_id,
        "pred_sql": task.pred_sql,
        "gold_sql": ex.gold_sql,
    }
    row.update(_hardness_and_em(task, ctx, pred))
    test_suite = len(ex.db_paths) > 1
    gold_exec = oc.exec_text(ex.gold_sql, opts.keep_distinct)
    ordered = oc.order_matters(gold_exec)
    gold_run = oc.replace_cur_year(gold_exec)

    if not pred.strip():
        row.update(
            ex=0,
            ts=0 if test_suite else None,
            error="empty prediction",
            mismatch=None,
            failure="no_select",
        )
        return row

    # As the official evaluator: the prediction as written first, then (--plug-value)
    # every way of plugging the gold's values into it. The plugging sees both queries
    # after the `> =` joins and DISTINCT removal, and its output is run as it comes.
    pred_exec = oc.exec_text(pred, opts.keep_distinct)
    plugged = plugged_predictions(gold_exec, pred_exec) if opts.plug_value else iter(())
    first: tuple[bool, bool, ExecResult, ExecResult] | None = None
    verdict_ex = verdict_ts = False
    for cand in chain([pred_exec], plugged):
        result = _judge_one(ctx, ex.db_paths, gold_run, oc.replace_cur_year(cand), ordered)
        if first is None:
            first = result
        verdict_ex = verdict_ex or result[0]
        verdict_ts = verdict_ts or result[1]
        if verdict_ex and (verdict_ts or not test_suite):
            break
    assert first is not None
    _, _, gold_res, pred_res = first
    row["ex"] = int(verdict_ex)
    row["ts"] = int(verdict_ts) if test_suite else None
    if gold_res.status != "ok":
        row["error"] = f"gold failed: {gold_res.status}: {gold_res.error}"
        row["reference_invalid"] = True
    else:
        row["error"] = pred_res.error if pred_res.status != "ok" else None
    correct = verdict_ts if test_suite else verdict_ex
    if correct:
        row["mismatch"] = None
        row["failure"] = None
    else:
        row["mismatch"] = describe_mismatch(gold_res, pred_res)
        row["failure"] = label_failure(task.pred_sql, ex.gold_sql, pred_res, gold_res)
    return row
