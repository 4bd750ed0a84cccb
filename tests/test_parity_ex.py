"""Execution-match parity with the official Spider evaluator, example by example.

The corpus (../shared/data/spider/parity) holds 5,868 predictions and the official
evaluator's verdict on each, in both DISTINCT modes and with `--plug_value`. Agreement
must be total.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.benchmarks.spider import load_spider
from harness.predictions import read_predictions
from harness.scoring.scorer import ScoreOptions, score_benchmark


@pytest.fixture(scope="module")
def parity(spider_dir: Path):
    root = spider_dir / "parity"
    bench = load_spider(
        gold_path=root / "gold.sql",
        db_dir=spider_dir / "database",
        tables_path=spider_dir / "tables.json",
    )
    preds = read_predictions(root / "pred.sql", bench.examples)
    return root, bench, preds


def _official(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("keep_distinct", "plug_value", "verdicts"),
    [
        (False, False, "official_default.jsonl"),
        (True, False, "official_keep_distinct.jsonl"),
        (False, True, "official_plug_value.jsonl"),
    ],
)
def test_ex_and_hardness_agree_with_official(parity, tmp_path, keep_distinct, plug_value, verdicts):
    root, bench, preds = parity
    if not (root / verdicts).is_file():
        pytest.skip(f"{root / verdicts} not found (an older copy of the parity corpus)")
    official = _official(root / verdicts)
    assert len(official) == len(bench.examples)
    summary = score_benchmark(
        bench,
        preds,
        tmp_path,
        ScoreOptions(
            keep_distinct=keep_distinct,
            plug_value=plug_value,
            em=False,
            resamples=200,
            cache_dir=tmp_path / "cache",
        ),
    )
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [str(o["index"]) for o in official]
    ex_diff = [
        (o["index"], o["ex"], r["ex"], r["pred_sql"][:80])
        for o, r in zip(official, rows, strict=True)
        if int(o["ex"]) != r["ex"]
    ]
    hard_diff = [
        (o["index"], o["hardness"], r["hardness"])
        for o, r in zip(official, rows, strict=True)
        if o["hardness"] != r["hardness"]
    ]
    assert not ex_diff, f"{len(ex_diff)} EX disagreements, first: {ex_diff[:5]}"
    assert not hard_diff, f"{len(hard_diff)} hardness disagreements, first: {hard_diff[:5]}"
    official_mean = sum(int(o["ex"]) for o in official) / len(official)
    assert summary["metrics"]["ex"]["mean"] == pytest.approx(official_mean, abs=1e-12)
