"""Shared pieces of the sweep tests: grid files, quick score options, prediction rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomli_w

from harness.scoring.scorer import ScoreOptions

REPO = Path(__file__).resolve().parent.parent
# Fast and deterministic: one scoring process, few resamples, no shared gold cache.
QUICK = ScoreOptions(jobs=1, resamples=200, no_cache=True)
QUICK_ARGS = ["--jobs", "1", "--resamples", "200", "--no-cache"]
SECRET = "sk-loopback-sweep-0123456789"


def write_grid(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def rows(run_dir: Path) -> list[dict[str, Any]]:
    text = (run_dir / "predictions.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def answers(run_dir: Path) -> list[tuple[Any, ...]]:
    """What a row says, without what varies run to run (latency, cache hits)."""
    return [
        (r["id"], r["sql"], r["raw_completion"], r["error"], r["outage"]) for r in rows(run_dir)
    ]
