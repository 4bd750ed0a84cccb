"""One way to show a score: a percentage with one decimal, in every table a person reads."""

from __future__ import annotations

import math
from pathlib import Path

from harness.cli import main
from harness.display import ci_bounds, p_relation, p_value, pct, pct_ci, pct_interval, pp
from harness.io import write_atomic

REPO = Path(__file__).resolve().parent.parent
PREDS = REPO / "evals" / "predictions"


def test_formatting_functions() -> None:
    assert pct(0.8321) == "83.2" and pct(1.0) == "100.0" and pct(0) == "0.0"
    assert pct(None) == "—" and pct(math.nan) == "—"
    assert pp(0.24) == "+24.0" and pp(-0.051) == "-5.1"
    assert pct_ci({"mean": 0.6, "low": 0.46, "high": 0.74}) == "60.0 [46.0, 74.0]"
    assert pct_ci(None) == "—" and pct_interval(0.5, None, None) == "50.0"


def test_every_ci_is_bracketed_one_way() -> None:
    assert ci_bounds(0.46, 0.74) == "[46.0, 74.0]"
    assert ci_bounds(0.008, 0.072, pp, level=95) == "[95% CI +0.8, +7.2]"
    assert ci_bounds(None, None) == "[—, —]"  # the page shows a CI it lacks as dashes
    assert p_value(0.0421) == "0.042" and p_value(0.0004) == "<0.001" and p_value(None) == "—"
    assert p_relation(0.0421) == "= 0.042" and p_relation(0.0004) == "< 0.001"


def test_write_atomic_takes_text_and_bytes(tmp_path) -> None:
    png = bytes(range(256))
    write_atomic(tmp_path / "a" / "x.png", png)
    write_atomic(tmp_path / "a" / "x.md", "Δ 83.2\n")
    assert (tmp_path / "a" / "x.png").read_bytes() == png
    assert (tmp_path / "a" / "x.md").read_bytes() == "Δ 83.2\n".encode()
    assert sorted(f.name for f in (tmp_path / "a").iterdir()) == ["x.md", "x.png"]


def test_score_table_leaderboard_and_diff_show_the_same_number(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["score", "--bench", "fixture", "--pred", str(PREDS / "baseline.jsonl"),
                 "--out", str(run), "--no-cache", "--resamples", "200"]) == 0  # fmt: skip
    table = capsys.readouterr().out
    assert main(["leaderboard", str(run), "--out", str(tmp_path / "lb")]) == 0
    board = (tmp_path / "lb" / "LEADERBOARD.md").read_text()
    lb = str(tmp_path / "lb" / "leaderboard.json")
    capsys.readouterr()
    assert main(["diff", lb, lb]) == 0
    diff = capsys.readouterr().out
    # The fixture baseline scores 30 of 50: 0.6 as a fraction, 60.0 as shown.
    assert "| EX " in table and "60.0 [" in table and "accuracies in %" in table
    assert "60.0 [" in board and "| 60.0 " in diff
    for text in (table, board, diff):
        assert "0.600" not in text
