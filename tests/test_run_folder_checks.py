"""A refused run leaves nothing that blocks its corrected command: inputs are checked
before the run folder is written, and a folder with no predictions takes a new config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest_models import tiny_spider_dir
from loopback_api import LoopbackAPI

from harness.cli import main
from harness.config import load_config
from harness.errors import DataError
from harness.generation.generate import generate


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback-0123456789")
    server = LoopbackAPI("openai")
    yield server
    server.close()


def _cfg(api: LoopbackAPI, data: Path, **extra):
    return load_config(None, {"model.spec": "openai:gpt-4o-mini", "model.base_url": api.base_url,
                              "benchmark.data_dir": str(data), "run.limit": 2,
                              "prompt.shots": 1, **extra})  # fmt: skip


def test_a_bad_shot_pool_fails_before_the_run_folder_exists(tmp_path: Path, api) -> None:
    data = tiny_spider_dir()
    run = tmp_path / "run"
    with pytest.raises(DataError, match="few-shot pool --shots-from 'train'"):
        generate(_cfg(api, data), run, progress=False)
    assert not run.exists() and api.requests == []
    # The corrected command (a pool the benchmark has) then runs into the same folder.
    result = generate(_cfg(api, data, **{"prompt.shots_from": "dev"}), run, progress=False)
    assert result.complete and result.n_done == 2
    assert 'shots_from = "dev"' in (run / "config.toml").read_text()


def test_a_folder_without_predictions_accepts_a_changed_config(tmp_path: Path, api) -> None:
    """As a run refused by an earlier version left it: config.toml and nothing else."""
    data = tiny_spider_dir()
    run = tmp_path / "run"
    generate(_cfg(api, data, **{"prompt.shots_from": "dev"}), run, progress=False)
    (run / "predictions.jsonl").unlink()
    changed = _cfg(api, data, **{"prompt.shots": 0, "decoding.seed": 4})
    assert generate(changed, run, progress=False).complete
    assert "seed = 4" in (run / "config.toml").read_text()


def test_bench_refuses_missing_databases_before_generating(
    tmp_path: Path, api, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    source = tiny_spider_dir()
    (data / "database").mkdir(parents=True)
    for name in ("dev.json", "tables.json"):
        (data / name).write_text((source / name).read_text())
    db_id = json.loads((source / "dev.json").read_text())[0]["db_id"]
    run = tmp_path / "run"
    code = main(["bench", "--model", "openai:gpt-4o-mini", "--base-url", api.base_url,
                 "--data-dir", str(data), "--out", str(run), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and db_id in err and "--allow-partial" in err
    assert api.requests == [] and not run.exists()
