"""`harness failures RUN_DIR --out DIR`: failure labels, preference pairs and a summary."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="failures")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for failure-labels.jsonl, failure-preferences.jsonl and failures-summary.md.",
)
@click.option(
    "--data-dir",
    default=None,
    help="Benchmark data, when config.toml's [benchmark].data_dir is not reachable here "
    "(the prompts are rebuilt from it).",
)
@click.option("--db-dir", default=None, help="Databases, likewise (schema in the prompt).")
def command(run_dir: Path, out_dir: Path, data_dir: str | None, db_dir: str | None) -> None:
    """Export a scored run's wrong answers for the next fine-tuning round (DPO/ORPO pairs)."""
    from harness.failures_export import export_failures

    result = export_failures(run_dir, out_dir, data_dir=data_dir, db_dir=db_dir)
    click.echo(result.markdown(), nl=False)
    for path in result.files:
        click.echo(f"wrote {path}")
