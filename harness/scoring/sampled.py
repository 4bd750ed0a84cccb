"""Scoring N samples per example: per-sample verdicts, pass@k and execution-based maj@N.

Each sample is judged like any single prediction, with the benchmark's own comparison
(test-suite included). The per-example row is sample 0's verdict row, plus:

- `samples`: per sample, its SQL, verdicts and `vote_key` (below), so every figure here
  can be recomputed from rows.jsonl alone;
- `n_samples`, `n_correct` (samples correct by the primary metric: TS when the example has
  test-suite databases, else EX);
- `pass@1` and `pass@N`: the unbiased estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021,
  the Codex paper) with n = N samples and c = n_correct;
- `maj@N` and `maj_sample`: the majority vote as OmniSQL does it (RUCKBReasoning/OmniSQL,
  train_and_evaluate/evaluate_bird.py `major_voting`, at a66d732): every sample is
  executed on the example's database (the first one, never the test-suite variants) with a
  10 s limit; a sample whose execution fails is left out of the vote; the others are
  grouped by their result as a set of rows (`frozenset(fetchall())`: row order and
  duplicates do not matter, 1 == 1.0); the largest group wins and a tie goes to the group
  that appeared first in sample order; the winner is that group's first sample, whose
  verdict is maj@N. When no sample executes: Spider (and fixtures) count the example wrong
  (OmniSQL's evaluate_spider.py votes with return_random_one_when_all_errors=False, i.e.
  "Error SQL"); BIRD takes one sample at random (OmniSQL's default; here a seeded draw,
  random.Random(f"{seed}:{id}"), as OmniSQL's global random.seed(42) stream is not
  reproducible outside its script).
"""

from __future__ import annotations

import hashlib
import json
import random
from math import comb
from typing import Any

from harness.records import Example, Row
from harness.scoring.engine.worker import WorkerContext

VOTE_TIMEOUT_S = 10.0  # OmniSQL's major_voting: execute_sqls_parallel(..., timeout=10)
# Fields of a judged sample kept in the example row's `samples` list.
_SAMPLE_FIELDS = ("pred_sql", "ex", "ts", "em", "ex_strict", "soft_f1", "error", "failure")


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimate from n samples of which c are correct."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def _canonical(value: Any) -> Any:
    # As in a Python set: True == 1 == 1.0, so they must fall into one group.
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    return value


def result_key(rows: list[tuple[Any, ...]]) -> str:
    """A digest of a result as a set of rows (what OmniSQL's frozenset compares)."""
    members = sorted({json.dumps([_canonical(v) for v in row], default=repr) for row in rows})
    return hashlib.sha256("\n".join(members).encode("utf-8")).hexdigest()[:32]


def vote_key(ctx: WorkerContext, example: Example, sql: str) -> str | None:
    """The sample's vote: its result digest on the first database; None if it fails."""
    if not sql.strip() or not example.db_paths:
        return None
    result = ctx.run(example.db_paths[0], sql, timeout_s=VOTE_TIMEOUT_S)
    if result.status != "ok" or result.rows is None:
        return None
    return result_key(result.rows)


def majority_vote(keys: list[str | None]) -> int | None:
    """Index of the winning sample, or None when no sample executed."""
    counts: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key is not None:
            counts.setdefault(key, []).append(i)
    if not counts:
        return None
    # max() keeps the first of equal counts: the group that appeared first wins a tie.
    return max(counts.values(), key=len)[0]


def primary_metric(example: Example) -> str:
    return "ts" if len(example.db_paths) > 1 else "ex"


def combine(
    example: Example,
    sample_rows: list[Row],
    all_failed: str,
    seed: int,
) -> Row:
    """The example's row from its judged samples (in sample order); see the module doc.
    `all_failed` is "wrong" (Spider) or "random" (BIRD)."""
    n = len(sample_rows)
    metric = primary_metric(example)
    row = {k: v for k, v in sample_rows[0].items() if k != "vote_key"}
    samples = []
    for k, judged in enumerate(sample_rows):
        entry: dict[str, Any] = {"sample": k}
        entry |= {f: judged[f] for f in _SAMPLE_FIELDS if judged.get(f) is not None}
        entry["vote_key"] = judged.get("vote_key")
        samples.append(entry)
    correct = [int(bool(r.get(metric))) for r in sample_rows]
    c = sum(correct)
    winner = majority_vote([r.get("vote_key") for r in sample_rows])
    if winner is None and all_failed == "random":
        winner = random.Random(f"{seed}:{example.id}").randrange(n)
    row["samples"] = samples
    row["n_samples"] = n
    row["n_correct"] = c
    row["pass@1"] = pass_at_k(n, c, 1)
    if n > 1:
        row[f"pass@{n}"] = pass_at_k(n, c, n)
    row[f"maj@{n}"] = correct[winner] if winner is not None else 0
    row["maj_sample"] = winner
    return row


def sampled_metrics(n: int) -> tuple[str, ...]:
    """The row fields a run with n samples per example adds (aggregated with CIs)."""
    return ("pass@1", f"pass@{n}", f"maj@{n}") if n > 1 else ("pass@1", "maj@1")
