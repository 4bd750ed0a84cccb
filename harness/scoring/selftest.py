"""What `harness selftest` counts as perfect for the families whose metrics are all 0/1:
every computed verdict of gold scored against itself must be 1. (BIRD's rule, which
also checks the reviewed list of invalid references, is harness.scoring.bird.selftest.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.records import BenchmarkData, Row
from harness.scoring.options import ScoreOptions

Verdict = Callable[
    [list[Row], BenchmarkData, ScoreOptions], tuple[list[dict[str, Any]], dict[str, Any]]
]


def all_ones(metrics: tuple[str, ...]) -> Verdict:
    def verdict(
        rows: list[Row], data: BenchmarkData, options: ScoreOptions
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        failures = []
        for row in rows:
            bad = [m for m in metrics if row.get(m) is not None and row.get(m) != 1]
            if bad:
                failures.append(
                    {"id": row["id"], "db_id": row["db_id"], "problem": ",".join(bad),
                     "error": row.get("error")}
                )  # fmt: skip
        return failures, {}

    return verdict


spider_verdict = all_ones(("ex", "ts", "em"))
nodb_verdict = all_ones(("em", "string_match"))
