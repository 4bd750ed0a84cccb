"""A published table (`spider/published/*.toml`, `bird/published/*.toml`): its rows, each a
run config plus the published value, read and checked; and the records of reproducing
one (a planned row, an outcome)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import SECTIONS
from harness.errors import ConfigError
from harness.io import read_toml
from harness.prepare.manifest import harness_home

TABLE_DIRS = ("spider/published", "bird/published")


@dataclass(frozen=True)
class Published:
    value: float
    low: float | None = None
    high: float | None = None
    n: int | None = None


@dataclass
class Row:
    id: str
    label: str
    config: dict[str, dict[str, Any]]  # run-config tables, defaults merged in
    published: Published
    notes: str = ""
    metric: str = "ex"
    setup: dict[str, Any] = field(default_factory=dict)


@dataclass
class Table:
    path: Path
    id: str
    title: str
    metric: str
    source: dict[str, Any]
    rows: list[Row]
    notes: str = ""


@dataclass
class Planned:
    row: Row
    run_dir: Path
    config_path: Path
    command: list[str]
    config_text: str
    problem: str = ""  # why this row cannot run as it stands (e.g. an adapter not given)

    def shell(self) -> str:
        return shlex.join(self.command)


@dataclass
class Outcome:
    row: Row
    run_dir: Path
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    n_total: int | None = None
    excluded: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def delta(self) -> float | None:
        return None if self.mean is None else self.mean - self.row.published.value

    @property
    def within_ci(self) -> bool | None:
        if self.low is None or self.high is None:
            return None
        return self.low <= self.row.published.value <= self.high


def find_table(name: str) -> Path:
    """A path, or a table name looked up in spider/published and bird/published."""
    path = Path(name)
    if path.is_file():
        return path
    home = harness_home()
    stem = path.name.removesuffix(".toml")
    hits = [home / d / f"{stem}.toml" for d in TABLE_DIRS if (home / d / f"{stem}.toml").is_file()]
    if len(hits) == 1:
        return hits[0]
    known = sorted(p.stem for d in TABLE_DIRS for p in (home / d).glob("*.toml"))
    raise ConfigError(f"no published table {name!r}; known: {', '.join(known) or 'none'}")


def _merge(defaults: dict[str, Any], row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {k: dict(v) for k, v in defaults.items()}
    for section, table in row.items():
        out.setdefault(section, {}).update(table)
    return out


def load_table(name: str | Path) -> Table:
    path = find_table(str(name))
    data = read_toml(path, ConfigError)
    defaults = dict(data.get("defaults", {}))
    default_setup = dict(defaults.pop("setup", {}))
    _check_sections(defaults, f"{path}: defaults")
    table_metric = str(data.get("metric", "ex"))
    rows = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("rows", [])):
        where = f"{path}: rows[{i}]"
        row_id = str(raw.get("id", ""))
        if not row_id or row_id in seen:
            raise ConfigError(f"{where}: every row needs a unique id")
        seen.add(row_id)
        pub = raw.get("published")
        if not isinstance(pub, dict) or "value" not in pub:
            raise ConfigError(f"{where}: [rows.published] value is required")
        config = {
            k: v for k, v in raw.items() if isinstance(v, dict) and k not in ("published", "setup")
        }
        _check_sections(config, where)
        try:
            published = Published(
                value=float(pub["value"]),
                low=_opt_float(pub.get("low")),
                high=_opt_float(pub.get("high")),
                n=int(pub["n"]) if "n" in pub else None,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: [rows.published] needs numbers ({exc})") from None
        rows.append(
            Row(
                id=row_id,
                label=str(raw.get("label", row_id)),
                config=_merge(defaults, config),
                published=published,
                notes=str(raw.get("notes", "")),
                metric=str(raw.get("metric", table_metric)),
                setup={**default_setup, **raw.get("setup", {})},
            )
        )
    if not rows:
        raise ConfigError(f"{path}: no [[rows]]")
    return Table(
        path=path,
        id=str(data.get("id", path.stem)),
        title=str(data.get("title", path.stem)),
        metric=table_metric,
        source=dict(data.get("source", {})),
        rows=rows,
        notes=str(data.get("notes", "")),
    )


def _check_sections(config: dict[str, Any], where: str) -> None:
    # A misspelt table ([rows.decodng]) would otherwise be dropped from the run config and
    # the row run with defaults, reproducing a different configuration without a word.
    unknown = sorted(set(config) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"{where}: unknown table(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}"
        )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
