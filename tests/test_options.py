"""Scoring options are defined once (harness/scoring/options.py): every command that
scores offers each of them, with the field's default, and parses back to ScoreOptions."""

from __future__ import annotations

import dataclasses

import click
import pytest

from harness import cli
from harness.commands._options import score_options_from
from harness.scoring.options import FILES, ScoreOptions

FLAGGED = [f for f in dataclasses.fields(ScoreOptions) if "flag" in f.metadata]


def _params(name: str) -> dict[str, click.Parameter]:
    return {p.name: p for p in cli.COMMANDS.get(name).params if p.name}


@pytest.mark.parametrize("name", ["score", "selftest", "bench", "sweep"])
def test_every_scoring_command_offers_every_option_with_its_default(name: str) -> None:
    params = _params(name)
    for f in FLAGGED:
        if f.metadata["offered"] == FILES and name != "score":
            continue  # only a predictions file has them (bench's --limit is generation's)
        assert f.name in params, f"`harness {name}` lacks {f.metadata['flag']}"
        assert f.metadata["flag"] in params[f.name].opts
        assert params[f.name].default == f.default


def test_parsed_defaults_are_the_dataclass_defaults() -> None:
    command = cli.COMMANDS.get("score")
    ctx = command.make_context("score", ["--pred", "p.sql", "--out", "o"])
    assert score_options_from(ctx.params) == ScoreOptions()


def test_flags_reach_the_options() -> None:
    command = cli.COMMANDS.get("score")
    args = ["--pred", "p.sql", "--out", "o", "--timeout", "2.5", "--plug-value",
            "--limit", "7", "--gold-cache-dir", "c", "--allow-partial"]  # fmt: skip
    options = score_options_from(command.make_context("score", args).params)
    assert (options.timeout_s, options.plug_value, options.limit) == (2.5, True, 7)
    assert str(options.cache_dir) == "c" and options.allow_missing_db


def test_the_old_spellings_still_work(capsys) -> None:
    command = cli.COMMANDS.get("score")
    args = ["--pred", "p", "--out", "o", "--allow-missing-db", "--cache-dir", "old"]
    options = score_options_from(command.make_context("score", args).params)
    assert options.allow_missing_db and str(options.cache_dir) == "old"
    assert "--allow-missing-db is now --allow-partial" in capsys.readouterr().err
