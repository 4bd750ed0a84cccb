"""`harness selftest`: gold vs gold must score 100%; exit non-zero otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from harness.commands._options import benchmark_options, score_options_from, scoring_options
from harness.errors import SelftestFailed


@click.command(name="selftest")
@benchmark_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep the rows/summary here (default: a temporary folder).",
)
@scoring_options
def command(
    bench: str,
    data_dir: Path | None,
    split: str,
    db_dir: Path | None,
    out_dir: Path | None,
    **kwargs: Any,
) -> None:
    """Score every gold query against itself: must be 100% EX and EM."""
    from harness.pipeline.score import BenchmarkSource
    from harness.pipeline.selftest import selftest
    from harness.summary import render_table

    source = BenchmarkSource(bench, data_dir, split, db_dir)
    report = selftest(source, score_options_from(kwargs), out_dir)
    summary = report.summary
    if not summary["n"]:
        # Nothing ran, so nothing matched or failed: say why instead of "0 do not match".
        reasons = summary.get("excluded", {}).get("reasons", {})
        why = ", ".join(f"{k}: {v}" for k, v in reasons.items() if v) or "none in the split"
        raise SelftestFailed(
            f"selftest checked no gold query: all {summary.get('n_total', 0)} examples were "
            f"excluded ({why}); fetch the databases (harness prepare) and rerun"
        )
    click.echo(render_table(summary))
    if not report.passed:
        shown = "; ".join(_describe(f) for f in report.failures[:10])
        raise SelftestFailed(
            f"{len(report.failures)} gold queries do not match themselves: {shown}"
        )
    of = f" of {summary['n_total']}" if summary.get("n_total", summary["n"]) != summary["n"] else ""
    click.echo(f"selftest passed: {summary['n']}{of} gold queries match themselves.")


def _describe(failure: dict[str, Any]) -> str:
    if failure.get("id") is None:  # about the data (e.g. the exception list), not one row
        return failure["problem"]
    error = f": {failure['error']}" if failure.get("error") else ""
    return f"{failure['id']} ({failure['db_id']}: {failure['problem']}{error})"
