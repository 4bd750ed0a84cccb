"""Run folders that lose nothing: resume, torn lines, kill -9, refused config changes,
config files and overrides, and `harness bench` end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest_models import tiny_model, tiny_spider_dir

from harness.cli import main
from harness.config import load_config
from harness.errors import ConfigError, PredictionsError
from harness.generation.generate import generate
from harness.generation.run_folder import RunDirError, read_predictions_file

# Our own scorer, imported plainly: a broken import of it must fail these tests, not skip them.
from harness.scoring.options import ScoreOptions

REPO = Path(__file__).resolve().parent.parent


def gold_replay(tmp: Path, data_dir: Path, wrong: set[str] = frozenset()) -> Path:
    """A predictions file of the split's gold SQL (a scoring-only 'model')."""
    dev = json.loads((data_dir / "dev.json").read_text())
    path = tmp / "gold.jsonl"
    lines = [
        {"id": str(i), "sql": "SELECT 0" if str(i) in wrong else q["query"]}
        for i, q in enumerate(dev)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def _cfg(replay: Path, data_dir: Path, **extra):
    return load_config(
        None,
        {"model.spec": f"replay:{replay}", "benchmark.data_dir": str(data_dir), **extra},
    )


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]


def test_resume_skips_done_ids_and_matches_a_fresh_run(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data)
    run = tmp_path / "run"
    first = generate(_cfg(replay, data, **{"run.limit": 4}), run, progress=False)
    assert (
        first.complete
        and first.n_new == 4
        and [r["id"] for r in _rows(run)] == ["0", "1", "2", "3"]
    )
    rest = generate(_cfg(replay, data), run, progress=False)
    assert rest.n_new == rest.n_total - 4 and rest.complete
    nothing = generate(_cfg(replay, data), run, progress=False)
    assert nothing.n_new == 0 and nothing.complete
    fresh = tmp_path / "fresh"
    generate(_cfg(replay, data), fresh, progress=False)
    assert _rows(run) == _rows(fresh)
    assert all(r["sql"] == r["raw_completion"] for r in _rows(run))


def test_torn_last_line_is_dropped_and_redone(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data)
    run = tmp_path / "run"
    generate(_cfg(replay, data), run, progress=False)
    complete = _rows(run)
    pred = run / "predictions.jsonl"
    text = pred.read_text()
    cut = text.rfind("\n", 0, len(text) - 1) + 25  # kill in the middle of the last line
    pred.write_text(text[:cut])
    assert len(read_predictions_file(pred, repair=False)) == len(complete) - 1
    again = generate(_cfg(replay, data), run, progress=False)
    assert again.n_new == 1 and _rows(run) == complete
    # a broken line that is not the last one is corruption, not a kill: refuse it
    lines = pred.read_text().splitlines(keepends=True)
    pred.write_text(lines[0] + "{broken\n" + "".join(lines[1:]))
    with pytest.raises(PredictionsError, match=r"predictions.jsonl:2: invalid JSON"):
        generate(_cfg(replay, data), run, progress=False)


def test_config_change_is_refused_naming_the_keys(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data)
    run = tmp_path / "run"
    generate(_cfg(replay, data, **{"run.limit": 2}), run, progress=False)
    with pytest.raises(RunDirError) as err:
        generate(
            _cfg(replay, data, **{"decoding.temperature": 0.7, "decoding.seed": 3}),
            run,
            progress=False,
        )
    message = str(err.value)
    assert "decoding.seed (0 -> 3)" in message and "decoding.temperature (0.0 -> 0.7)" in message
    (tmp_path / "x").mkdir()
    other = gold_replay(tmp_path / "x", data, wrong={"0"})
    with pytest.raises(RunDirError, match=r"model\.spec"):
        generate(_cfg(other, data), run, progress=False)
    # [run] options (limit, concurrency, retries) may change between a run and its resumption
    assert generate(_cfg(replay, data, **{"run.concurrency": 2}), run, progress=False).complete
    # and the CLI reports the refusal as one line with exit status 2
    code = main(
        [
            "generate",
            "--model",
            f"replay:{replay}",
            "--data-dir",
            str(data),
            "--out",
            str(run),
            "--seed",
            "5",
            "--no-progress",
        ]
    )
    assert code == 2


def test_predictions_without_config_are_not_resumed(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "predictions.jsonl").write_text('{"id": "0", "sql": "SELECT 1"}\n')
    with pytest.raises(RunDirError, match=r"no config\.toml"):
        generate(_cfg(gold_replay(tmp_path, data), data), run, progress=False)


def test_config_file_overrides_and_written_config(tmp_path: Path) -> None:
    conf = tmp_path / "run.toml"
    conf.write_text(
        '[model]\nspec = "openai:gpt-4o-mini"\nbase_url = "https://user:pw@gw.example/v1?key=abc"\n'
        '[prompt]\nschema = "ddl"\nshots = 2\n[decoding]\nmax_new_tokens = 64\n'
    )
    cfg = load_config(conf, {"prompt.shots": 0, "decoding.temperature": None})
    assert (cfg.prompt.schema, cfg.prompt.shots, cfg.decoding.max_new_tokens) == ("ddl", 0, 64)
    conf.write_text('[model]\nspec = "openai:gpt-4o"\napi_key = "sk-123"\n')
    with pytest.raises(ConfigError, match="looks like a secret"):
        load_config(conf)
    conf.write_text('[model]\nspec = "x"\n[prompt]\nshot = 2\n')
    with pytest.raises(ConfigError, match=r"unknown key prompt\.shot"):
        load_config(conf)
    conf.write_text('[decoding]\nbatch_size = "8"\n[model]\nspec="x"\n')
    with pytest.raises(ConfigError, match="batch_size must be int"):
        load_config(conf)
    for example in sorted((REPO / "evals" / "configs").glob("*.toml")):
        assert load_config(example).model.spec, example


def test_written_config_has_contract_keys_and_no_secrets(tmp_path: Path, monkeypatch) -> None:
    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data)
    run = tmp_path / "run"
    generate(_cfg(replay, data, **{"model.tier": "open"}), run, progress=False)
    config = tomllib.loads((run / "config.toml").read_text())
    assert config["model"]["backend"] == "replay" and config["model"]["tier"] == "open"
    assert config["model"]["revision"]  # the replayed file's sha256
    assert config["benchmark"] == {
        "name": "spider",
        "split": "dev",
        "data_dir": str(data),
        "evidence": True,
    }
    assert set(config["decoding"]) >= {"max_new_tokens", "temperature", "seed", "batch_size"}
    from harness.backends.base import parse_spec
    from harness.generation.run_config import resolve_tables

    cfg = load_config(
        None,
        {"model.spec": "openai:gpt-4o", "model.base_url": "https://user:pw@gw.example/v1?key=abc"},
    )
    tables = resolve_tables(cfg, parse_spec(cfg.model.spec), [], None, None)
    assert tables["model"]["base_url"] == "https://gw.example/v1"


def test_generate_speed_script_runs_on_cpu() -> None:
    pytest.importorskip("torch")
    out = subprocess.run(
        [
            sys.executable,
            "bench/generate_speed.py",
            "--shape",
            "tiny",
            "--batch-sizes",
            "1,4",
            "--new-tokens",
            "8",
            "--prompt-tokens",
            "32",
            "--repeats",
            "1",
        ],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    assert "roofline" in out.stdout and "ratio (measured BW)" in out.stdout


# ---------------------------------------------------------------- kill -9


def test_kill_9_mid_run_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    model = tiny_model()
    data = tiny_spider_dir(repeat=6)
    args = [
        "--model",
        f"hf:{model.path}",
        "--data-dir",
        str(data),
        "--max-new-tokens",
        "16",
        "--batch-size",
        "1",
        "--no-cache",
        "--no-progress",
    ]
    run = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    log_path = tmp_path / "generate.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "generate", *args, "--out", str(run)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    pred = run / "predictions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if pred.is_file() and pred.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.005)
    assert proc.poll() is None, f"generate ended before the kill: {log_path.read_text()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    n_total = len(json.loads((data / "dev.json").read_text()))
    killed_lines = pred.read_bytes().count(b"\n")
    assert 5 <= killed_lines < n_total
    # the rows that were whole when the process died (a torn tail line is redone)
    survivors = read_predictions_file(pred, repair=False)

    import torch

    torch.set_num_threads(1)
    assert main(["generate", *args, "--out", str(run)]) == 0  # the rerun
    assert main(["generate", *args, "--out", str(tmp_path / "clean")]) == 0

    def strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "latency_s"} for r in rows]

    resumed, clean = _rows(run), _rows(tmp_path / "clean")
    assert len(resumed) == n_total and len({r["id"] for r in resumed}) == n_total
    assert strip(resumed) == strip(clean)
    # the rerun resumed rather than starting over: rows written before the kill are kept as
    # they were, measured latency included (a regenerated row would carry a new one)
    by_id = {r["id"]: r for r in resumed}
    assert survivors and all(by_id[r["id"]] == r for r in survivors)


# ---------------------------------------------------------------- bench


def test_bench_generates_then_scores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from harness.pipeline.bench import bench

    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data, wrong={"1", "2"})
    options = ScoreOptions(jobs=1, resamples=200, no_cache=True)
    result, summary = bench(_cfg(replay, data), tmp_path / "run", options, progress=False)
    n = result.n_total
    assert result.complete and summary["n"] == n
    assert summary["metrics"]["ex"]["mean"] == pytest.approx((n - 2) / n)
    rows = [json.loads(x) for x in (tmp_path / "run" / "rows.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in rows if r["ex"] == 0) == ["1", "2"]

    code = main(
        [
            "bench",
            "--model",
            f"replay:{replay}",
            "--data-dir",
            str(data),
            "--out",
            str(tmp_path / "cli"),
            "--jobs",
            "1",
            "--resamples",
            "100",
            "--no-progress",
            "--no-cache",
        ]
    )
    assert code == 0 and "EX" in capsys.readouterr().out
    # --limit N generates and scores the first N examples; the score says it is partial.
    _, part = bench(_cfg(replay, data, **{"run.limit": 3}), tmp_path / "lim", options,
                    progress=False)  # fmt: skip
    assert part["n"] == 3 and not part["complete"]
    assert part["excluded"]["reasons"]["limit"] == part["n_total"] - 3


def test_bench_with_outages_excludes_them_and_exits_3(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    replay = gold_replay(tmp_path, data)
    lines = replay.read_text().splitlines()
    lines[0] = json.dumps(
        {"id": "0", "sql": "", "outage": True, "error": "outage after 6 attempts"}
    )
    replay.write_text("\n".join(lines) + "\n")
    code = main(
        [
            "bench",
            "--model",
            f"replay:{replay}",
            "--data-dir",
            str(data),
            "--out",
            str(tmp_path / "run"),
            "--jobs",
            "1",
            "--resamples",
            "100",
            "--no-progress",
            "--no-cache",
        ]
    )
    assert code == 3
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["excluded"]["reasons"]["outage"] == 1 and summary["complete"] is False
    assert summary["metrics"]["ex"]["mean"] == 1.0  # the outage is not counted wrong


def test_bench_on_the_shipped_fixture_from_a_config_file(tmp_path: Path) -> None:
    from harness.benchmarks.base import load_benchmark

    bench_data = load_benchmark("fixture")
    replay = tmp_path / "gold.jsonl"
    replay.write_text(
        "".join(json.dumps({"id": e.id, "sql": e.gold_sql}) + "\n" for e in bench_data.examples)
    )
    conf = tmp_path / "fixture.toml"
    conf.write_text(f'[model]\nspec = "replay:{replay}"\n[benchmark]\nname = "fixture"\n')
    # --bench is left at its default ("spider"): the config file's benchmark must win
    out = tmp_path / "run"
    args = ["--config", str(conf), "--out", str(out), "--jobs", "1", "--resamples", "100"]
    assert main(["bench", *args, "--no-progress", "--no-cache"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["benchmark"] == "fixture" and summary["n"] == len(bench_data.examples)
    assert summary["metrics"]["ex"]["mean"] == 1.0
    config = tomllib.loads((out / "config.toml").read_text())
    assert config["benchmark"]["name"] == "fixture" and "prompt" not in config  # replay: no prompt
