"""`harness sweep` with the local executor: cells are bench runs, reruns are free, failures
are retried then reported, a killed driver loses nothing, shards merge, config changes
are refused, and hf cells of one base model share one load."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_api import LoopbackAPI
from sweep_helpers import QUICK, QUICK_ARGS, REPO, SECRET, answers, rows, write_grid

from harness.cli import main
from harness.config import load_config
from harness.generation.generate import generate
from harness.pipeline.bench import bench
from harness.sweep.pipeline import dry_run, merge_sweep, run_sweep

DEMO = REPO / "evals" / "sweeps" / "fixture-demo.toml"


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the demo grid names its replay files relative to the repo


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackAPI]:
    pytest.importorskip("openai")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server = LoopbackAPI("openai")
    yield server
    server.close()


def api_grid(path: Path, api: LoopbackAPI, data_dir: Path, **run: object) -> Path:
    return write_grid(
        path,
        {
            "benchmark": {"name": "spider", "data_dir": str(data_dir)},
            "model": {"base_url": api.base_url},
            "decoding": {"max_new_tokens": 64},
            "run": {"cache": False, "concurrency": 1, "retry_base_s": 0.0, **run},
            "matrix": {"model.spec": ["openai:gpt-4o-mini"], "prompt.schema": ["keys", "ddl"]},
            "sweep": {"retries": 1},
        },
    )


def test_demo_sweep_is_bench_per_cell_and_a_rerun_is_free(tmp_path: Path, in_repo: None) -> None:
    out = tmp_path / "sweep"
    result = run_sweep(DEMO, out, QUICK)
    assert [(o.name, o.status) for o in result.outcomes] == [
        ("baseline", "done"),
        ("candidate", "done"),
    ]
    for name in ("baseline", "candidate"):
        cfg = load_config(
            None,
            {"model.spec": f"replay:evals/predictions/{name}.jsonl", "benchmark.name": "fixture"},
        )
        bench(cfg, tmp_path / f"bench-{name}", QUICK, progress=False)
        assert answers(out / name) == answers(tmp_path / f"bench-{name}")
        for file in ("config.toml", "rows.jsonl"):
            assert (out / name / file).read_text() == (
                tmp_path / f"bench-{name}" / file
            ).read_text()

    board = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    entries = {e["config"]: e for e in board["tables"][0]["entries"]}
    assert entries["baseline"]["metrics"]["ex"]["mean"] == pytest.approx(0.60)
    assert entries["candidate"]["metrics"]["ex"]["mean"] == pytest.approx(0.84)
    comparison = json.loads((out / "leaderboard" / "comparison.json").read_text())
    (row,) = comparison["rows"]
    assert comparison["baseline"] == "baseline" and row["cell"] == "candidate"
    assert row["status"] == "compared" and row["n_paired"] == 50
    assert row["delta"]["mean"] == pytest.approx(0.24) and row["significant"]
    assert row["p_holm"] == pytest.approx(row["mcnemar"]["p_value"])  # one test: Holm = p
    md = (out / "leaderboard" / "COMPARISON.md").read_text()
    assert "Baseline cell: `baseline`" in md and "| candidate" in md

    before = {p: p.stat().st_mtime_ns for p in out.glob("*/predictions.jsonl")}
    again = run_sweep(DEMO, out, QUICK)
    assert {o.status for o in again.outcomes} == {"already done"}
    assert before == {p: p.stat().st_mtime_ns for p in out.glob("*/predictions.jsonl")}
    # Other scoring options: each cell is scored again, nothing is generated again.
    distinct = run_sweep(DEMO, out, dataclasses.replace(QUICK, keep_distinct=True))
    assert {o.status for o in distinct.outcomes} == {"rescored"}
    assert before == {p: p.stat().st_mtime_ns for p in out.glob("*/predictions.jsonl")}
    summary = json.loads((out / "baseline" / "summary.json").read_text())
    assert summary["options"]["keep_distinct"] is True
    assert "| baseline " in dry_run(DEMO, out) and "done" in dry_run(DEMO, out)


def test_a_failing_cell_is_retried_then_reported_and_the_rest_finish(
    tmp_path: Path, in_repo: None, capsys: pytest.CaptureFixture
) -> None:
    grid = write_grid(
        tmp_path / "grid.toml",
        {
            "benchmark": {"name": "fixture"},
            "matrix": {
                "model.spec": [
                    "replay:evals/predictions/baseline.jsonl",
                    f"replay:{tmp_path / 'missing.jsonl'}",
                ]
            },
            "sweep": {"retries": 2},
        },
    )
    out = tmp_path / "sweep"
    assert main(["sweep", str(grid), "--out", str(out), *QUICK_ARGS]) == 1
    table = capsys.readouterr().out
    line = next(ln for ln in table.splitlines() if ln.startswith("| missing"))
    assert "failed" in line and "replay file not found" in line and "| 3 " in line
    assert "| baseline " in table and "| done " in table
    board = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    assert [e["config"] for e in board["tables"][0]["entries"]] == ["baseline"]


def test_a_transient_failure_is_retried_and_finishes(tmp_path: Path, api: LoopbackAPI) -> None:
    from conftest_models import tiny_spider_dir

    data = tiny_spider_dir()
    # No retries inside the backend: the 500 becomes an outage row; the sweep's retry redoes it.
    grid = api_grid(tmp_path / "grid.toml", api, data, max_retries=0)
    api.fail("How many singers", "500")
    result = run_sweep(grid, tmp_path / "sweep", QUICK)
    first = result.outcomes[0]
    assert first.status == "done" and first.attempts == 2 and not first.reason
    assert api.calls_for("How many singers are there?") == 3  # 500, then ok, then the ddl cell
    assert all(not r["outage"] for r in rows(tmp_path / "sweep" / first.name))


def test_kill_9_of_the_driver_loses_nothing(tmp_path: Path, api: LoopbackAPI) -> None:
    from conftest_models import tiny_spider_dir

    data = tiny_spider_dir(repeat=4)
    grid = api_grid(tmp_path / "grid.toml", api, data)
    api.delay_s = 0.05
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "sweep", str(grid), "--out", str(out), *QUICK_ARGS],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    pred = out / "gpt-4o-mini_keys" / "predictions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if pred.is_file() and pred.read_bytes().count(b"\n") >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = rows(out / "gpt-4o-mini_keys")
    n_total = len(json.loads((data / "dev.json").read_text()))
    assert 5 <= len(kept) < n_total

    api.delay_s = 0.0
    resumed = run_sweep(grid, out, QUICK)
    assert [o.status for o in resumed.outcomes] == ["resumed", "done"]
    clean = run_sweep(grid, tmp_path / "clean", QUICK)
    for o in clean.outcomes:
        got = answers(out / o.name)
        assert got == answers(tmp_path / "clean" / o.name)
        assert len({a[0] for a in got}) == len(got) == n_total  # no duplicates
    by_id = {r["id"]: r for r in rows(out / "gpt-4o-mini_keys")}
    assert all(by_id[r["id"]] == r for r in kept)  # the rows from before the kill, unchanged


def test_shards_then_merge_equal_one_sweep(tmp_path: Path, in_repo: None) -> None:
    out = tmp_path / "sharded"
    base = ["sweep", str(DEMO), "--out", str(out), *QUICK_ARGS]
    assert main([*base, "--shard", "1/2"]) == 0
    assert not (out / "baseline").exists() and (out / "candidate" / "summary.json").is_file()
    assert main([*base, "--merge"]) == 1  # shard 0 has not run yet
    assert main([*base, "--shard", "0/2"]) == 0
    assert main([*base, "--merge"]) == 0
    whole = tmp_path / "whole"
    run_sweep(DEMO, whole, QUICK)
    for name in ("leaderboard.json", "COMPARISON.md", "comparison.json"):
        assert (out / "leaderboard" / name).read_text() == (
            whole / "leaderboard" / name
        ).read_text()


def test_a_changed_config_is_refused_with_the_keys_named(tmp_path: Path, in_repo: None) -> None:
    out = tmp_path / "sweep"
    run_sweep(DEMO, out, QUICK)
    changed = DEMO.read_text().replace('split = "dev"', 'split = "dev"\n\n[decoding]\nseed = 7', 1)
    grid = tmp_path / "changed.toml"
    grid.write_text(changed)
    result = run_sweep(grid, out, QUICK)
    assert {o.status for o in result.outcomes} == {"failed"}
    assert all("decoding.seed (0 -> 7)" in o.reason for o in result.outcomes)
    assert "refused" in dry_run(grid, out) and "decoding.seed" in dry_run(grid, out)
    assert merge_sweep(grid, out, QUICK).failed


def test_hf_cells_of_one_base_load_it_once_and_match_separate_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from conftest_models import tiny_model, tiny_spider_dir

    from harness.backends.hf import HFBackend

    torch.set_num_threads(1)
    model, data = tiny_model(), tiny_spider_dir()
    composed = [f"{model.adapter_a}@0.7", f"{model.adapter_b}@0.3"]
    grid = write_grid(
        tmp_path / "grid.toml",
        {
            "model": {"spec": f"hf:{model.path}"},
            "benchmark": {"name": "spider", "data_dir": str(data)},
            "decoding": {"max_new_tokens": 12, "batch_size": 4},
            "run": {"cache": False},
            # Adapter cells first: the base cell after them must see no LoRA left behind.
            "matrix": {"model.adapters": [[str(model.adapter_a)], composed, []]},
        },
    )
    loads: list[str] = []
    real_load = HFBackend._load

    def counting_load(target, options):  # the real loader, counted
        loads.append(target)
        return real_load(target, options)

    monkeypatch.setattr(HFBackend, "_load", staticmethod(counting_load))
    result = run_sweep(grid, tmp_path / "sweep", QUICK)
    assert [o.status for o in result.outcomes] == ["done"] * 3 and len(loads) == 1
    for cell in result.grid.cells:
        single = tmp_path / "single" / cell.name
        generate(cell.cfg, single, progress=False)  # a fresh load per run
        swept = tmp_path / "sweep" / cell.name
        assert answers(swept) == answers(single)
        assert (swept / "config.toml").read_text() == (single / "config.toml").read_text()
    assert len(loads) == 1 + 3
    # Adapters change the answers, so sharing the base could not hide a leftover LoRA.
    assert len({tuple(answers(tmp_path / "sweep" / c.name)) for c in result.grid.cells}) == 3
