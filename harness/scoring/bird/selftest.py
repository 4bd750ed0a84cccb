"""`harness selftest --bench bird`: every valid gold must match itself, and every invalid
gold (one that fails to execute or exceeds the time budget) must be on the reviewed
exception list (bird/reference_exceptions.toml).

`bird_verdict` is the verdict `harness selftest --bench bird` applies to the gold-vs-gold
rows; `selftest_failures` is its per-row rule, usable on rows.jsonl from any scorer run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.records import BenchmarkData, Row
from harness.scoring.bird.references import exception_list_identity, load_exceptions
from harness.scoring.options import ScoreOptions

PERFECT = {"ex": 1, "ex_strict": 1, "soft_f1": 1.0}


def selftest_failures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that break the rule; a listed reference is excused, nothing else is."""
    failures: list[dict[str, Any]] = []
    for row in rows:
        if row.get("reference_listed"):
            continue
        if row.get("reference_invalid"):
            failures.append(
                {
                    "id": row["id"],
                    "db_id": row["db_id"],
                    "problem": "invalid reference not on the exception list",
                    "error": row.get("reference_reason") or row.get("error"),
                }
            )
            continue
        bad = [m for m, want in PERFECT.items() if row.get(m) != want]
        if bad:
            failures.append(
                {
                    "id": row["id"],
                    "db_id": row["db_id"],
                    "problem": f"gold does not match itself on {', '.join(bad)}",
                    "error": row.get("error"),
                }
            )
    return failures


def exception_list_problems(data: BenchmarkData, path: Path | None = None) -> list[str]:
    """Entries of the exception list that contradict this split (wrong db_id).

    An entry whose question_id is not in the split, or whose gold text this split has
    corrected, simply does not apply; a db_id mismatch means the entry is wrong.
    """
    entries = load_exceptions(path)
    by_qid = {ex.extra.get("question_id"): ex for ex in data.examples}
    problems = []
    for qid, entry in entries.items():
        example = by_qid.get(qid)
        if example is not None and example.db_id != entry["db_id"]:
            problems.append(
                f"exception for question_id {qid} names db_id {entry['db_id']!r}, "
                f"but {data.split} has it on {example.db_id!r}"
            )
    return problems


def bird_verdict(
    rows: list[Row], data: BenchmarkData, options: ScoreOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The selftest verdict on gold scored against itself: the rows' failures, the
    exception list's contradictions with this split, and which references it excused."""
    path = options.bird_exceptions
    failures = selftest_failures(rows)
    failures += [
        {"id": None, "db_id": None, "problem": p, "error": None}
        for p in exception_list_problems(data, path)
    ]
    details = {
        "skipped_missing_db": sorted(data.missing_db_ids),
        "listed_references": [r["id"] for r in rows if r.get("reference_listed")],
        "unlisted_invalid_references": [
            f["id"] for f in failures if f["problem"].startswith("invalid reference")
        ],
        "exception_list": exception_list_identity(path),
    }
    return failures, details
