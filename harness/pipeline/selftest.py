"""Gold scored as the prediction must be perfect: a check of data, databases and scorer.

Gold is scored through the same sandboxed path as any prediction; what counts as perfect
is the benchmark family's verdict (harness.scoring.families.SELFTEST_VERDICTS).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.io import jsonl_objects
from harness.pipeline.score import BenchmarkSource
from harness.records import PredictionSet, Row, Summary
from harness.scoring.families import selftest_verdict
from harness.scoring.options import ScoreOptions
from harness.scoring.scorer import family_of, score_benchmark

Failure = dict[str, Any]  # {"id", "db_id", "problem", "error"}


@dataclass
class SelftestReport:
    summary: Summary  # summary.json of the gold-vs-gold run, plus the verdict's details
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.summary["n"] > 0


def selftest(
    source: BenchmarkSource, options: ScoreOptions, out_dir: Path | None = None
) -> SelftestReport:
    data = source.load()
    family = family_of(data)
    preds = PredictionSet(sql={e.id: e.gold_sql for e in data.examples})
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as tmp:
        run_dir = Path(out_dir or tmp)
        summary = score_benchmark(data, preds, run_dir, options)
        lines = (run_dir / "rows.jsonl").read_text(encoding="utf-8").splitlines()
        rows: list[Row] = [r for _, r in jsonl_objects(lines, run_dir / "rows.jsonl", DataError)]  # type: ignore[misc]
    failures, details = selftest_verdict(family)(rows, data, options)
    return SelftestReport(summary={**summary, **details}, failures=failures)
