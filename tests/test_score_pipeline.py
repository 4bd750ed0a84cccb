"""`harness score --evaluator official|both`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
PREDS = REPO / "evals" / "predictions"


def _evaluator() -> Path | None:
    env = os.environ.get("HARNESS_OFFICIAL_EVALUATOR")
    for path in ([Path(env)] if env else []) + [REPO / "spider/data/official-evaluator"]:
        if (path / "evaluation.py").is_file():
            return path
    return None


def test_missing_evaluator_is_a_one_line_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HARNESS_OFFICIAL_EVALUATOR", raising=False)
    code = main(["score", "--bench", "fixture", "--pred", str(PREDS / "baseline.jsonl"),
                 "--out", str(tmp_path / "run"), "--evaluator", "official",
                 "--official-dir", str(tmp_path / "nothing-here")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "harness prepare official-evaluator" in err


@pytest.mark.parametrize("name", ["baseline", "candidate"])
def test_both_scorers_agree_on_the_fixture(tmp_path, capsys, name):
    evaluator = _evaluator()
    if evaluator is None:
        pytest.skip("official evaluator not prepared (harness prepare official-evaluator)")
    pytest.importorskip("nltk")
    code = main(["score", "--bench", "fixture", "--pred", str(PREDS / f"{name}.jsonl"),
                 "--out", str(tmp_path / "run"), "--evaluator", "both", "--no-cache",
                 "--official-dir", str(evaluator), "--resamples", "100"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "agree on every figure" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["official"]["disagreements"] == []
    assert summary["official"]["counts"]["all"] == 50
