"""What every benchmark loader returns, and the registry that finds a loader by name."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, DataError
from harness.records import Example


@dataclass
class BenchmarkData:
    """A loaded split: its examples, the schema metadata scorers need, and provenance.

    `tables` maps db_id to a Spider-style tables.json entry (column_names_original,
    table_names_original, foreign_keys, ...); exact-set match needs it for foreign keys.
    `data_files` are hashed into summary.json so a number names the bytes it came from.
    `missing_db_ids` lists db_ids whose database file is absent (their examples have
    empty `db_paths`); the scorer refuses them unless told to allow a partial score.
    """

    name: str
    split: str
    examples: list[Example]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_files: list[Path] = field(default_factory=list)
    missing_db_ids: list[str] = field(default_factory=list)
    test_suite: bool = False
    # Examples in the whole split when `examples` was cut to its first N (--limit).
    n_split: int | None = None

    def limited(self, limit: int | None) -> BenchmarkData:
        """The split's first `limit` examples (what `--limit N` generates and scores)."""
        if not limit or limit >= len(self.examples):
            return self
        kept = self.examples[:limit]
        db_ids = {e.db_id for e in kept}
        return BenchmarkData(
            name=self.name, split=self.split, examples=kept, tables=self.tables,
            data_files=self.data_files,
            missing_db_ids=[d for d in self.missing_db_ids if d in db_ids],
            test_suite=self.test_suite, n_split=self.n_split or len(self.examples),
        )  # fmt: skip


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

# name -> "module:function"; imported only when asked for, so a missing optional
# dependency of one benchmark never breaks another.
REGISTRY: dict[str, str] = {
    "spider": "harness.benchmarks.spider:load_spider",
    "fixture": "harness.benchmarks.fixture:load_fixture",
    "bird": "harness.benchmarks.bird:load_bird",
    "create-context": "harness.benchmarks.create_context:load_create_context",
}


def get_loader(name: str) -> Loader:
    try:
        target = REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown benchmark {name!r}; known: {', '.join(sorted(REGISTRY))}"
        ) from None
    module_name, func_name = target.split(":")
    return getattr(importlib.import_module(module_name), func_name)


def load_benchmark(name: str, **options: Any) -> BenchmarkData:
    """Load benchmark `name`; options are the loader's keyword arguments
    (data_dir, split, db_dir, ...)."""
    return get_loader(name)(**options)


def read_json(path: Path, hint: str) -> Any:
    """A benchmark's JSON file; a missing or malformed one is a DataError naming it (and
    the line), with `hint` saying how to get the data."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f"{path}: not found ({hint})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
