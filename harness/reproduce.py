"""`harness reproduce TABLE`: re-run a published table and say whether each number reproduced.

A published table is a TOML file under `spider/published/` or `bird/published/`: its
source, the metric, `[defaults.*]` run-config tables shared by every row, and `[[rows]]`,
each a run config (`[rows.model]`, `[rows.prompt]`, `[rows.decoding]`, ...: the same
tables as a `harness bench` config file) plus `[rows.published]` value/low/high/n, an
optional per-row `metric` (ex, ts, maj@8, ...: any metric the scorer reports; default the
table's), and `[rows.setup]` (also under `[defaults.setup]`): what the source did that is
not a run-config key (prompt format, evaluator, test-suite or not, engine), printed by
--dry-run. A benchmark value `asset:NAME` is the folder `harness prepare NAME` fills.

Each row runs through the bench pipeline (generate, then score) into
`runs/reproduce/<table>/<row>/`, and the table is written as markdown next to them:
published value with its CI, reproduced value with its CI, the difference, and whether
the published value lies inside the reproduced CI.
"""

from __future__ import annotations

import os
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from harness.config import SECTIONS
from harness.errors import ConfigError, HarnessError
from harness.io import write_atomic, write_json
from harness.prepare.manifest import harness_home
from harness.reproduce_report import (  # noqa: F401 - re-exported
    describe_outcome,
    outcome_json,
    render_markdown,
    render_plan,
)

TABLE_DIRS = ("spider/published", "bird/published")
ENV_PREFIX = "env:"
ASSET_PREFIX = "asset:"


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


# ---------------------------------------------------------------- reading tables


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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
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


# ---------------------------------------------------------------- planning


def _resolve_adapters(config: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """`env:VAR` adapter entries name an environment variable holding the adapter's path
    (for adapters a source trained but did not publish); returns the config with them
    filled in, and a problem line for each one missing."""
    model = dict(config.get("model", {}))
    adapters, problems = [], []
    for entry in model.get("adapters", []):
        if entry.startswith(ENV_PREFIX):
            var = entry[len(ENV_PREFIX) :]
            value = os.environ.get(var)
            if not value:
                problems.append(f"adapter not given: set {var} to the adapter's path")
                adapters.append(entry)
                continue
            entry = value
        adapters.append(entry)
    if adapters:
        model["adapters"] = adapters
    return {**config, "model": model}, "; ".join(problems)


# benchmark/split -> the `harness prepare` asset that holds its data
_ASSETS = {
    ("spider", "dev"): "spider",
    ("bird", "dev"): "bird-dev",
    ("bird", "mini_dev"): "bird-minidev",
}


def _prompt_format(row: Row, config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The row's prompt format as the run config's `[prompt] format`; a name that no
    shipped format or file answers is reported (the row is then not run)."""
    from harness.prompting.formats import load_format

    name = row.setup.get("prompt_format")
    if not name or name == "harness":
        return config, ""
    try:
        load_format(name)
    except ConfigError as exc:
        return config, str(exc)
    return {**config, "prompt": {**config.get("prompt", {}), "format": name}}, ""


def _with_data_dir(config: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Point the row at the prepared data (`harness prepare`'s folder) unless it names one;
    `asset:NAME` values become that asset's folder."""
    from harness.prepare.manifest import get_asset

    bench = {
        k: str(get_asset(v[len(ASSET_PREFIX) :]).dest())
        if isinstance(v, str) and v.startswith(ASSET_PREFIX)
        else v
        for k, v in config.get("benchmark", {}).items()
    }
    asset = _ASSETS.get((bench.get("name", "spider"), bench.get("split", "dev")))
    if asset is None or bench.get("data_dir"):
        return {**config, "benchmark": bench}
    bench["data_dir"] = str(get_asset(asset).dest())
    return {**config, "benchmark": bench}


def config_toml(config: dict[str, dict[str, Any]]) -> str:
    """The run config as a `harness bench --config` file (run-config tables, sorted keys)."""
    tables = {
        section: dict(sorted(config[section].items()))
        for section in SECTIONS
        if config.get(section)
    }
    return tomli_w.dumps(tables)


def plan(
    table: Table, only: list[str] | None = None, runs_dir: Path | None = None
) -> list[Planned]:
    runs_dir = Path(runs_dir or "runs/reproduce") / table.id
    rows = table.rows
    if only:
        unknown = sorted(set(only) - {r.id for r in rows})
        if unknown:
            raise ConfigError(
                f"{table.path}: no row {', '.join(unknown)}; rows: {', '.join(r.id for r in rows)}"
            )
        rows = [r for r in rows if r.id in only]
    planned = []
    for row in rows:
        config, problem = _resolve_adapters(_with_data_dir(row.config))
        config, format_problem = _prompt_format(row, config)
        problem = "; ".join(p for p in (problem, format_problem) if p)
        run_dir = runs_dir / row.id
        config_path = run_dir / "reproduce-config.toml"
        command = ["harness", "bench", "--config", str(config_path), "--out", str(run_dir)]
        planned.append(Planned(row, run_dir, config_path, command, config_toml(config), problem))
    return planned


# ---------------------------------------------------------------- running


BenchFn = Callable[[Any, Path, Any], tuple[Any, dict[str, Any]]]


def _default_bench() -> BenchFn:
    # Imported only for a real run: generation pulls in the backends.
    from harness.generation import bench

    def run(cfg: Any, out_dir: Path, score_options: Any) -> tuple[Any, dict[str, Any]]:
        return bench(cfg, out_dir, score_options)

    return run


def _run_config(config_text: str) -> Any:
    from harness.config import RunConfig, apply, validate

    cfg = RunConfig()
    apply(cfg, tomllib.loads(config_text), "published table row")
    validate(cfg)
    return cfg


def outcome_from_summary(row: Row, run_dir: Path, summary: dict[str, Any], metric: str) -> Outcome:
    m = summary.get("metrics", {}).get(metric)
    if not m:
        return Outcome(row, run_dir, error=f"the scorer reported no {metric!r} metric")
    excluded = summary.get("excluded", {}).get("reasons", {}) or {}
    return Outcome(
        row,
        run_dir,
        mean=m.get("mean"),
        low=m.get("low"),
        high=m.get("high"),
        n=m.get("n", summary.get("n")),
        n_total=summary.get("n_total"),
        excluded={k: int(v) for k, v in excluded.items() if v},
    )


def reproduce(
    name: str | Path,
    only: list[str] | None = None,
    runs_dir: Path | None = None,
    score_options: Any = None,
    bench_fn: BenchFn | None = None,
    say: Callable[[str], None] = print,
) -> tuple[list[Outcome], Path]:
    """Run each (selected) row, write REPRODUCED.md and reproduced.json; returns the
    outcomes and the markdown's path. A row that cannot run is reported, not fatal."""
    table = load_table(name)
    planned = plan(table, only, runs_dir)
    if score_options is None:
        from harness.scoring.scorer import ScoreOptions

        score_options = ScoreOptions()
    run = bench_fn or _default_bench()
    outcomes: list[Outcome] = []
    out_dir = Path(runs_dir or "runs/reproduce") / table.id
    md_path = out_dir / "REPRODUCED.md"
    try:
        for p in planned:
            say(f"== {table.id}/{p.row.id}: {p.row.label}")
            if p.problem:
                outcomes.append(Outcome(p.row, p.run_dir, error=p.problem))
                continue
            try:
                cfg = _run_config(p.config_text)
                write_atomic(p.config_path, p.config_text)
                _, summary = run(cfg, p.run_dir, score_options)
                outcomes.append(outcome_from_summary(p.row, p.run_dir, summary, p.row.metric))
            except HarnessError as exc:
                outcomes.append(Outcome(p.row, p.run_dir, error=str(exc)))
            except Exception as exc:
                # One row's crash (a CUDA out-of-memory, a backend bug) must not cost the
                # rows already run their line in the table; its run folder keeps the rest.
                outcomes.append(Outcome(p.row, p.run_dir, error=f"{type(exc).__name__}: {exc}"))
            say(f"   {describe_outcome(outcomes[-1])}")
    finally:
        # Written even when interrupted, with the rows finished so far.
        write_atomic(md_path, render_markdown(table, outcomes))
        write_json(out_dir / "reproduced.json", [outcome_json(o) for o in outcomes])
    return outcomes, md_path
