"""`harness leaderboard RUN_DIR... --out DIR`: markdown, JSON and plot from scored runs."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="leaderboard")
@click.argument(
    "run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for LEADERBOARD.md, leaderboard.json, index.html and the PNGs.",
)
@click.option(
    "--allow-outages", is_flag=True, help="List runs with provider outages (as not citable)."
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="List runs that excluded examples, e.g. missing databases (as not citable).",
)
def command(run_dirs: tuple[Path, ...], out_dir: Path, allow_outages: bool, allow_partial: bool):
    """Build the leaderboard from scored run folders (summary.json + rows.jsonl)."""
    from harness.leaderboard.columns import MD_NAME
    from harness.report.publish import publish_leaderboard

    publish_leaderboard(
        list(run_dirs), out_dir, allow_outages=allow_outages, allow_partial=allow_partial
    )
    click.echo((out_dir / MD_NAME).read_text(encoding="utf-8"), nl=False)
