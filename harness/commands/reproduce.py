"""`harness reproduce TABLE`: re-run a published table; say whether each number reproduced."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="reproduce")
@click.argument("table")
@click.option(
    "--only", "only", multiple=True, metavar="ROW", help="Run only this row (repeatable)."
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print each row's run config and the exact command; run nothing.",
)
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    default=Path("runs/reproduce"),
    show_default=True,
    help="Where the run folders and REPRODUCED.md go.",
)
def command(table: str, only: tuple[str, ...], dry_run: bool, runs_dir: Path) -> None:
    """Re-run TABLE (a file, or a name under spider/published or bird/published) and write
    a markdown table: published, reproduced with 95% CI, difference, and whether the
    published value lies in the reproduced CI."""
    from harness.pipeline.published import load_table
    from harness.pipeline.reproduce import plan, reproduce
    from harness.pipeline.reproduce_report import render_plan

    if dry_run:
        loaded = load_table(table)
        click.echo(render_plan(loaded, plan(loaded, list(only) or None, runs_dir)))
        return
    _, md_path = reproduce(
        table, list(only) or None, runs_dir, say=lambda line: click.echo(line, err=True)
    )
    click.echo(md_path.read_text(encoding="utf-8"))
    click.echo(f"written: {md_path}", err=True)
