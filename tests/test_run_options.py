"""The run-config options of `generate`, `bench` and `prompts`: every one sets its config
key, its default and choices are the config field's (written once), and the model spec
is parsed once on its way from the config to the backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from conftest_models import tiny_spider_dir

import harness.backends.base as backends_base
from harness.commands import bench, generate, prompts
from harness.commands._options import scoring_options
from harness.commands._run_options import OPTION_KEYS, overrides_from
from harness.config import field_info, load_config
from harness.errors import ConfigError
from harness.generation.generate import generate as run_generate

COMMANDS = {"generate": generate.command, "bench": bench.command, "prompts": prompts.command}
# Parameters that set no run-config key.
NOT_CONFIG = {"config_file", "out_dir", "out_file", "progress", "no_cache", "help"}


def _config_params(command: click.Command) -> list[click.Option]:
    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and p.name in OPTION_KEYS and p.name not in NOT_CONFIG
    ]


def _scoring_params() -> set[str]:
    probe = click.command()(scoring_options(lambda **_: None))
    return {p.name for p in probe.params if p.name} - {"seed"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_of_a_run_command_is_a_config_key_or_named_here(name: str) -> None:
    others = NOT_CONFIG | (_scoring_params() if name == "bench" else set())
    unknown = [p.name for p in COMMANDS[name].params if p.name not in OPTION_KEYS.keys() | others]
    assert unknown == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_defaults_and_choices_are_the_config_fields(name: str) -> None:
    for param in _config_params(COMMANDS[name]):
        info = field_info(OPTION_KEYS[param.name])
        unset = param.default is None or param.default == ()
        assert param.default == info.default or (unset and info.default in (None, "", [])), (
            param.name
        )
        if info.choices:
            assert isinstance(param.type, click.Choice), param.name
            assert tuple(param.type.choices) == info.choices, param.name


def _value(param: click.Option, info: Any) -> list[str]:
    """Command-line words that set `info`'s key to something other than its default."""
    if info.type is bool:
        return []
    if info.type is list:
        return ["a@0.5"]
    if isinstance(param.type, click.Choice):
        return [next(str(c) for c in reversed(param.type.choices) if c != param.default)]
    if info.type is int:
        return [str((info.default or 0) + 2)]
    if info.type is float:
        return [str((info.default or 0.0) + 0.25)]
    return ["x.toml"]


def test_each_option_reaches_its_config_key() -> None:
    """A non-default value on every option of `harness generate` is an override of the
    key that option names (an option missing from OPTION_KEYS would be dropped)."""
    args, wanted = ["--out", "run"], {}
    for param in _config_params(generate.command):
        if param.hidden:
            continue
        info = field_info(OPTION_KEYS[param.name])
        flag = param.secondary_opts[0] if info.type is bool else param.opts[0]
        args += [flag, *_value(param, info)]
        wanted[info.key] = param.name
    ctx = generate.command.make_context("generate", args)
    got = overrides_from(ctx, ctx.params)
    assert sorted(wanted) == sorted(k for k in got if k != "run.cache")
    assert got["benchmark.evidence"] is False and got["decoding.max_new_tokens"] == 258


@pytest.mark.parametrize(("table", "key"), [("model", "tier"), ("prompt", "template")])
def test_a_choice_is_checked_from_the_field(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(f'[{table}]\n{key} = "nope"\n')
    with pytest.raises(ConfigError, match=f"unknown {key} 'nope'; known: "):
        load_config(path, {"model.spec": "replay:-"})


def test_the_model_spec_is_parsed_once_per_run(tmp_path: Path, monkeypatch) -> None:
    data = tiny_spider_dir()
    replay = tmp_path / "gold.jsonl"
    dev = json.loads((data / "dev.json").read_text())
    replay.write_text(
        "".join(json.dumps({"id": str(i), "sql": q["query"]}) + "\n" for i, q in enumerate(dev))
    )
    parsed: list[tuple[str, str]] = []

    class Counted(backends_base.ModelSpec):
        def __init__(self, kind: str, target: str) -> None:
            super().__init__(kind, target)
            parsed.append((kind, target))

    monkeypatch.setattr(backends_base, "ModelSpec", Counted)
    cfg = load_config(None, {"model.spec": f"replay:{replay}", "benchmark.data_dir": str(data)})
    result = run_generate(cfg, tmp_path / "run", progress=False)
    assert result.complete and parsed == [("replay", str(replay))]
