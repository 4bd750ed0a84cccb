"""Reading: a scored run folder (summary.json, rows.jsonl, config.toml) into a checked Run,
and a leaderboard.json back into a Leaderboard."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from harness.errors import ConfigError, DataError
from harness.io import jsonl_objects, read_json, read_toml
from harness.leaderboard.columns import BINARY_METRICS, METRICS
from harness.metrics import sampled_metric_names
from harness.records import (
    LEADERBOARD_SCHEMA_VERSION,
    SUMMARY_SCHEMA_VERSION,
    Leaderboard,
    Row,
    Summary,
)


@dataclass
class Run:
    """One run folder as read from disk."""

    name: str
    path: Path
    summary: Summary
    config: dict[str, Any]
    rows: list[Row]


def _read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise DataError(f"{path}: not found (per-question rows are needed for paired diffs)")
    rows: list[Row] = []
    seen: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, row in jsonl_objects(lines, path, DataError):
        if "id" not in row:
            raise DataError(f"{path}:{lineno}: a row needs an 'id'")
        row_id = str(row["id"])
        if row_id in seen:
            raise DataError(f"{path}:{lineno}: duplicate id {row_id!r}")
        seen.add(row_id)
        for metric in METRICS:
            value = row.get(metric)
            if value is None:
                continue
            if metric in BINARY_METRICS and value not in (0, 1):
                raise DataError(f"{path}:{lineno}: field {metric!r} must be 0, 1 or null")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"{path}:{lineno}: field {metric!r} must be a number or null")
        if row.get("ex") is None:
            raise DataError(f"{path}:{lineno}: field 'ex' is missing")
        rows.append(cast(Row, row))
    return rows


def config_name(run_dir: Path, config: Mapping[str, Any]) -> str:
    """The folder name, unless config.toml names the config (top-level or [run] `name`)."""
    named = config.get("name") or (config.get("run") or {}).get("name")
    return str(named) if named else run_dir.resolve().name


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: not a directory")
    summary_path = run_dir / "summary.json"
    summary = cast(
        Summary,
        read_json(summary_path, DataError, missing="not found (is this a scored run folder?)"),
    )
    if summary.get("schema_version") != SUMMARY_SCHEMA_VERSION:
        raise DataError(
            f"{summary_path}: schema_version {summary.get('schema_version')!r} "
            f"is not supported (expected {SUMMARY_SCHEMA_VERSION})"
        )
    for key in ("benchmark", "split", "n", "metrics"):
        if key not in summary:
            raise DataError(f"{summary_path}: field {key!r} is missing")
    if not summary["n"]:
        raise DataError(f"{summary_path}: n is 0 (nothing was scored)")
    config_path = run_dir / "config.toml"
    config = read_toml(config_path, ConfigError) if config_path.is_file() else {}
    _check_model_table(config_path, config.get("model") or {})
    rows = _read_rows(run_dir / "rows.jsonl")
    _check_consistent(run_dir, summary, rows)
    return Run(config_name(run_dir, config), run_dir, summary, config, rows)


def _check_model_table(path: Path, model: Mapping[str, Any]) -> None:
    # Checked here, where the file can be named; identity and the table read these fields.
    adapters = model.get("adapters") or []
    if not isinstance(adapters, list) or not all(isinstance(a, dict) for a in adapters):
        raise ConfigError(
            f"{path}: [model].adapters must be tables with path, weight and sha256 "
            "(as `harness bench` writes them)"
        )
    params = model.get("params")
    if params is not None and (
        isinstance(params, bool) or not isinstance(params, int | float) or params <= 0
    ):
        raise ConfigError(f"{path}: [model].params must be a positive number, got {params!r}")


def _check_consistent(run_dir: Path, summary: Summary, rows: list[Row]) -> None:
    # A leaderboard that silently trusts a stale summary could publish a number that the
    # rows beside it do not support.
    if len(rows) != summary["n"]:
        raise DataError(
            f"{run_dir}: summary.json says n={summary['n']} but rows.jsonl has {len(rows)} rows"
        )
    for metric in (*METRICS, *sampled_metric_names(summary)):
        recorded = (summary["metrics"].get(metric) or {}).get("mean")
        values = [row[metric] for row in rows if row.get(metric) is not None]  # type: ignore[literal-required]
        if recorded is None or not values:
            continue
        actual = sum(values) / len(values)
        if abs(actual - recorded) > 1e-9:
            raise DataError(
                f"{run_dir}: summary.json {metric} mean {recorded} disagrees with rows.jsonl "
                f"({actual}); re-score the run"
            )


def load_leaderboard(source: Path | str | Mapping[str, Any]) -> Leaderboard:
    """A leaderboard.json file (or an already loaded dict), checked for its schema version."""
    if isinstance(source, Mapping):
        value = dict(source)
        where = "leaderboard"
    else:
        value = read_json(
            Path(source), DataError, missing="not found (write one with `harness leaderboard`)"
        )
        where = str(source)
    if value.get("schema_version") != LEADERBOARD_SCHEMA_VERSION or not isinstance(
        value.get("tables"), list
    ):
        raise DataError(
            f"{where}: not a harness leaderboard.json "
            f"(schema_version {LEADERBOARD_SCHEMA_VERSION}, 'tables')"
        )
    return cast(Leaderboard, value)
