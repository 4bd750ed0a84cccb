"""The data index.html embeds: leaderboard entries plus each run's per-question records.

Built from records only: the leaderboard's entries (CIs, per-question 0/1 vectors) and the
rows.jsonl / predictions.jsonl beside each run. The per-question part is columnar, with
repeated strings (predicted SQL, mismatch text) stored once in a pool, so 1,034 questions x
20 runs stays a few megabytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.diffing.compare import blocking_fields
from harness.errors import DataError
from harness.io import jsonl_objects
from harness.records import DataProvenance, Leaderboard, LeaderboardEntry, Row, SplitTable
from harness.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    paired_bootstrap_diff,
    paired_diff_matrix,
)

RowsByRun = Mapping[str, Sequence[Row]]


class _Pool:
    """Interns strings; the page looks them up by index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str | None) -> int:
        if text is None:
            return -1
        if text not in self._index:
            self._index[text] = len(self.items)
            self.items.append(text)
        return self._index[text]


def read_questions(run_dir: Path) -> dict[str, str]:
    """Question text by id from predictions.jsonl (rows.jsonl does not carry it)."""
    path = Path(run_dir) / "predictions.jsonl"
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    questions: dict[str, str] = {}
    for _lineno, obj in jsonl_objects(lines, path, DataError, skip_torn_last=True):
        if "id" in obj and isinstance(obj.get("question"), str):
            questions[str(obj["id"])] = obj["question"]
    return questions


def _mismatch_text(row: Row) -> str | None:
    parts = []
    if row.get("error"):
        parts.append(f"error: {row['error']}")
    mismatch = row.get("mismatch")
    if isinstance(mismatch, Mapping):
        parts += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in mismatch.items()]
    elif mismatch:
        parts.append(str(mismatch))
    return "\n".join(parts) or None


def _level(row: Row) -> str:
    return str(row.get("hardness") or row.get("difficulty") or "")


def _question_columns(
    entries: Sequence[LeaderboardEntry], rows: RowsByRun, questions: Mapping[str, str]
) -> tuple[list[str], dict[str, list[str]]]:
    ids: list[str] = []
    info: dict[str, Row] = {}
    for e in entries:
        for row in rows[e["config"]]:
            qid = str(row["id"])
            if qid not in info:
                info[qid] = row
                ids.append(qid)
    table = {
        "id": ids,
        "db": [str(info[i].get("db_id") or "") for i in ids],
        "level": [_level(info[i]) for i in ids],
        "text": [questions.get(i, "") for i in ids],
        "gold": [str(info[i].get("gold_sql") or "") for i in ids],
    }
    return ids, table


def _pairs(
    entries: Sequence[LeaderboardEntry],
    datasets: Mapping[str, DataProvenance],
    resamples: int,
    seed: int,
    confidence: float,
) -> dict[str, Any]:
    """Paired EX Δ (j minus i) for every pair of runs, keyed "i,j" by listing position."""
    with_data = [e | {"_datasets": datasets} for e in entries]
    vectors = [e["correct"].get("ex", {}) for e in entries]
    # Runs that scored the same ids share one set of draws; others are paired pair by pair.
    common = [qid for qid in vectors[0] if all(qid in v for v in vectors)] if vectors else []
    same_ids = all(len(v) == len(common) for v in vectors) and common
    matrix = (
        paired_diff_matrix(
            [[v[qid] for qid in common] for v in vectors], resamples, seed, confidence
        )
        if same_ids and len(vectors) > 1
        else {}
    )
    pairs: dict[str, Any] = {}
    for i in range(len(entries)):
        for j in range(i + 1, len(entries)):
            blocking, _allowed = blocking_fields(with_data[i], with_data[j])
            if blocking:
                pairs[f"{i},{j}"] = {"blocked": blocking}
                continue
            ci = matrix.get((i, j))
            if ci is None:
                ids = [q for q in vectors[i] if q in vectors[j]]
                if not ids:
                    pairs[f"{i},{j}"] = {"blocked": ["no common question ids"]}
                    continue
                ci = paired_bootstrap_diff(
                    [vectors[i][q] for q in ids],
                    [vectors[j][q] for q in ids],
                    resamples,
                    seed,
                    confidence,
                )
            pairs[f"{i},{j}"] = ci.as_dict()
    return pairs


def _run_info(e: LeaderboardEntry) -> dict[str, Any]:
    return {
        "name": e["config"],
        "rank": e["rank"],
        "tier": e["tier"],
        "params": e["params"],
        "citable": e["citable"],
        "reasons": list(e["provenance"].get("not_citable_reasons") or []),
        "n": e["n"],
        "n_total": e["n_total"],
        "metrics": e["metrics"],
        "by_level": e["by_level"],
    }


def split_table_data(
    table: SplitTable,
    rows: RowsByRun,
    questions: Mapping[str, str],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> dict[str, Any]:
    entries = table["entries"]
    ids, qtable = _question_columns(entries, rows, questions)
    position = {qid: k for k, qid in enumerate(ids)}
    pool = _Pool()
    labels = _Pool()
    results = []
    for e in entries:
        n = len(ids)
        # One character per question: "1" right, "0" wrong, "." not scored by this run.
        ex = ["."] * n
        pred, fail, mismatch = [-1] * n, [-1] * n, [-1] * n
        for row in rows[e["config"]]:
            k = position[str(row["id"])]
            ex[k] = "1" if row.get("ex") == 1 else "0"
            pred[k] = pool.add(str(row.get("pred_sql") or ""))
            if row.get("ex") != 1:
                fail[k] = labels.add(str(row.get("failure") or "unlabelled"))
                mismatch[k] = pool.add(_mismatch_text(row))
        results.append({"ex": "".join(ex), "pred": pred, "fail": fail, "mismatch": mismatch})
    return {
        "benchmark": table["benchmark"],
        "split": table["split"],
        "runs": [_run_info(e) for e in entries],
        "questions": qtable,
        "results": results,
        "labels": labels.items,
        "pool": pool.items,
        "pairs": _pairs(entries, table.get("datasets", {}), resamples, seed, confidence),
        "confidence": confidence,
        "resamples": resamples,
    }


def page_data(
    leaderboard: Leaderboard,
    rows: Mapping[tuple[str, str], RowsByRun],
    questions: Mapping[tuple[str, str], Mapping[str, str]],
) -> list[dict[str, Any]]:
    """One block per leaderboard table; `rows`/`questions` keyed by (benchmark, split)."""
    out = []
    for table in leaderboard["tables"]:
        key = (table["benchmark"], table["split"])
        out.append(split_table_data(table, rows[key], questions.get(key, {})))
    return out
