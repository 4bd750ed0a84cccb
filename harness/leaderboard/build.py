"""Entries grouped into one table per (benchmark, split), checked and ranked; the whole
leaderboard as the record leaderboard.json holds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from harness import __version__
from harness.identity import data_files_sha256
from harness.leaderboard.entry import LeaderboardError, make_entry
from harness.leaderboard.load import Run
from harness.records import (
    LEADERBOARD_SCHEMA_VERSION,
    DataProvenance,
    Leaderboard,
    LeaderboardEntry,
    SplitTable,
)


def _split_key(run: Run) -> tuple[str, str]:
    return str(run.summary["benchmark"]), str(run.summary["split"])


def _check_same_questions(key: tuple[str, str], runs: Sequence[Run]) -> None:
    by_files: dict[str | None, list[str]] = {}
    for run in runs:
        files_sha = data_files_sha256(run.summary.get("data") or {})
        by_files.setdefault(files_sha, []).append(str(run.path))
    if len(by_files) > 1:
        groups = "; ".join(
            f"{(sha or 'unknown')[:12]}: {', '.join(paths)}" for sha, paths in by_files.items()
        )
        raise LeaderboardError(
            f"{key[0]}/{key[1]}: runs were scored on different data files ({groups}); "
            "they cannot share one table"
        )


def _check_unique_names(key: tuple[str, str], runs: Sequence[Run]) -> None:
    names: dict[str, Path] = {}
    for run in runs:
        if run.name in names:
            raise LeaderboardError(
                f"{key[0]}/{key[1]}: config name {run.name!r} is used by both "
                f"{names[run.name]} and {run.path}"
            )
        names[run.name] = run.path


def _rank(entries: list[LeaderboardEntry]) -> None:
    """Competition ranking ("1, 2, 2, 4") by EX point estimate; ties broken by name only
    for the listing order, never for the rank number."""
    entries.sort(key=lambda e: (-e["metrics"]["ex"]["mean"], e["config"]))
    previous = None
    for position, entry in enumerate(entries, 1):
        mean = entry["metrics"]["ex"]["mean"]
        if previous is None or mean != previous[0]:
            previous = (mean, position)
        entry["rank"] = previous[1]


def _datasets(runs: Iterable[Run]) -> dict[str, DataProvenance]:
    catalog: dict[str, DataProvenance] = {}
    for run in runs:
        data = run.summary.get("data") or {}
        sha = data.get("sha256")
        if sha and sha not in catalog:
            catalog[sha] = {
                "files": dict(sorted((data.get("files") or {}).items())),
                "databases": dict(sorted((data.get("databases") or {}).items())),
            }
    return dict(sorted(catalog.items()))


def build_split_tables(
    runs: Sequence[Run], allow_outages: bool = False, allow_partial: bool = False
) -> list[SplitTable]:
    """One ranked table per (benchmark, split), in sorted order."""
    grouped: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        grouped.setdefault(_split_key(run), []).append(run)
    split_tables: list[SplitTable] = []
    for key in sorted(grouped):
        group = grouped[key]
        _check_same_questions(key, group)
        _check_unique_names(key, group)
        entries = [make_entry(run, allow_outages, allow_partial) for run in group]
        _rank(entries)
        split_tables.append(
            {
                "benchmark": key[0],
                "split": key[1],
                "entries": entries,
                "datasets": _datasets(group),
            }
        )
    return split_tables


def build_leaderboard(
    runs: Sequence[Run], allow_outages: bool = False, allow_partial: bool = False
) -> Leaderboard:
    """The leaderboard of loaded runs (see load_run); nothing is written."""
    return {
        "schema_version": LEADERBOARD_SCHEMA_VERSION,
        "kind": "harness-leaderboard",
        "built_with": __version__,
        "tables": build_split_tables(runs, allow_outages, allow_partial),
    }
