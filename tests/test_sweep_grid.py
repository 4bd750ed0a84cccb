"""GRID.toml: matrix expansion, include/exclude, cell names, baseline, and bad grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w

from harness.config import load_config
from harness.errors import ConfigError
from harness.sweep.cells import plan_tasks
from harness.sweep.grid import read_grid
from harness.sweep.pipeline import parse_shard, shard_cells

REPO = Path(__file__).resolve().parent.parent
HF_15 = "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct"
HF_7 = "hf:Qwen/Qwen2.5-Coder-7B-Instruct"


def grid_file(tmp_path: Path, data: dict[str, Any], name: str = "grid.toml") -> Path:
    path = tmp_path / name
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def ablation(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "benchmark": {"name": "spider", "data_dir": "spider/data"},
        "decoding": {"max_new_tokens": 128},
        "matrix": {
            "model.spec": [HF_15, HF_7, "openai:gpt-4.1-mini"],
            "prompt.schema": ["minimal", "keys"],
            "prompt.shots": [0, 3],
        },
        "exclude": [{"model.spec": "openai:gpt-4.1-mini", "prompt.shots": 3}],
        "include": [
            {"model.spec": HF_7, "model.adapters": ["adapters/spider-lora"], "prompt.shots": 0}
        ],
    }
    data.update(extra)
    return data


def test_matrix_exclude_include_expand_to_named_cells(tmp_path: Path) -> None:
    grid = read_grid(grid_file(tmp_path, ablation()))
    names = [c.name for c in grid.cells]
    assert len(names) == 3 * 2 * 2 - 2 + 1 == len(set(names))
    assert names[0] == "Qwen2.5-Coder-1.5B-Instruct_minimal_shots0"
    assert "gpt-4.1-mini_keys_shots3" not in names and "gpt-4.1-mini_keys_shots0" in names
    # Include: base + its values; named by the matrix keys and what differs from the base.
    assert names[-1] == "Qwen2.5-Coder-7B-Instruct_keys_shots0_spider-lora"
    lora = grid.cells[-1].cfg
    assert lora.model.adapters == ["adapters/spider-lora"] and lora.prompt.schema == "keys"
    assert grid.varying == ["model.spec", "prompt.schema", "prompt.shots", "model.adapters"]
    assert grid.baseline == names[0] and grid.retries == 1


def test_a_cell_config_is_what_bench_config_would_load(tmp_path: Path) -> None:
    grid = read_grid(grid_file(tmp_path, ablation()))
    cell = grid.cell("Qwen2.5-Coder-7B-Instruct_keys_shots3")
    single = grid_file(
        tmp_path,
        {
            "model": {"spec": HF_7},
            "benchmark": {"name": "spider", "data_dir": "spider/data"},
            "prompt": {"schema": "keys", "shots": 3},
            "decoding": {"max_new_tokens": 128},
        },
        "single.toml",
    )
    assert cell.cfg == load_config(single)


def test_names_are_stable_when_the_grid_grows(tmp_path: Path) -> None:
    small = read_grid(grid_file(tmp_path, ablation(include=[]), "a.toml"))
    grown = ablation()
    grown["matrix"]["prompt.shots"] = [0, 3, 5]
    grown["include"].append({"model.spec": HF_15, "decoding.temperature": 0.7})
    big = read_grid(grid_file(tmp_path, grown, "b.toml"))
    assert {c.name for c in small.cells} <= {c.name for c in big.cells}
    assert "Qwen2.5-Coder-1.5B-Instruct_keys_shots0_temperature0.7" in {c.name for c in big.cells}


def test_clashing_names_get_a_hash_and_stay_unique(tmp_path: Path) -> None:
    data = {
        "benchmark": {"name": "fixture"},
        "matrix": {"model.spec": ["hf:org-a/coder", "hf:org-b/coder", "hf:org-c/Other"]},
    }
    grid = read_grid(grid_file(tmp_path, data))
    names = [c.name for c in grid.cells]
    assert len(set(n.lower() for n in names)) == 3
    assert names[2] == "Other"
    assert names[0].startswith("coder-") and names[1].startswith("coder-")
    # The same grid names its cells the same way every time.
    assert names == [c.name for c in read_grid(grid_file(tmp_path, data, "again.toml")).cells]


def test_baseline_by_name_or_by_values(tmp_path: Path) -> None:
    by_values = ablation(
        sweep={"baseline": {"model.spec": HF_7, "prompt.schema": "keys", "prompt.shots": 0}}
    )
    with pytest.raises(ConfigError, match="exactly one cell"):
        read_grid(grid_file(tmp_path, by_values))  # the LoRA include matches too
    by_values["sweep"]["baseline"]["model.adapters"] = []
    grid = read_grid(grid_file(tmp_path, by_values))
    assert grid.baseline == "Qwen2.5-Coder-7B-Instruct_keys_shots0"
    named = ablation(sweep={"baseline": "gpt-4.1-mini_keys_shots0", "retries": 3})
    grid = read_grid(grid_file(tmp_path, named))
    assert grid.baseline == "gpt-4.1-mini_keys_shots0" and grid.retries == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matrix": {"prompt.shotz": [0]}}, "unknown key 'prompt.shotz'"),
        ({"matrix": {"prompt.shots": 3}}, "must be a non-empty list"),
        ({"matrix": {"model.adapters": ["a"]}}, "lists of lists"),
        ({"matrix": {"prompt.schema": ["keys", "nope"]}}, "unknown schema 'nope'"),
        ({"matrix": {"prompt.rows": [1, "2"]}}, "prompt.rows must be int"),
        ({"exclude": [{"prompt.shots": 7}]}, r"\[\[exclude\]\] #1 matches no matrix cell"),
        ({"sweep": {"baseline": "nope"}}, "no cell named 'nope'"),
        ({"sweep": {"retry": 2}}, r"\[sweep\] has unknown key"),
        ({"grid": {}}, "unknown table"),
        ({"model": {"api_key": "sk-x"}}, "looks like a secret"),
    ],
)
def test_bad_grids_get_one_clear_error(tmp_path: Path, change: dict, message: str) -> None:
    data = ablation()
    for key, value in change.items():
        if key == "matrix":
            data["matrix"].update(value)
        else:
            data[key] = value
    path = grid_file(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as info:
        read_grid(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_hf_cells_of_one_base_share_a_task(tmp_path: Path) -> None:
    data = ablation()
    data["run"] = {"tensor_parallel_size": 2}
    data["matrix"]["model.spec"].append("vllm:Qwen/Qwen2.5-Coder-32B-Instruct")
    grid = read_grid(grid_file(tmp_path, data))
    tasks = plan_tasks(grid.cells)
    by_first = {t.cells[0].name: t for t in tasks}
    seven = by_first["Qwen2.5-Coder-7B-Instruct_minimal_shots0"]
    # Prompts, shots and adapters differ; the base model (and its load) is shared.
    assert len(seven.cells) == 5 and seven.shared_base and seven.gpus == 1
    api = [t for t in tasks if t.kind == "openai"]
    assert len(api) == 2 and all(t.gpus == 0 and len(t.cells) == 1 for t in api)
    vllm = [t for t in tasks if t.kind == "vllm"]
    assert len(vllm) == 4 and all(t.gpus == 2 for t in vllm)


def test_shards_partition_the_cells(tmp_path: Path) -> None:
    grid = read_grid(grid_file(tmp_path, ablation()))
    shards = [shard_cells(grid.cells, parse_shard(f"{i}/3")) for i in range(3)]
    names = [c.name for shard in shards for c in shard]
    assert sorted(names) == sorted(c.name for c in grid.cells)
    assert [c.index for c in shards[1]] == [1, 4, 7, 10]
    for bad in ("3/3", "1", "a/b", "0/0", "-1/2"):
        with pytest.raises(ConfigError, match="--shard"):
            parse_shard(bad)


def test_shipped_grids_expand(tmp_path: Path) -> None:
    demo = read_grid(REPO / "evals" / "sweeps" / "fixture-demo.toml")
    assert [c.name for c in demo.cells] == ["baseline", "candidate"]
    study = read_grid(REPO / "evals" / "sweeps" / "qwen25-coder-ablation.toml")
    kinds = {c.cfg.model.spec.split(":", 1)[0] for c in study.cells}
    assert kinds == {"hf", "openai", "anthropic"}
    schemas = {c.cfg.prompt.schema for c in study.cells}
    assert len(schemas) == 5
    assert sum(bool(c.cfg.model.adapters) for c in study.cells) == 15
    assert len(study.cells) == 65
    assert {c.cfg.prompt.shots for c in study.cells} == {0, 3}


def test_the_sweep_imports_neither_ray_nor_torch_until_asked() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import harness.commands.sweep, harness.sweep.pipeline, harness.sweep.executors\n"
        "import harness.sweep.cells, harness.sweep.report, harness.sweep.grid\n"
        "heavy = ('ray', 'torch', 'transformers', 'peft', 'openai', 'anthropic')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_an_include_that_repeats_a_cell_runs_once(tmp_path: Path) -> None:
    data = ablation(include=[{"model.spec": HF_7, "prompt.schema": "keys", "model.adapters": []}])
    grid = read_grid(grid_file(tmp_path, data))
    names = [c.name for c in grid.cells]
    assert len(names) == 10 and "Qwen2.5-Coder-7B-Instruct_keys_shots0" in names


def test_executors_are_found_by_name_with_a_suggestion() -> None:
    from harness.errors import ConfigError
    from harness.sweep.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor

    assert EXECUTORS.names() == ["local", "ray"]
    assert isinstance(make_executor("local"), LocalExecutor)
    ray = make_executor("ray", "127.0.0.1:6379")
    assert isinstance(ray, RayExecutor) and ray.address == "127.0.0.1:6379"
    with pytest.raises(ConfigError, match="unknown executor 'rey'; did you mean 'ray'"):
        make_executor("rey")
    with pytest.raises(ConfigError, match="--ray-address is only used with --executor ray"):
        make_executor("local", "127.0.0.1:6379")
