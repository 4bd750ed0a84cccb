"""Judge one BIRD prediction inside a scoring worker: ex, ex_strict, soft_f1, r_ves.

Follows the official mini-dev evaluator (bird-bench/mini_dev, evaluation/): the predicted
SQL runs as given (no rewriting), a failing or timed-out query scores 0, results compare
as sets (ex) and by the official Soft-F1. Beside those, `ex_strict` (bags, lists when the
gold orders its rows) and the gold-validity report the official scripts lack. Never raises.

Time budget (documented in bird/README.md). The official scripts give pred + gold one
absolute 30 s, so what passes depends on the grader's machine. Here the prediction gets

    budget = min(options.timeout_s, max(floor, factor * gold_time))

with factor 10 and floor 5 s by default (`--bird-timeout-factor` / `--bird-timeout-floor`,
ScoreOptions' fields): a prediction may be ten
times slower than the gold query on the same machine, never less than 5 s, never more
than the global cap. The gold itself runs under the cap; a gold that fails or exceeds it
makes the row `reference_invalid` (reported with its reason, and scored 0 as the official
evaluator scores it).
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType

from harness.errors import DataError
from harness.records import Row
from harness.scoring.bird import metrics as bm
from harness.scoring.bird.references import listed_exception
from harness.scoring.engine.sandbox import ExecResult
from harness.scoring.engine.worker import JudgeTask, WorkerContext
from harness.scoring.failures import describe_mismatch, label_failure
from harness.scoring.options import ScoreOptions

# ---------------------------------------------------------------- helpers


def gold_orders_rows(gold_sql: str) -> bool:
    """Whether the gold's *outermost* query has ORDER BY (an inner one orders nothing)."""
    if "order" not in gold_sql.lower():
        return False  # no ORDER BY anywhere: the parse could only say so, more slowly
    try:
        tree = sqlglot.parse_one(gold_sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        # No tree to look at: go by the words, erring towards the order-aware comparison.
        return "order by" in " ".join(gold_sql.lower().split())
    while isinstance(tree, (exp.Subquery, exp.Paren)):
        tree = tree.this
    return bool(tree.args.get("order"))


@functools.cache
def _tokenizer() -> Tokenizer:
    # One per process: sqlglot's Dialect.tokenize builds a new tokenizer on every call, and
    # each tokenize() starts from a clean state, so sharing one changes nothing.
    return SQLite().tokenizer()


def has_statement(sql: str) -> bool:
    """False for text SQLite runs as nothing (blank, comments, ``;``): no answer at all."""
    try:
        return any(t.token_type != TokenType.SEMICOLON for t in _tokenizer().tokenize(sql))
    except (TokenError, ValueError):
        return bool(sql.strip())


def prediction_budget(options: ScoreOptions, gold_time_s: float) -> float:
    floor, factor = options.bird_timeout_floor_s, options.bird_timeout_factor
    return min(options.timeout_s, max(floor, factor * gold_time_s))


def _gold_time(ctx: WorkerContext, db: Path, sql: str, result: ExecResult, cap: float) -> float:
    """The gold query's own run time on this machine.

    A gold-cache hit carries the time measured when the entry was stored, so the budget
    does not depend on whether the cache was warm. A result without a time (elapsed 0)
    is timed once more here, and that time is kept for this worker.
    """
    if result.elapsed_s > 0:
        return result.elapsed_s
    key = ("bird-gold-time", str(db), sql)
    if key not in ctx.memo:
        ctx.memo[key] = ctx.run(db, sql, timeout_s=cap).elapsed_s
    return ctx.memo[key]


def _r_ves(
    ctx: WorkerContext, db: Path, pred: str, gold: str, repeats: int, budget: float, cap: float
) -> tuple[float, float | None, str | None]:
    """(sqrt(reward), mean time ratio, problem) over `repeats` timed runs of pred then gold."""
    pred_times: list[float] = []
    gold_times: list[float] = []
    for _ in range(repeats):
        # A blank prediction is timed too: the official evaluator times SQLite doing nothing.
        p = ctx.run(db, pred, timeout_s=budget)
        if p.status != "ok":
            return 0.0, None, f"timing run of the prediction: {p.status}"
        pred_times.append(p.elapsed_s)
        g = ctx.run(db, gold, timeout_s=cap)
        if g.status != "ok":
            return 0.0, None, f"timing run of the gold: {g.status}"
        gold_times.append(g.elapsed_s)
    ratio = bm.mean_time_ratio(gold_times, pred_times)
    return bm.r_ves_value(bm.ves_reward(ratio)), ratio, None


# ---------------------------------------------------------------- the judge


def judge_bird(task: JudgeTask, ctx: WorkerContext) -> Row:
    example, options = task.example, task.options
    pred_sql = task.pred_sql if isinstance(task.pred_sql, str) else ""
    repeats = options.r_ves_repeats
    row: Row = {
        "id": example.id,
        "db_id": example.db_id,
        "difficulty": example.difficulty,
        "hardness": None,
        "pred_sql": pred_sql,
        "gold_sql": example.gold_sql,
        "ex": 0,
        "ex_strict": 0,
        "soft_f1": 0.0,
        "r_ves": 0.0 if repeats > 0 else None,
        "em": None,
        # In test-suite mode every row has a verdict (0 until shown otherwise).
        "ts": 0 if len(task.example.db_paths) > 1 else None,
        "reference_invalid": False,
        "reference_listed": False,
        "reference_reason": None,
        "error": None,
        "mismatch": None,
        "failure": None,
    }
    try:
        entry = listed_exception(example, options.bird_exceptions)
    except DataError as exc:
        entry = None
        row["reference_reason"] = f"exception list unreadable: {exc}"
    if entry is not None:
        row.update(
            reference_invalid=True,
            reference_listed=True,
            reference_reason=f"listed: {entry['reason']} ({entry['source']})",
        )
    if not example.db_paths:
        row.update(error="database missing", failure="missing_database")
        return row
    db = example.db_paths[0]
    cap = options.timeout_s

    gold = ctx.gold(db, example.gold_sql, timeout_s=cap)
    if gold.status != "ok":
        why = (
            f"gold exceeded the {cap:g} s budget"
            if gold.status == "timeout"
            else f"gold failed ({gold.status}): {gold.error}"
        )
        reason = row["reference_reason"]
        row.update(
            reference_invalid=True,
            reference_reason=f"{reason}; {why}" if reason else why,
            error=why,
            mismatch={"gold_status": gold.status, "gold_error": gold.error},
            failure="reference_invalid",
        )
        return row
    gold_rows = gold.rows or []
    budget = prediction_budget(options, _gold_time(ctx, db, example.gold_sql, gold, cap))
    row["budget_s"] = round(budget, 3)

    pred = ctx.run(db, pred_sql, timeout_s=budget)
    if pred.status != "ok":
        row.update(
            error=pred.error or pred.status,
            mismatch=describe_mismatch(gold, pred),
            failure=label_failure(pred_sql, example.gold_sql, pred, gold),
        )
        if pred.status == "timeout":
            row["mismatch"] = {**(row["mismatch"] or {}), "budget_s": round(budget, 3)}
        return row
    pred_rows = pred.rows or []

    row["ex"] = bm.ex(pred_rows, gold_rows)
    row["soft_f1"] = bm.soft_f1(pred_rows, gold_rows)
    answered = has_statement(pred_sql)
    row["ex_strict"] = (
        bm.ex_strict(pred_rows, gold_rows, lambda: gold_orders_rows(example.gold_sql))
        if answered
        else 0
    )
    if row["ex"] and repeats > 0:
        value, ratio, problem = _r_ves(ctx, db, pred_sql, example.gold_sql, repeats, budget, cap)
        row["r_ves"] = value
        row["ves_time_ratio"] = ratio
        if problem:
            row["error"] = problem
    if not row["ex"] or not row["ex_strict"]:
        row["mismatch"] = describe_mismatch(gold, pred)
        if not answered:
            row["mismatch"] = {**(row["mismatch"] or {}), "pred_statement": "none"}
    if not row["ex"]:
        row["failure"] = label_failure(pred_sql, example.gold_sql, pred, gold)
    if len(example.db_paths) > 1:
        row["ts"] = _test_suite(ctx, example.db_paths[1:], pred_sql, example.gold_sql, cap, options)
        row["ts"] = row["ts"] if row["ex"] else 0
    return row


def _test_suite(
    ctx: WorkerContext,
    variants: tuple[Path, ...],
    pred_sql: str,
    gold_sql: str,
    cap: float,
    options: ScoreOptions,
) -> int:
    """`ts` (ours, not an official BIRD metric): BIRD's set-based EX on every variant of a
    test suite; the first variant that tells the prediction apart ends the search."""
    for db in variants:
        gold = ctx.gold(db, gold_sql, timeout_s=cap)
        if gold.status != "ok":
            return 0
        budget = prediction_budget(options, _gold_time(ctx, db, gold_sql, gold, cap))
        pred = ctx.run(db, pred_sql, timeout_s=budget)
        if pred.status != "ok" or not bm.ex(pred.rows or [], gold.rows or []):
            return 0
    return 1
