"""`harness score`: score a predictions file; no model involved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.commands._options import benchmark_options, score_options_from, scoring_options
from harness.scoring.options import EVALUATORS

if TYPE_CHECKING:
    from harness.pipeline.score import BenchmarkSource
    from harness.scoring.options import ScoreOptions


@click.command(name="score")
@benchmark_options
@click.option(
    "--pred",
    "pred_paths",
    type=click.Path(path_type=Path),
    required=True,
    multiple=True,
    help="Predictions: official lines (one SQL per line) or JSONL {id, sql}. Repeat it "
    "to score several files in one run (each into OUT/<file name>/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Run folder for rows.jsonl and summary.json.",
)
@scoring_options(files=True)
@click.option(
    "--evaluator",
    type=click.Choice(EVALUATORS),
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
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
def command(bench: str, data_dir: Path | None, split: str, db_dir: Path | None,
            pred_paths: tuple[Path, ...], out_dir: Path, evaluator: str,
            official_dir: Path | None, as_json: bool, **kwargs: Any) -> None:  # fmt: skip
    """Score predictions against a benchmark; writes RUN_DIR/rows.jsonl and summary.json."""
    from harness.pipeline.score import BenchmarkSource, ScorersDisagree, score
    from harness.scoring.official_bridge import render_official
    from harness.summary import render_table

    source = BenchmarkSource(bench, data_dir, split, db_dir)
    options = score_options_from(kwargs)
    if len(pred_paths) > 1:
        _score_several(source, list(pred_paths), out_dir, evaluator, as_json, options)
        return
    report = score(source, pred_paths[0], out_dir, options, evaluator, official_dir)
    if as_json:
        payload = report.summary if report.summary is not None else report.official.as_dict()
        click.echo(json.dumps(payload, indent=2))
    else:
        if report.summary is not None:
            click.echo(render_table(report.summary))
        if report.official is not None:
            click.echo("\n" + render_official(report.official))
    if report.official is not None and report.summary is not None:
        if report.disagreements:
            raise ScorersDisagree(
                f"native and official scorers disagree on {len(report.disagreements)} "
                "figure(s): " + "; ".join(d.describe() for d in report.disagreements[:8])
            )
        click.echo("native and official scorers agree on every figure.")


def _score_several(source: BenchmarkSource, pred_paths: list[Path], out_dir: Path,
                   evaluator: str, as_json: bool, options: ScoreOptions) -> None:  # fmt: skip
    from harness.errors import ConfigError
    from harness.pipeline.score import score_many
    from harness.summary import render_table

    if evaluator != "native":
        raise ConfigError("several --pred files are scored by the native evaluator only")
    results = score_many(source, pred_paths, out_dir, options)
    if as_json:
        click.echo(json.dumps({str(path): summary for path, summary in results}, indent=2))
        return
    for path, summary in results:
        click.echo(f"== {path} -> {out_dir / path.stem}")
        click.echo(render_table(summary) + "\n")
