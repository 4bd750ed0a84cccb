"""Gold scored as the prediction must be perfect: a check of data, databases and scorer.

Gold is scored through the same sandboxed path as any prediction; what counts as perfect
is the benchmark family's verdict (`Family.selftest`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.benchmarks.base import BenchmarkData, load_benchmark
from harness.errors import DataError
from harness.io import jsonl_objects
from harness.predictions import PredictionSet
from harness.scoring.families import resolve
from harness.scoring.scorer import ScoreOptions, family_of, score_benchmark

Failure = dict[str, Any]  # {"id", "db_id", "problem", "error"}


@dataclass
class SelftestReport:
    summary: dict[str, Any]  # summary.json of the gold-vs-gold run, plus the verdict's details
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.summary["n"] > 0


def spider_verdict(
    rows: list[dict[str, Any]], bench: BenchmarkData, options: ScoreOptions
) -> tuple[list[Failure], dict[str, Any]]:
    """Spider: every computed EX, TS and EM must be 1."""
    failures = []
    for row in rows:
        bad = [m for m in ("ex", "ts", "em") if row.get(m) is not None and row[m] != 1]
        if bad:
            failures.append(
                {"id": row["id"], "db_id": row["db_id"], "problem": ",".join(bad),
                 "error": row.get("error")}
            )  # fmt: skip
    return failures, {}


def selftest(
    bench: str,
    data_dir: Path | None,
    split: str,
    db_dir: Path | None,
    options: ScoreOptions,
    out_dir: Path | None = None,
) -> SelftestReport:
    data = load_benchmark(bench, data_dir=data_dir, split=split, db_dir=db_dir)
    family = family_of(data)
    preds = PredictionSet(sql={e.id: e.gold_sql for e in data.examples})
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        run_dir = Path(out_dir or tmp)
        summary = score_benchmark(data, preds, run_dir, options)
        lines = (run_dir / "rows.jsonl").read_text(encoding="utf-8").splitlines()
        rows = [row for _, row in jsonl_objects(lines, run_dir / "rows.jsonl", DataError)]
    failures, details = resolve(family.selftest)(rows, data, options)
    return SelftestReport(summary={**summary, **details}, failures=failures)
