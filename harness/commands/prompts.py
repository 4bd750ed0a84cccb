"""`harness prompts`: write the exact prompts a run would send, without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._options import benchmark_options
from harness.commands._run_options import (
    PROMPT_OPTIONS,
    overrides_from,
    run_options,
    seed_option,
)


@click.command(name="prompts")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML run config: its [benchmark] and [prompt] apply; options override it.",
)
@benchmark_options
@run_options(*PROMPT_OPTIONS)
@seed_option("Few-shot selection seed.")
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="JSONL file: one {id, messages, text} per example.",
)
@click.pass_context
def command(ctx: click.Context, config_file: Path | None, out_file: Path, **params: Any) -> None:
    """Write each example's prompt as {"id", "messages", "text"}: the chat messages a chat
    backend sends, and the text a base model is given (ending where its answer starts)."""
    from harness.config import load_config
    from harness.generation.prompts import write_prompts

    cfg = load_config(config_file, overrides_from(ctx, params), require_model=False)
    n = write_prompts(cfg, out_file)
    click.echo(f"{out_file}: {n} prompts ({cfg.prompt.format})", err=True)
