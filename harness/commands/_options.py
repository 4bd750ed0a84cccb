"""Options shared by the commands that load a benchmark or score."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from harness.benchmarks.base import REGISTRY
from harness.config import BenchmarkConfig


def benchmark_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--bench",
            "bench",
            type=click.Choice(sorted(REGISTRY)),
            default=BenchmarkConfig.name,
            show_default=True,
            help="Benchmark family.",
        ),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Benchmark data directory (the fixture needs none).",
        ),
        click.option("--split", default=BenchmarkConfig.split, show_default=True),
        click.option(
            "--db-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Database directory (test-suite variants: several *.sqlite per db).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# Help for the two options whose reach depends on the command: `harness bench` seeds and
# caches generation as well as scoring.
SCORE_ONLY = {
    "seed": "Bootstrap seed.",
    "no_cache": "Do not use the gold-result cache or stored verdicts.",
}
WITH_GENERATION = {
    "seed": "Seed for decoding, few-shot selection and the bootstrap.",
    "no_cache": "Bypass every cache: model responses, gold results, stored verdicts.",
}


def scoring_options(
    func: Callable[..., Any] | None = None, *, helps: dict[str, str] = SCORE_ONLY
) -> Any:
    """The scoring options; `@scoring_options(helps=WITH_GENERATION)` for bench."""
    if func is None:
        return functools.partial(scoring_options, helps=helps)
    options = [
        click.option(
            "--keep-distinct",
            is_flag=True,
            help="Keep DISTINCT when executing (official --keep_distinct).",
        ),
        click.option(
            "--plug-value",
            is_flag=True,
            help="Also try the prediction with gold literals plugged in (official).",
        ),
        click.option(
            "--timeout",
            "timeout_s",
            type=float,
            default=30.0,
            show_default=True,
            help="Per-query time limit in seconds.",
        ),
        click.option(
            "--jobs",
            type=int,
            default=0,
            show_default=True,
            help="Worker processes (0 = one per CPU).",
        ),
        click.option(
            "--allow-partial",
            is_flag=True,
            help="Score the examples whose database exists; record the rest as "
            "excluded (a partial result, not citable; as `harness leaderboard "
            "--allow-partial` lists one).",
        ),
        # Deprecated spellings, kept working (hidden): --allow-missing-db, --cache-dir.
        click.option("--allow-missing-db", "old_allow_missing_db", is_flag=True, hidden=True),
        click.option("--no-cache", is_flag=True, help=helps["no_cache"]),
        click.option(
            "--gold-cache-dir",
            "cache_dir",
            type=click.Path(path_type=Path, file_okay=False),
            default=None,
            help="Folder of the gold-result cache and stored verdicts (default ~/.cache/harness).",
        ),
        click.option("--cache-dir", "old_cache_dir", type=click.Path(path_type=Path), hidden=True),
        click.option("--seed", type=int, default=0, show_default=True, help=helps["seed"]),
        click.option(
            "--resamples", type=int, default=10_000, show_default=True, help="Bootstrap resamples."
        ),
        click.option(
            "--r-ves",
            "r_ves_repeats",
            type=int,
            default=0,
            show_default=True,
            help="BIRD: timing repetitions for R-VES (0 = off; it is slow).",
        ),
        click.option(
            "--bird-timeout-factor",
            type=float,
            default=10.0,
            show_default=True,
            help="BIRD: a prediction may take this many times the gold's time...",
        ),
        click.option(
            "--bird-timeout-floor",
            "bird_timeout_floor_s",
            type=float,
            default=5.0,
            show_default=True,
            help="...but never less than this (seconds).",
        ),
        click.option(
            "--bird-exceptions",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="BIRD: reviewed list of known-bad gold queries "
            "(default bird/reference_exceptions.toml).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def score_options_from(kwargs: dict[str, Any]) -> Any:
    from harness.scoring.scorer import ScoreOptions

    for old, new in (
        ("old_allow_missing_db", "--allow-partial"),
        ("old_cache_dir", "--gold-cache-dir"),
    ):
        if kwargs.get(old):
            flag = "--" + old.removeprefix("old_").replace("_", "-")
            print(f"harness: note: {flag} is now {new}", file=sys.stderr)
    return ScoreOptions(
        keep_distinct=kwargs["keep_distinct"],
        plug_value=kwargs["plug_value"],
        timeout_s=kwargs["timeout_s"],
        jobs=kwargs["jobs"],
        allow_missing_db=kwargs["allow_partial"] or kwargs.get("old_allow_missing_db", False),
        no_cache=kwargs["no_cache"],
        limit=kwargs.get("limit"),
        allow_missing_predictions=kwargs.get("allow_missing_predictions", False),
        cache_dir=kwargs["cache_dir"] or kwargs.get("old_cache_dir"),
        seed=kwargs["seed"],
        resamples=kwargs["resamples"],
        r_ves_repeats=kwargs["r_ves_repeats"],
        bird_timeout_factor=kwargs["bird_timeout_factor"],
        bird_timeout_floor_s=kwargs["bird_timeout_floor_s"],
        bird_exceptions=kwargs["bird_exceptions"],
    )
