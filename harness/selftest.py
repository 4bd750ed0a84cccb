"""Gold scored as the prediction must be perfect: a check of data, databases and scorer."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.benchmarks.base import load_benchmark
from harness.predictions import PredictionSet
from harness.scoring.scorer import ScoreOptions, family_of, score_benchmark


@dataclass
class SelftestReport:
    summary: dict[str, Any]
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and self.summary["n"] > 0


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
        summary = score_benchmark(data, preds, Path(out_dir or tmp), options)
        import json

        rows = [
            json.loads(line)
            for line in (Path(out_dir or tmp) / "rows.jsonl").read_text().splitlines()
        ]
    # Every computed metric must be perfect; a BIRD gold on the reviewed exception list
    # is excused, and so is nothing else.
    failures = []
    for row in rows:
        if row.get("reference_invalid") and row.get("reference_listed"):
            continue
        bad = [
            m
            for m in family.metrics
            if m in ("ex", "ts", "em", "ex_strict") and row.get(m) is not None and row[m] != 1
        ]
        if bad:
            failures.append(
                {"id": row["id"], "db_id": row["db_id"], "metrics": bad, "error": row.get("error")}
            )
    return SelftestReport(summary=summary, failures=failures)
