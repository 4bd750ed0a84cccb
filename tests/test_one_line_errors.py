"""Failures a new user meets first, each as one line naming the cause."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest_models import tiny_spider_dir

from harness.cli import main


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_missing_local_model_path_is_named(tmp_path: Path, capsys) -> None:
    pytest.importorskip("transformers")
    missing = tmp_path / "no-such-model"
    code = main(["generate", "--model", f"hf:{missing}", "--bench", "fixture",
                 "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
    line = _one_line_error(capsys)
    assert code == 2
    assert f"the local path {missing} does not exist" in line and "Repo id" not in line


def test_an_unreachable_hub_is_one_line_not_retries(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, no_dns: None
) -> None:
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.no-such-host.invalid")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code = main(["generate", "--model", "hf:nonexistent/model", "--bench", "fixture",
                 "--out", str(tmp_path / "run"), "--no-progress"])  # fmt: skip
    line = _one_line_error(capsys)
    assert code == 2
    assert "not in the local Hugging Face cache" in line
    assert "hub.no-such-host.invalid cannot be reached" in line


def test_selftest_with_no_databases_says_nothing_was_checked(tmp_path: Path, capsys) -> None:
    source = tiny_spider_dir()
    data = tmp_path / "data"
    (data / "database").mkdir(parents=True)
    for name in ("dev.json", "tables.json"):
        (data / name).write_text((source / name).read_text())
    code = main(["selftest", "--bench", "spider", "--data-dir", str(data), "--allow-partial",
                 "--resamples", "10", "--no-cache"])  # fmt: skip
    line = _one_line_error(capsys)
    assert code != 0
    assert "selftest checked no gold query" in line and "missing_database" in line
    assert "0 gold queries" not in line
