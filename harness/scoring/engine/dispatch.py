"""Judge a list of tasks: reuse stored verdicts, judge each distinct remaining task once in
the isolated worker pool, and say what the caches did.

The pool (harness.scoring.engine.pool) gives every task its crash and hang isolation; this module
only decides which tasks need it. Tasks whose verdict key (harness.scoring.engine.verdict_cache)
is already stored, or equals another task's in the same run, are not sent to a worker: their
row is a copy with the example's own id. When every verdict is known, no worker starts.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import Row
from harness.scoring.engine.gold_cache import CacheStats
from harness.scoring.engine.pool import run_isolated
from harness.scoring.engine.verdict_cache import VerdictCache, verdict_key
from harness.scoring.engine.worker import JudgeTask, WorkerContext, current_context, init_worker
from harness.scoring.families import FAMILIES, Family, judge_of
from harness.scoring.options import ScoreOptions
from harness.scoring.sampled import vote_key


@dataclass
class Outcome:
    """A worker's answer for one task: the row, what the gold cache did, and whether the
    row may be stored for reuse (False once anything in it depended on the clock)."""

    row: Row
    cache: CacheStats = field(default_factory=CacheStats)
    reusable: bool = False


@dataclass
class Dispatched:
    rows: list[Row]
    gold_cache: CacheStats
    verdict_cache: CacheStats  # failures of the verdict store itself
    reused: int = 0  # rows copied from stored verdicts
    duplicates: int = 0  # rows copied from an identical task in this run
    judged: int = 0  # tasks sent to workers


def judge_in_worker(task: JudgeTask) -> Outcome:
    ctx = current_context()
    key = ("judge", ctx.family)
    judge = ctx.memo.get(key)
    if judge is None:
        judge = ctx.memo[key] = judge_of(FAMILIES[ctx.family])
    ctx.settled = True
    try:
        row = judge(task, ctx)
        if task.vote:
            row["vote_key"] = vote_key(ctx, task.example, task.pred_sql)
    except Exception as exc:  # a judge bug costs one row, labelled, never the run
        row = failed_row(task, f"internal error: {type(exc).__name__}: {exc}")
        ctx.settled = False
    return Outcome(row, ctx.take_cache_stats(), ctx.settled)


def failed_row(task: JudgeTask, reason: str) -> Row:
    ex = task.example
    label = "timeout" if reason.startswith("timeout") else "resource_limit"
    return {
        "id": ex.id,
        "db_id": ex.db_id,
        "pred_sql": task.pred_sql,
        "gold_sql": ex.gold_sql,
        "ex": 0,
        "ts": 0 if len(ex.db_paths) > 1 else None,
        "error": reason,
        "mismatch": None,
        "failure": label,
    }


def _failed_outcome(task: JudgeTask, reason: str) -> Outcome:
    return Outcome(failed_row(task, reason))


def _verdict_options(options: ScoreOptions) -> dict[str, Any]:
    # Everything in ScoreOptions that can change a row (the rest is bookkeeping).
    return {
        "keep_distinct": options.keep_distinct,
        "plug_value": options.plug_value,
        "em": options.em,
        "timeout_s": options.timeout_s,
    }


def dispatch(
    tasks: list[JudgeTask],
    context: WorkerContext,
    family: Family,
    options: Any,
    jobs: int,
    hard_timeout_s: float,
    cache_dir: Path | None,
) -> Dispatched:
    from harness.progress import progress_iter

    out = Dispatched([{} for _ in tasks], CacheStats(), CacheStats())
    keys: list[str | None] = [None] * len(tasks)
    store = None
    known: dict[str, Row] = {}
    if family.reusable_verdicts:
        opts = _verdict_options(options)
        schemas: dict[str, str] = {}  # db_id -> its schema entry as canonical JSON
        for i, task in enumerate(tasks):
            ex = task.example
            shas = [context.db_sha256[str(p)] for p in ex.db_paths]
            if ex.db_id not in schemas:
                schemas[ex.db_id] = json.dumps(context.tables.get(ex.db_id), sort_keys=True)
            task_opts = {**opts, "vote": task.vote}  # a sample's row also holds its vote
            keys[i] = verdict_key(
                context.family, task_opts, shas, schemas[ex.db_id], ex.gold_sql, task.pred_sql
            )
        if cache_dir is not None:
            store = VerdictCache(cache_dir, out.verdict_cache)
            known = store.load(k for k in keys if k is not None)

    first_of: dict[str, int] = {}  # key -> the index that is judged for it
    to_judge: list[int] = []
    copies: list[tuple[int, int]] = []  # (index, index judged for it)
    for i, key in enumerate(keys):
        if key is not None and key in known:
            out.rows[i] = _with_id(known[key], tasks[i])
            out.reused += 1
        elif key is not None and key in first_of:
            copies.append((i, first_of[key]))
        else:
            if key is not None:
                first_of[key] = i
            to_judge.append(i)
    out.duplicates = len(copies)
    out.judged = len(to_judge)

    fresh: dict[str, Row] = {}
    if to_judge:
        results = run_isolated(
            judge_in_worker,
            [tasks[i] for i in to_judge],
            jobs=max(1, min(jobs, len(to_judge))),
            hard_timeout_s=hard_timeout_s,
            on_failure=_failed_outcome,
            initializer=functools.partial(init_worker, context),
            preload=family.preload,
        )
        for index, outcome in progress_iter(results, total=len(to_judge), label="scoring"):
            i = to_judge[index]
            out.rows[i] = outcome.row
            out.gold_cache.add(outcome.cache)
            key = keys[i]
            if outcome.reusable and key is not None:
                fresh[key] = outcome.row
    for i, source in copies:  # a duplicate gets its twin's row, whatever it was
        out.rows[i] = _with_id(out.rows[source], tasks[i])
    if store is not None:
        store.store(fresh)
    return out


def _with_id(row: Row, task: JudgeTask) -> Row:
    copy = dict(row)
    copy["id"] = task.example.id
    return copy
