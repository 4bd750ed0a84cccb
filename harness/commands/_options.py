"""Options shared by the commands that load a benchmark or score."""

from __future__ import annotations

import dataclasses
import functools
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness.benchmarks.base import LOADERS
from harness.config import BenchmarkConfig

if TYPE_CHECKING:
    from harness.scoring.options import ScoreOptions


def benchmark_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--bench",
            "bench",
            type=click.Choice(LOADERS.names()),
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
WITH_GENERATION = {
    "seed": "Seed for decoding, few-shot selection and the bootstrap.",
    "no_cache": "Bypass every cache: model responses, gold results, stored verdicts.",
}


def _click_option(f: dataclasses.Field[Any], kind: Any, help_text: str) -> Callable[..., Any]:
    """The click option for one ScoreOptions field: its flag, default and type come from
    the field, so they are written once (in harness/scoring/options.py). `kind` is the
    field's resolved annotation (`int | None` for an optional int)."""
    flag, default = f.metadata["flag"], f.default
    value_type = next(t for t in (typing.get_args(kind) or (kind,)) if t is not type(None))
    if value_type is bool:
        return click.option(flag, f.name, is_flag=True, default=default, help=help_text)
    if value_type is Path:
        folder = f.metadata["folder"]
        path_type = click.Path(path_type=Path, file_okay=not folder, dir_okay=folder)
        return click.option(flag, f.name, type=path_type, default=default, help=help_text)
    return click.option(flag, f.name, type=value_type, default=default,
                        show_default=default is not None, help=help_text)  # fmt: skip


def scoring_options(
    func: Callable[..., Any] | None = None,
    *,
    helps: dict[str, str] | None = None,
    files: bool = False,
) -> Any:
    """The scoring options, one per ScoreOptions field with a flag; `files=True` adds the
    ones that only a predictions file has (--limit, --allow-missing-predictions).
    `@scoring_options(helps=WITH_GENERATION)` for bench."""
    if func is None:
        return functools.partial(scoring_options, helps=helps, files=files)
    from harness.scoring.options import FILES, ScoreOptions

    kinds = typing.get_type_hints(ScoreOptions)
    options = [
        _click_option(f, kinds[f.name], (helps or {}).get(f.name, f.metadata["help"]))
        for f in dataclasses.fields(ScoreOptions)
        if "flag" in f.metadata and (files or f.metadata["offered"] != FILES)
    ]
    # Deprecated spellings, kept working (hidden).
    options += [
        click.option("--allow-missing-db", "old_allow_missing_db", is_flag=True, hidden=True),
        click.option("--cache-dir", "old_cache_dir", type=click.Path(path_type=Path), hidden=True),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def score_options_from(kwargs: dict[str, Any]) -> ScoreOptions:
    """The ScoreOptions the parsed flags name."""
    from harness.scoring.options import ScoreOptions

    for old, new in (
        ("old_allow_missing_db", "--allow-partial"),
        ("old_cache_dir", "--gold-cache-dir"),
    ):
        if kwargs.get(old):
            flag = "--" + old.removeprefix("old_").replace("_", "-")
            print(f"harness: note: {flag} is now {new}", file=sys.stderr)
    values = {f.name: kwargs[f.name] for f in dataclasses.fields(ScoreOptions) if f.name in kwargs}
    if kwargs.get("old_allow_missing_db"):
        values["allow_missing_db"] = True
    old_cache = kwargs.get("old_cache_dir")
    if old_cache and not values.get("cache_dir"):
        values["cache_dir"] = old_cache
    return ScoreOptions(**values)
