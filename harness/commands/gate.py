"""`harness gate GATES.toml LEADERBOARD.json`: one line per condition, then ship or fail."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="gate")
@click.argument("gates_toml", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("leaderboard_json", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--markdown",
    "markdown_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the decision as markdown here (e.g. to append to a pull-request comment).",
)
def command(gates_toml: Path, leaderboard_json: Path, markdown_out: Path | None) -> None:
    """Check every condition in GATES.toml against LEADERBOARD.json; exit 0 to ship, 1 not."""
    from harness.gate import run_gates
    from harness.io import write_atomic

    decision = run_gates(gates_toml, leaderboard_json)
    if markdown_out is not None:
        write_atomic(markdown_out, decision.markdown())
    click.echo(decision.text(), nl=False)
    if not decision.passed:
        raise click.exceptions.Exit(1)
