"""`harness score`: score a predictions file; no model involved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from harness.commands._options import benchmark_options, score_options_from, scoring_options


@click.command(name="score")
@benchmark_options
@click.option(
    "--pred",
    "pred_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Predictions: official lines (one SQL per line) or JSONL {id, sql}.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Run folder for rows.jsonl and summary.json.",
)
@scoring_options
@click.option(
    "--evaluator",
    type=click.Choice(["native", "official", "both"]),
    default="native",
    show_default=True,
    help="official = run the fetched official Spider evaluator; both = run both "
    "and list every per-metric disagreement.",
)
@click.option(
    "--official-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Official evaluator checkout (default: where `harness prepare "
    "official-evaluator` put it).",
)
@click.option(
    "--limit",
    type=int,
    default=None,
    help="Score only the split's first N examples (recorded as a partial score); the "
    "predictions may cover the whole split or just those N.",
)
@click.option(
    "--allow-missing-predictions",
    is_flag=True,
    help="Leave out the questions the predictions file lacks (a partial score) instead of "
    "refusing it. A short official-lines file stays an error (its lines pair by position).",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
def command(bench: str, data_dir: Path | None, split: str, db_dir: Path | None,
            pred_path: Path, out_dir: Path, evaluator: str, official_dir: Path | None,
            as_json: bool, **kwargs: Any) -> None:  # fmt: skip
    """Score predictions against a benchmark; writes RUN_DIR/rows.jsonl and summary.json."""
    from harness.scoring.families import FAMILIES
    from harness.scoring.second_opinion import ScorersDisagree, render_official, score_with
    from harness.summary import render_table

    report = score_with(evaluator, bench, data_dir, split, pred_path, out_dir, db_dir,
                        score_options_from(kwargs), official_dir)  # fmt: skip
    if as_json:
        payload = report.summary if report.summary is not None else report.official.as_dict()
        click.echo(json.dumps(payload, indent=2))
    else:
        if report.summary is not None:
            click.echo(render_table(report.summary, FAMILIES[bench]))
        if report.official is not None:
            click.echo("\n" + render_official(report.official))
    if report.official is not None and report.summary is not None:
        if report.disagreements:
            raise ScorersDisagree(
                f"native and official scorers disagree on {len(report.disagreements)} "
                "figure(s): " + "; ".join(d.describe() for d in report.disagreements[:8])
            )
        click.echo("native and official scorers agree on every figure.")
