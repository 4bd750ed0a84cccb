"""`harness selftest`: gold against gold is 100%, and anything less exits non-zero."""

from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main


def test_real_spider_dev_gold_matches_itself(spider_dir: Path, tmp_path, capsys):
    code = main(
        [
            "selftest",
            "--bench",
            "spider",
            "--data-dir",
            str(spider_dir),
            "--allow-partial",
            "--gold-cache-dir",
            str(tmp_path / "cache"),
            "--resamples",
            "200",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "selftest passed: 972 of 1034 gold queries" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["metrics"]["ex"]["mean"] == 1.0
    assert summary["metrics"]["em"]["mean"] == 1.0
    assert summary["excluded"]["db_ids"] == ["wta_1"]


def test_fixture_gold_matches_itself(capsys):
    assert main(["selftest", "--bench", "fixture", "--resamples", "100", "--no-cache"]) == 0


def test_broken_gold_fails_with_one_line(tmp_path, capsys):
    from test_scorer import build

    root = build(tmp_path)
    gold = root / "dev_gold.sql"
    lines = gold.read_text().splitlines()
    lines[1] = "SELECT name FROM singer WHERE agee > 30\tmusic"
    gold.write_text("\n".join(lines) + "\n")
    code = main(
        [
            "selftest",
            "--bench",
            "spider",
            "--data-dir",
            str(root),
            "--no-cache",
            "--jobs",
            "1",
            "--resamples",
            "100",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "1 gold queries do not match themselves: 1 (music: ex" in err
    assert err.count("\n") == 1
