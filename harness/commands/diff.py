"""`harness diff BASE.json HEAD.json [--gate MIN_PP]`: paired leaderboard comparison."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="diff")
@click.argument("base", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("head", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--gate",
    "gate_pp",
    type=float,
    default=None,
    metavar="MIN_PP",
    help="Pass iff candidate EX ≥ baseline EX + MIN_PP points with a paired CI above 0; "
    "prints pass/fail and exits 0/1.",
)
@click.option(
    "--baseline", default=None, help="Baseline config in BASE (NAME or BENCH/SPLIT:NAME)."
)
@click.option(
    "--candidate", default=None, help="Candidate config in HEAD (NAME or BENCH/SPLIT:NAME)."
)
@click.option(
    "--vary",
    multiple=True,
    metavar="FIELD",
    help="Identity field (e.g. decoding.temperature) allowed to differ, besides model and prompt.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the markdown here (e.g. for a pull-request comment).",
)
def command(
    base: Path,
    head: Path,
    gate_pp: float | None,
    baseline: str | None,
    candidate: str | None,
    vary: tuple[str, ...],
    out_file: Path | None,
) -> None:
    """Compare two leaderboard.json files paired, question by question."""
    from harness.diffing.diff import diff_leaderboards
    from harness.io import write_atomic

    result = diff_leaderboards(
        base, head, gate_pp=gate_pp, baseline=baseline, candidate=candidate, vary=vary
    )
    if out_file is not None:
        write_atomic(out_file, result.markdown)
    click.echo(result.markdown, nl=False)
    if result.gate is not None:
        click.echo(result.gate.line)
        if not result.gate.passed:
            raise click.exceptions.Exit(1)
