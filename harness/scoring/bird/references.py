"""BIRD's invalid references: the reviewed list of known-bad gold queries
(bird/reference_exceptions.toml) and what summary.json reports about them.

Kept apart from the judge, which needs sqlglot: the scoring process reads the list and
writes the report without importing the judge's dependencies.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.hashing import sha256_file, sha256_text
from harness.io import read_toml
from harness.records import Example, Row
from harness.scoring.options import ScoreOptions

EXCEPTIONS_FILE = Path(__file__).resolve().parents[3] / "bird" / "reference_exceptions.toml"


def load_exceptions(path: Path | None = None) -> dict[int, dict[str, Any]]:
    """question_id -> entry of the reviewed list of known-bad gold queries.

    ``path`` defaults to `EXCEPTIONS_FILE` as it is at call time.
    """
    return _read_exceptions(Path(path or EXCEPTIONS_FILE))


def exception_list_identity(path: Path | None = None) -> dict[str, Any]:
    """Which exception list a verdict used: its path and sha256 (None when absent)."""
    path = Path(path or EXCEPTIONS_FILE)
    return {"path": str(path), "sha256": sha256_file(path) if path.is_file() else None}


@functools.lru_cache(maxsize=4)
def _read_exceptions(path: Path) -> dict[int, dict[str, Any]]:
    data = read_toml(path, DataError, missing="BIRD reference exception list not found")
    tables = data.get("exception", [])
    if not isinstance(tables, list):
        raise DataError(f"{path}: 'exception' must be an array of tables ([[exception]])")
    entries: dict[int, dict[str, Any]] = {}
    for i, entry in enumerate(tables):
        if not isinstance(entry, dict):
            raise DataError(f"{path}: exception {i} is not a table")
        where = f"{path}: exception {i} (question_id {entry.get('question_id')!r})"
        for key in ("question_id", "db_id", "reason", "source"):
            if not entry.get(key) and entry.get(key) != 0:
                raise DataError(f"{where} lacks {key!r}")
        qid = entry["question_id"]
        if not isinstance(qid, int) or isinstance(qid, bool) or qid in entries:
            raise DataError(f"{where}: question_id is not an integer or is repeated")
        entries[qid] = entry
    return entries


def gold_sha256(sql: str) -> str:
    """The digest an exception entry pins its reviewed gold text with (UTF-8 bytes)."""
    return sha256_text(sql)


def listed_exception(example: Example, path: Path | None = None) -> dict[str, Any] | None:
    """The exception entry that covers this example's gold query, if any."""
    qid = example.extra.get("question_id")
    entries = load_exceptions(path)
    entry = entries.get(qid) if isinstance(qid, int) else None
    if entry is None or entry["db_id"] != example.db_id:
        return None
    wanted = entry.get("gold_sha256")
    if wanted and wanted != gold_sha256(example.gold_sql):
        return None  # the reviewed text was corrected in this split
    return entry


def reference_report(
    rows: list[Row],
    resamples: int = 10_000,
    seed: int = 0,
    exceptions_path: Path | None = None,
) -> dict[str, Any]:
    """What summary.json reports beside the headline: EX over valid references, coverage.

    The headline keeps every row (as the official score does); here invalid references
    (listed, failing or over budget) are set aside and named.
    """
    from harness.stats import bootstrap_ci

    invalid = [r for r in rows if r.get("reference_invalid")]
    valid = [r for r in rows if not r.get("reference_invalid")]
    out: dict[str, Any] = {
        "n_valid": len(valid),
        "n_invalid": len(invalid),
        "coverage": len(valid) / len(rows) if rows else None,
        "invalid_ids": [r["id"] for r in invalid],
        "invalid_reasons": {r["id"]: r.get("reference_reason") for r in invalid},
        "listed": sum(1 for r in invalid if r.get("reference_listed")),
        "exception_list": exception_list_identity(exceptions_path),
    }
    try:
        load_exceptions(exceptions_path)
    except DataError as exc:  # the workers scored without it: say so where people look
        out["exception_list"]["error"] = str(exc)
    for metric in ("ex", "ex_strict", "soft_f1"):
        values = [float(r[metric]) for r in valid if r.get(metric) is not None]
        if values:
            out[f"{metric}_valid"] = bootstrap_ci(values, resamples=resamples, seed=seed).as_dict()
    return out


def check_inputs(options: ScoreOptions) -> None:
    """A broken exception list stops the run here, before any worker starts."""
    load_exceptions(options.bird_exceptions)


def summary_fields(
    rows: list[Row], examples: list[Example], options: ScoreOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What summary.json records about a BIRD score: the time-budget settings (in its
    "scorer"), the reference report and whether the prompts carried the evidence."""
    scorer = {
        "r_ves_repeats": options.r_ves_repeats,
        "timeout_factor": options.bird_timeout_factor,
        "timeout_floor_s": options.bird_timeout_floor_s,
    }
    evidence = {bool(e.extra.get("evidence_used", True)) for e in examples}
    sections = {
        "reference": reference_report(
            rows, options.resamples, options.seed, options.bird_exceptions
        ),
        "evidence": evidence.pop() if len(evidence) == 1 else None,
    }
    return scorer, sections
