"""`harness testsuite build`: distil a test suite of random databases for a benchmark."""

from __future__ import annotations

from pathlib import Path

import click

from harness.benchmarks.base import LOADERS
from harness.testsuite.build import BuildRequest, build_testsuite
from harness.testsuite.distill import Budget


@click.group(name="testsuite")
def command() -> None:
    """Distilled test suites (Zhong et al. 2020) for any SQLite benchmark."""


@command.command(name="build")
@click.option("--bench", type=click.Choice(LOADERS.names()), default="spider", show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--split", default="dev", show_default=True)
@click.option(
    "--out", "out", type=click.Path(path_type=Path), required=True,
    help="Suite folder: <db_id>/<db_id>.sqlite + the kept random databases.",
)  # fmt: skip
@click.option("--seed", type=int, default=BuildRequest.seed, show_default=True)
@click.option(
    "--jobs", type=int, default=BuildRequest.jobs,
    help="Parallel databases (default: one per CPU).",
)  # fmt: skip
@click.option("--db-id", "db_ids", multiple=True, help="Only these databases (repeatable).")
@click.option(
    "--max-databases", type=int, default=Budget.max_databases, show_default=True,
    help="Kept random databases per schema, at most.",
)  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def build(
    bench: str,
    data_dir: Path | None,
    split: str,
    out: Path,
    seed: int,
    jobs: int,
    db_ids: tuple[str, ...],
    max_databases: int,
    no_progress: bool,
) -> None:
    """Build (or resume) a test suite in the official layout, with a manifest."""
    import sys

    from harness.errors import ConfigError
    from harness.progress import make_progress

    if jobs < 0 or max_databases < 1:
        raise ConfigError("--jobs must be >= 0 and --max-databases >= 1")
    request = BuildRequest(
        bench=bench, data_dir=data_dir, split=split, out=out, seed=seed, jobs=jobs,
        db_ids=db_ids, budget=Budget(max_databases=max_databases),
    )  # fmt: skip
    with make_progress(not no_progress and sys.stderr.isatty(), unit="databases") as bar:
        task = bar.add_task("test suite", total=None)

        def advance(db_id: str, skipped: bool) -> None:
            bar.advance(task)

        def total(n: int) -> None:
            bar.update(task, total=n)

        manifest = build_testsuite(request, on_done=advance, on_total=total)
    per_schema = manifest["databases_per_schema"]
    assert isinstance(per_schema, dict)
    counts = sorted(per_schema.values())
    click.echo(
        f"test suite in {out}: {len(per_schema)} schemas, {sum(counts)} databases "
        f"({counts[0]}-{counts[-1]} per schema), {manifest['size_bytes'] / 2**20:.1f} MiB; "
        f"{manifest['undistinguished']} of {manifest['neighbors']} neighbour queries "
        "not told apart from their gold (see manifest.json)"
    )
    missing = manifest["missing_db_ids"]
    if missing:
        click.echo(f"no database, skipped: {', '.join(missing)}")  # type: ignore[arg-type]
