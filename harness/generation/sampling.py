"""The bookkeeping of `--samples N` for a run folder: which (example, sample) rows a run
needs, how a predictions row names its pair, and the config checks that go with it.

A row of predictions.jsonl is one (example id, sample index) pair; an unsampled run
(N = 1) writes no "sample" field and its rows are sample 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from harness.backends.base import ModelSpec
from harness.config import DecodingConfig
from harness.errors import ConfigError
from harness.records import Example, Prediction

RowKey = tuple[str, int]  # (example id, sample index)


def row_key(row: Prediction) -> RowKey:
    """A predictions row's (example id, sample index)."""
    return str(row["id"]), int(row.get("sample", 0))


def wanted_keys(examples: Sequence[Example], n_samples: int) -> list[RowKey]:
    """Every pair a complete run holds, in the order a finished file lists them."""
    return [(e.id, k) for e in examples for k in range(n_samples)]


def decoding_table(decoding: DecodingConfig) -> dict[str, Any]:
    """config.toml's [decoding]; `samples` only when N > 1, so unsampled run folders keep
    the config.toml they always had (and stay resumable)."""
    table = asdict(decoding)
    if table["samples"] == 1:
        del table["samples"]
    return table


def check_samples(spec: ModelSpec, decoding: DecodingConfig) -> None:
    """N > 1 at temperature 0 would be N copies of one greedy completion, except where
    the backend samples anyway (Anthropic's API takes no temperature; replay holds them)."""
    if decoding.samples == 1 or decoding.temperature > 0:
        return
    if spec.backend_class.samples_need_temperature:
        raise ConfigError(
            f"--samples {decoding.samples} at temperature 0 would repeat one greedy "
            "completion; give --temperature > 0 (OmniSQL samples at 0.8)"
        )
