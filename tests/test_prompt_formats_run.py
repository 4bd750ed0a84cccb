"""A prompt format through a real run: a tiny random base model gets the format's text,
its completion is read back after the format's completion prefix, and config.toml
records the format by name and sha256."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from conftest_models import tiny_model, tiny_spider_dir

from harness.benchmarks.base import load_benchmark
from harness.config import load_config
from harness.generation.generate import generate
from harness.generation.prompts import PromptBuilder
from harness.prompting.extract import extract_sql
from harness.prompting.formats import load_format


def test_base_model_run_with_the_qwen_format(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from transformers import AutoTokenizer

    model, data = tiny_model(), tiny_spider_dir()
    overrides = {
        "model.spec": f"hf:{model.path}",
        "benchmark.data_dir": str(data),
        "prompt.format": "qwen2.5-coder",
        "prompt.template": "plain",  # the tiny model is named as an instruct model
        "decoding.max_new_tokens": 4,
        "run.limit": 2,
        "run.cache": False,
    }
    cfg = load_config(None, overrides)
    run = tmp_path / "run"
    assert generate(cfg, run, progress=False).complete
    config = tomllib.loads((run / "config.toml").read_text())
    fmt = load_format("qwen2.5-coder")
    assert config["prompt"]["format"] == "qwen2.5-coder"
    assert config["prompt"]["format_sha256"] == fmt.sha256
    assert (config["prompt"]["schema"], config["prompt"]["rows"]) == ("sqlite_master", 3)
    assert config["prompt"]["template"] == "plain"

    bench = load_benchmark("spider", data_dir=data, split="dev")
    builder = PromptBuilder(cfg, bench)
    tokenizer = AutoTokenizer.from_pretrained(model.path)
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    for row, ex in zip(rows, bench.examples, strict=False):
        text = builder.prompt(ex).text
        assert text.endswith("\nSELECT ")
        # The model was given the format's text (not the messages rendered as plain text).
        assert row["tokens_in"] == len(tokenizer(text)["input_ids"])
        # Extraction reads the completion after the "SELECT " the prompt ended with.
        assert row["sql"] == extract_sql("SELECT " + row["raw_completion"])
