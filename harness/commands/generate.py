"""`harness generate`: run a model on a benchmark into a resumable run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._run_options import generation_options, overrides_from, seed_option

EXIT_INCOMPLETE = 3


@click.command(name="generate")
@generation_options
@seed_option("Decoding and few-shot selection seed.")
@click.option("--no-cache", is_flag=True, help="Bypass the model-response cache.")
@click.pass_context
def command(
    ctx: click.Context, config_file: Path | None, out_dir: Path, progress: bool, **params: Any
) -> None:
    """Run a model on a benchmark into OUT/predictions.jsonl (resumable; exit status 3 when
    provider outages left rows unanswered: rerun the same command to retry them)."""
    from harness.config import load_config
    from harness.generation.generate import generate

    cfg = load_config(config_file, overrides_from(ctx, params))
    result = generate(cfg, out_dir, progress=progress)
    click.echo(result.message(), err=True)
    if not result.complete:
        raise click.exceptions.Exit(EXIT_INCOMPLETE)
