"""`harness prompts`: write the exact prompts a run would send, without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._options import benchmark_options
from harness.commands.generate import overrides_from, prompt_options


def _options(func: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--config",
                "config_file",
                type=click.Path(path_type=Path, dir_okay=False),
                help="TOML run config: its [benchmark] and [prompt] apply; options override it.",
            ),
            benchmark_options,
            *prompt_options(),
            click.option("--shots", type=int, default=0, show_default=True),
            click.option(
                "--shots-from",
                default="train",
                show_default=True,
                help="Split of the same benchmark, or a JSONL file of {question, sql}.",
            ),
            click.option(
                "--seed", type=int, default=0, show_default=True, help="Few-shot selection seed."
            ),
            click.option(
                "--evidence/--no-evidence",
                default=True,
                show_default=True,
                help="BIRD: put the question's evidence hint in the prompt.",
            ),
            click.option("--limit", type=int, help="Only the first N examples."),
            click.option(
                "--out",
                "out_file",
                type=click.Path(path_type=Path, dir_okay=False),
                required=True,
                help="JSONL file: one {id, messages, text} per example.",
            ),
        ]
    ):
        func = option(func)
    return func


@click.command(name="prompts")
@_options
@click.pass_context
def command(ctx: click.Context, config_file: Path | None, out_file: Path, **params: Any) -> None:
    """Write each example's prompt as {"id", "messages", "text"}: the chat messages a chat
    backend sends, and the text a base model is given (ending where its answer starts)."""
    from harness.config import load_config
    from harness.prompting.builder import write_prompts

    cfg = load_config(config_file, overrides_from(ctx, params), require_model=False)
    n = write_prompts(cfg, out_file)
    click.echo(f"{out_file}: {n} prompts ({cfg.prompt.format})", err=True)
