"""The registry that finds a benchmark loader by name (each returns a records.BenchmarkData)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import io
from harness.errors import DataError
from harness.records import BenchmarkData
from harness.registry import Registry


def database_variants(db_root: Path, db_id: str) -> tuple[Path, ...]:
    """Every database file judged for db_id: `<db_id>.sqlite` first, then the other variants.

    The official evaluator takes every file in the folder whose name contains `.sqlite`;
    SQLite's own side files (-journal, -wal, -shm) are left out here, since they are not
    databases.
    """
    folder = db_root / db_id
    if not folder.is_dir():
        return ()
    main = folder / f"{db_id}.sqlite"
    others = sorted(
        p
        for p in folder.iterdir()
        if ".sqlite" in p.name
        and p != main
        and p.is_file()
        and not p.name.endswith(("-journal", "-wal", "-shm"))
    )
    if main.is_file():
        return (main, *others)
    return tuple(others)


Loader = Callable[..., BenchmarkData]

# Imported only when asked for, so a missing optional dependency of one benchmark never
# breaks another.
LOADERS: Registry[Loader] = Registry(
    "benchmark",
    {
        "spider": "harness.benchmarks.spider:load_spider",
        "fixture": "harness.benchmarks.fixture:load_fixture",
        "bird": "harness.benchmarks.bird:load_bird",
        "create-context": "harness.benchmarks.create_context:load_create_context",
    },
    callable,
    "a loader function",
)


def load_benchmark(name: str, **options: Any) -> BenchmarkData:
    """Load benchmark `name`; options are the loader's keyword arguments
    (data_dir, split, db_dir, ...)."""
    return LOADERS.get(name)(**options)


def read_json(path: Path, hint: str) -> Any:
    """A benchmark's JSON file; a missing or malformed one is a DataError naming it (and
    the line), with `hint` saying how to get the data."""
    return io.read_json(path, DataError, missing=f"not found ({hint})", expect=object)
