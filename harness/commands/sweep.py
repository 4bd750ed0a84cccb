"""`harness sweep`: a grid of run configs, each cell generated and scored as `harness bench`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._options import score_options_from, scoring_options
from harness.sweep.executors import EXECUTORS

EXIT_FAILED = 1


@click.command(name="sweep")
@click.argument("grid", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Sweep folder: one run folder per cell, and leaderboard/.",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS.names()),
    default="local",
    show_default=True,
    help="local: cells one after another here; ray: cells as Ray tasks.",
)
@click.option(
    "--ray-address",
    help="Join this Ray cluster (default: start a local Ray on loopback).",
)
@click.option("--dry-run", is_flag=True, help="Print the cells, their folders and their state.")
@click.option("--shard", metavar="I/N", help="Run only every N-th cell from the I-th (0-based).")
@click.option("--merge", is_flag=True, help="Only build the leaderboard from what shards wrote.")
@click.option("--progress/--no-progress", default=False, help="Progress bars for each cell.")
@scoring_options
def command(
    grid: Path,
    out_dir: Path,
    executor: str,
    ray_address: str | None,
    dry_run: bool,
    shard: str | None,
    merge: bool,
    progress: bool,
    **params: Any,
) -> None:
    """Run every cell of GRID.toml into OUT/<cell>/, then build OUT/leaderboard/.

    A finished cell is skipped, a partial one resumes, a failed one is retried ([sweep]
    retries) and reported; the exit status is 1 when any cell failed.
    """
    from harness.errors import ConfigError
    from harness.sweep.pipeline import dry_run as show_plan
    from harness.sweep.pipeline import merge_sweep, report_text, run_sweep

    if merge and (shard or dry_run):
        raise ConfigError("--merge reads what the shards wrote; give it without --shard/--dry-run")
    if dry_run:
        click.echo(show_plan(grid, out_dir, shard))
        return
    options = score_options_from(params)
    if merge:
        result = merge_sweep(grid, out_dir, options)
    else:
        echo = lambda line: click.echo(line, err=True)  # noqa: E731
        result = run_sweep(grid, out_dir, options, executor, ray_address, shard, progress, echo)
    click.echo(report_text(result))
    if result.failed:
        raise click.exceptions.Exit(EXIT_FAILED)
