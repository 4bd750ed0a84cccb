"""`harness bench`: generate, then score, into one run folder; prints the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._options import WITH_GENERATION, score_options_from, scoring_options
from harness.commands._run_options import generation_options, overrides_from
from harness.commands.generate import EXIT_INCOMPLETE


@click.command(name="bench")
@generation_options
@scoring_options(helps=WITH_GENERATION)
@click.pass_context
def command(
    ctx: click.Context, config_file: Path | None, out_dir: Path, progress: bool, **params: Any
) -> None:
    """Generate into OUT, then score OUT/predictions.jsonl there (rows.jsonl, summary.json).

    --seed seeds both decoding and the bootstrap; --no-cache bypasses both the response
    cache and the gold-result cache. Exit status 3 when provider outages left rows
    unscored (they are excluded, never counted wrong): rerun to retry them.
    """
    from harness.config import load_config
    from harness.pipeline.bench import bench
    from harness.summary import render_table

    cfg = load_config(config_file, overrides_from(ctx, params))
    result, summary = bench(cfg, out_dir, score_options_from(params), progress=progress)
    click.echo(result.message(), err=True)
    click.echo(render_table(summary))
    if not result.complete:
        raise click.exceptions.Exit(EXIT_INCOMPLETE)
