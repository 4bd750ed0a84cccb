"""`harness selftest` on Spider-format data: every computed EX, TS and EM of gold scored
against itself must be 1."""

from __future__ import annotations

from typing import Any

from harness.records import BenchmarkData, Row
from harness.scoring.options import ScoreOptions


def spider_verdict(
    rows: list[Row], bench: BenchmarkData, options: ScoreOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    failures = []
    for row in rows:
        bad = [m for m in ("ex", "ts", "em") if row.get(m) is not None and row.get(m) != 1]
        if bad:
            failures.append(
                {"id": row["id"], "db_id": row["db_id"], "problem": ",".join(bad),
                 "error": row.get("error")}
            )  # fmt: skip
    return failures, {}
