"""Builds scored run folders (summary.json, rows.jsonl, config.toml) in the contract's format.

The summary's numbers are computed from the rows with the real bootstrap, the way the scorer
writes them, so the leaderboard's consistency checks see what a scorer would produce.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from harness.stats import bootstrap_ci

LEVELS = ("easy", "medium", "hard", "extra")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_config(path: Path, config: Mapping[str, Any]) -> None:
    path.write_text(tomli_w.dumps(dict(config)), encoding="utf-8")


def default_config(**model: Any) -> dict[str, Any]:
    return {
        "model": {"spec": "hf:org/model", "backend": "transformers", "revision": "abc123"} | model,
        "benchmark": {"name": "spider", "split": "dev", "data_dir": "/data/spider"},
        "prompt": {"schema": "create_table", "shots": 0, "template_sha256": sha("template")},
        "decoding": {"max_new_tokens": 256, "temperature": 0.0, "seed": 0, "batch_size": 8},
    }


def make_run(
    root: Path,
    name: str,
    ex: Sequence[int],
    *,
    ids: Sequence[str] | None = None,
    em: Sequence[int] | None = None,
    ts: Sequence[int] | None = None,
    benchmark: str = "spider",
    split: str = "dev",
    config: Mapping[str, Any] | None = None,
    dirty: bool = False,
    commit: str | None = "0123456789abcdef0123456789abcdef01234567",
    excluded: Mapping[str, int] | None = None,
    excluded_db_ids: Sequence[str] = (),
    n_total: int | None = None,
    files: Mapping[str, str] | None = None,
    databases: Mapping[str, str] | None = None,
    scorer: Mapping[str, Any] | None = None,
    generation: Mapping[str, Any] | None = None,
    timing: Mapping[str, Any] | None = None,
    extra: Mapping[str, Sequence[float]] | None = None,
    levels: Sequence[str] = LEVELS,
    level_field: str = "hardness",
    resamples: int = 2000,
) -> Path:
    """Write runs/<name>/ with one row per value of `ex` (ids "0", "1", ... by default)."""
    run = root / name
    run.mkdir(parents=True)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(ex))]
    assert len(ids) == len(ex)
    rows = []
    for i, (qid, value) in enumerate(zip(ids, ex, strict=True)):
        rows.append(
            {
                "id": qid,
                "db_id": f"db{int(qid) % 3 if qid.isdigit() else 0}",
                "hardness": levels[i % len(levels)] if level_field == "hardness" else "",
                "difficulty": levels[i % len(levels)] if level_field == "difficulty" else "",
                "pred_sql": "SELECT 1",
                "gold_sql": "SELECT 1",
                "ex": int(value),
                "em": None if em is None else int(em[i]),
                "ts": None if ts is None else int(ts[i]),
                "error": None,
                "mismatch": None,
                "failure": None if value else "wrong_rows",
            }
            | {metric: values[i] for metric, values in (extra or {}).items()}
        )
    with (run / "rows.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")

    def ci(values: list[int]) -> dict[str, Any]:
        return bootstrap_ci(values, resamples=resamples, seed=0).as_dict()

    metrics = {"ex": ci([r["ex"] for r in rows])}
    if em is not None:
        metrics["em"] = ci([r["em"] for r in rows])
    if ts is not None:
        metrics["ts"] = ci([r["ts"] for r in rows])
    for metric, values in (extra or {}).items():
        metrics[metric] = ci(list(values))
    by_level = {}
    for level in levels:
        level_rows = [r for r in rows if r[level_field] == level]
        if level_rows:
            by_level[level] = {"n": len(level_rows), "ex": ci([r["ex"] for r in level_rows])}
    excluded = dict(excluded or {})
    count = sum(excluded.values())
    files = dict(files or {"dev.json": sha("dev"), "tables.json": sha("tables")})
    databases = dict(databases or {"db0": sha("db0"), "db1": sha("db1"), "db2": sha("db2")})
    summary = {
        "schema_version": 1,
        "harness_version": "0.1.0",
        "harness_commit": commit,
        "dirty": dirty,
        "benchmark": benchmark,
        "split": split,
        "test_suite": ts is not None,
        "n": len(rows),
        "n_total": n_total if n_total is not None else len(rows) + count,
        "excluded": {
            "count": count,
            "reasons": excluded,
            "db_ids": list(excluded_db_ids),
            "ids": [],
        },
        "complete": count == 0,
        "metrics": metrics,
        f"by_{level_field}": by_level,
        "failures": {"wrong_rows": sum(1 for r in rows if not r["ex"])},
        "bootstrap": {
            "method": "percentile",
            "resamples": resamples,
            "seed": 0,
            "confidence": 0.95,
        },
        "scorer": {
            "name": "native",
            "semantics": "spider-test-suite",
            "keep_distinct": False,
            "plug_value": False,
            "timeout_s": 30.0,
            "official_commit": "e97acc546ecbee8fa27fa8dbf025ef61493a876c",
        }
        | dict(scorer or {}),
        "data": {
            "files": files,
            "databases": databases,
            "sha256": sha(json.dumps([sorted(files.items()), sorted(databases.items())])),
        },
        "predictions": {"path": str(run / "predictions.jsonl"), "sha256": sha(name)},
        "timing": dict(timing or {"wall_s": 1.0, "examples_per_s": 100.0}),
    }
    if generation is not None:
        summary["generation"] = dict(generation)
    (run / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if config is not None:
        write_config(run / "config.toml", config)
    return run


def vector(n: int, correct: Sequence[int]) -> list[int]:
    """0/1 vector of length n with 1 at the given positions."""
    chosen = set(correct)
    return [1 if i in chosen else 0 for i in range(n)]
