"""`harness score`: score a predictions file; no model involved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from harness.commands._options import benchmark_options, score_options_from, scoring_options


@click.command(name="score")
@benchmark_options
@click.option("--pred", "pred_path", type=click.Path(path_type=Path), required=True,
              help="Predictions: official lines (one SQL per line) or JSONL {id, sql}.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Run folder for rows.jsonl and summary.json.")
@scoring_options
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
def command(bench: str, data_dir: Path | None, split: str, db_dir: Path | None,
            pred_path: Path, out_dir: Path, as_json: bool, **kwargs: Any) -> None:
    """Score predictions against a benchmark; writes RUN_DIR/rows.jsonl and summary.json."""
    from harness.scoring.families import FAMILIES
    from harness.scoring.scorer import score_files
    from harness.summary import render_table

    summary = score_files(bench, data_dir, split, pred_path, out_dir, db_dir,
                          score_options_from(kwargs))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(render_table(summary, FAMILIES[bench]))
