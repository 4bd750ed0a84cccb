"""GRID.toml: a base run config (the tables of `harness bench --config`) and the cells
it expands to.

    [model] / [benchmark] / [prompt] / [decoding] / [run]   the base config
    [matrix]      "section.key" = [value, ...]   every combination is a cell
    [[exclude]]   "section.key" = value, ...     drops the matrix cells matching all of them
    [[include]]   "section.key" = value, ...     one more cell: the base plus these values
                  (name = "..." names it; otherwise it is named like any other cell);
                  a list of values makes one cell per value (a small matrix of its own)
    [sweep]       baseline = "CELL" or {"section.key" = value, ...}, retries = 1

A cell's folder name is built from its own values only: every matrix key, then any other
key where the cell differs from the base. So adding values or cells later never renames a
cell already run; two cells whose names would clash get a short hash of their values.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.backends.base import ModelSpec, parse_spec
from harness.config import SECTIONS, RunConfig, config_from_tables
from harness.errors import ConfigError
from harness.identity import canonical_sha256
from harness.io import read_toml

_SWEEP_KEYS = {"baseline", "retries"}
_TOP_KEYS = {*SECTIONS, "matrix", "include", "exclude", "sweep"}
_SAFE = re.compile(r"[^A-Za-z0-9._+@=-]+")
_MAX_NAME = 120
DEFAULT_RETRIES = 1
_SECTION_DEFAULTS = {f.name: getattr(RunConfig(), f.name) for f in fields(RunConfig)}


@dataclass
class Cell:
    """One run of the grid: its folder name, the values that make it, its config."""

    name: str
    values: dict[str, Any]  # dotted key -> value, on top of the base
    cfg: RunConfig
    index: int = 0
    spec: ModelSpec = field(init=False)  # cfg's model spec, parsed once

    def __post_init__(self) -> None:
        self.spec = parse_spec(self.cfg.model.spec)


@dataclass
class Grid:
    path: Path
    base: dict[str, dict[str, Any]]
    matrix: dict[str, list[Any]]
    cells: list[Cell]
    baseline: str
    retries: int = DEFAULT_RETRIES
    varying: list[str] = field(default_factory=list)  # dotted keys that differ between cells

    def cell(self, name: str) -> Cell:
        for cell in self.cells:
            if cell.name == name:
                return cell
        raise ConfigError(f"{self.path}: no cell named {name!r}")


# ---------------------------------------------------------------- reading


def _known_keys() -> set[str]:
    return {
        f"{section.name}.{f.name}"
        for section in fields(RunConfig)
        for f in fields(_SECTION_DEFAULTS[section.name])
    }


def _list_valued(key: str) -> bool:
    return key == "model.adapters"


def _check_key(key: str, where: str) -> None:
    if key not in _known_keys():
        raise ConfigError(
            f"{where}: unknown key {key!r}; keys are dotted config keys such as "
            "'model.spec', 'prompt.schema', 'prompt.shots'"
        )


def _values_table(table: Any, where: str, allow_name: bool = False) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f'{where} must be a table of "section.key" = value')
    out: dict[str, Any] = {}
    for key, value in table.items():
        if allow_name and key == "name":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: name must be a non-empty string")
            continue
        if isinstance(value, dict):
            raise ConfigError(
                f'{where}: {key!r} is a table; write dotted keys in quotes, e.g. "{key}.spec" = ...'
            )
        _check_key(key, where)
        out[key] = value
    return out


def _matrix(table: Any, where: str) -> dict[str, list[Any]]:
    values = _values_table(table, where)
    for key, options in values.items():
        if not isinstance(options, list) or not options:
            raise ConfigError(f"{where}: {key!r} must be a non-empty list of values")
        if _list_valued(key) and not all(isinstance(o, list) for o in options):
            raise ConfigError(
                f"{where}: {key!r} takes lists, so its values are lists of lists, "
                'e.g. [[], ["adapters/spider-lora"]]'
            )
        duplicates = {canonical_sha256(o) for o in options}
        if len(duplicates) != len(options):
            raise ConfigError(f"{where}: {key!r} lists the same value twice")
    return values


def _nested(base: dict[str, dict[str, Any]], values: dict[str, Any]) -> dict[str, Any]:
    tables = {section: dict(table) for section, table in base.items()}
    for dotted, value in values.items():
        section, key = dotted.split(".", 1)
        tables.setdefault(section, {})[key] = value
    return tables


def _base_value(base_cfg: RunConfig, dotted: str) -> Any:
    section, key = dotted.split(".", 1)
    return getattr(getattr(base_cfg, section), key)


def read_grid(path: Path) -> Grid:
    path = Path(path)
    data = read_toml(path, ConfigError, missing="grid file not found")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}"
        )
    base = {k: v for k, v in data.items() if k in SECTIONS}
    matrix = _matrix(data.get("matrix", {}), f"{path}: [matrix]")
    includes = _entries(data.get("include", []), path, "include")
    excludes = _entries(data.get("exclude", []), path, "exclude")
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict) or set(sweep) - _SWEEP_KEYS:
        extra = sorted(set(sweep) - _SWEEP_KEYS) if isinstance(sweep, dict) else ["(not a table)"]
        raise ConfigError(
            f"{path}: [sweep] has unknown key(s) {', '.join(extra)}; known: baseline, retries"
        )
    retries = sweep.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"{path}: [sweep] retries must be an integer >= 0, got {retries!r}")

    base_cfg = _build(base, {}, path, "the base config", require_model=False)
    combos = _expand(matrix, excludes, path)
    named: list[tuple[dict[str, Any], str | None]] = [(c, None) for c in combos]
    for i, (values, name) in enumerate(includes, 1):
        expanded = _alternatives(values, f"{path}: [[include]] #{i}")
        if name and len(expanded) > 1:
            raise ConfigError(f"{path}: [[include]] #{i} names one cell but lists several")
        named += [(v, name) for v in expanded]
    if not named:
        raise ConfigError(f"{path}: the grid has no cells (empty [matrix] and no [[include]])")
    cells = _make_cells(named, matrix, base, base_cfg, path)
    varying = _varying(cells, list(matrix))
    grid = Grid(path, base, matrix, cells, "", retries, varying)
    grid.baseline = _baseline(sweep.get("baseline"), grid)
    return grid


def _entries(value: Any, path: Path, kind: str) -> list[tuple[dict[str, Any], str | None]]:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: {kind} must be an array of tables ([[{kind}]])")
    out = []
    for i, table in enumerate(value, 1):
        where = f"{path}: [[{kind}]] #{i}"
        values = _values_table(table, where, allow_name=kind == "include")
        if not values:
            raise ConfigError(f"{where} is empty")
        out.append((values, table.get("name") if kind == "include" else None))
    return out


def _alternatives(values: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """An [[include]] with lists is a small matrix of its own (model.adapters takes a list
    of strings as one value, a list of lists as alternatives)."""
    options: dict[str, list[Any]] = {}
    for key, value in values.items():
        many = isinstance(value, list) and (
            not _list_valued(key) or any(isinstance(v, list) for v in value)
        )
        if many and not value:
            raise ConfigError(f"{where}: {key!r} lists no values")
        options[key] = value if many else [value]
    return [
        dict(zip(options, combo, strict=True)) for combo in itertools.product(*options.values())
    ]


def _expand(
    matrix: dict[str, list[Any]], excludes: list[tuple[dict[str, Any], str | None]], path: Path
) -> list[dict[str, Any]]:
    if not matrix:
        return []
    keys = list(matrix)
    combos = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*matrix.values())
    ]
    kept = []
    used = [False] * len(excludes)
    for combo in combos:
        hit = False
        for i, (rule, _) in enumerate(excludes):
            if all(k in combo and combo[k] == v for k, v in rule.items()):
                used[i] = hit = True
        if not hit:
            kept.append(combo)
    for i, was_used in enumerate(used, 1):
        if not was_used:
            raise ConfigError(f"{path}: [[exclude]] #{i} matches no matrix cell (a typo?)")
    return kept


def _build(
    base: dict[str, Any], values: dict[str, Any], path: Path, what: str, require_model: bool = True
) -> RunConfig:
    tables = _nested(base, values)
    if not require_model and not (tables.get("model") or {}).get("spec"):
        # The base alone may leave the model to the matrix.
        tables.setdefault("model", {})["spec"] = "replay:-"
    try:
        return config_from_tables(tables, f"{path} ({what})")
    except ConfigError as exc:
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path} ({what}): {message}"
        raise ConfigError(message) from None


# ---------------------------------------------------------------- names


def _slug(text: str) -> str:
    return _SAFE.sub("-", text).strip("-.") or "x"


def _value_part(key: str, value: Any) -> str:
    short = key.split(".", 1)[1]
    if key == "model.spec":
        spec = parse_spec(value)
        target = spec.target
        stem = Path(target).stem if spec.kind == "replay" else target.rstrip("/").rsplit("/", 1)[-1]
        return _slug(stem)
    if key == "model.adapters":
        if not value:
            return "base"
        return "+".join(_slug(Path(a.rpartition("@")[0] or a).name) for a in value) + (
            "@" + "-".join(a.rpartition("@")[2] for a in value if "@" in a)
            if any("@" in a for a in value)
            else ""
        )
    if value is None:
        return f"no-{short}"
    if isinstance(value, bool):
        return short if value else f"no-{short}"
    if isinstance(value, int | float):
        return f"{short}{value}"
    text = str(value)
    if "/" in text:
        text = Path(text).stem
    return _slug(text)


def cell_name(values: dict[str, Any], matrix_keys: list[str], base_cfg: RunConfig) -> str:
    parts = [_value_part(k, values.get(k, _base_value(base_cfg, k))) for k in matrix_keys]
    for key, value in values.items():
        if key not in matrix_keys and value != _base_value(base_cfg, key):
            parts.append(_value_part(key, value))
    return "_".join(parts) or "base"


def _make_cells(
    named: list[tuple[dict[str, Any], str | None]],
    matrix: dict[str, list[Any]],
    base: dict[str, Any],
    base_cfg: RunConfig,
    path: Path,
) -> list[Cell]:
    cells: list[Cell] = []
    seen: set[str] = set()
    for values, name in named:
        label = name or cell_name(values, list(matrix), base_cfg)
        cfg = _build(base, values, path, f"cell {label}")
        key = canonical_sha256(asdict(cfg))
        if key in seen:
            continue  # an [[include]] that repeats a cell: the same config runs once
        seen.add(key)
        cells.append(Cell(label, values, cfg, len(cells)))
    _resolve_clashes(cells, path)
    for cell in cells:
        if len(cell.name) > _MAX_NAME:
            cell.name = cell.name[: _MAX_NAME - 9] + "-" + canonical_sha256(cell.values)[:8]
    return cells


def _resolve_clashes(cells: list[Cell], path: Path) -> None:
    # Case-insensitive: the folders may live on a filesystem that folds case.
    by_name: dict[str, list[Cell]] = {}
    for cell in cells:
        by_name.setdefault(cell.name.lower(), []).append(cell)
    taken = set(by_name)
    for group in by_name.values():
        if len(group) == 1:
            continue
        for cell in group:
            cell.name = f"{cell.name}-{canonical_sha256(cell.values)[:8]}"
            if cell.name.lower() in taken:
                raise ConfigError(f"{path}: cell name {cell.name!r} is used twice; name one")
            taken.add(cell.name.lower())


def _varying(cells: list[Cell], matrix_keys: list[str]) -> list[str]:
    keys = list(matrix_keys)
    for cell in cells:
        keys += [k for k in cell.values if k not in keys]

    def value(cell: Cell, key: str) -> str:
        return canonical_sha256(_base_value(cell.cfg, key))

    return [k for k in keys if len({value(c, k) for c in cells}) > 1]


def _baseline(spec: Any, grid: Grid) -> str:
    if spec is None:
        return grid.cells[0].name
    if isinstance(spec, str):
        return grid.cell(spec).name
    if isinstance(spec, dict):
        values = _values_table(spec, f"{grid.path}: [sweep] baseline")
        hits = [c for c in grid.cells if all(_base_value(c.cfg, k) == v for k, v in values.items())]
        if len(hits) != 1:
            names = ", ".join(c.name for c in hits) or "none"
            raise ConfigError(
                f"{grid.path}: [sweep] baseline must match exactly one cell; matches: {names}"
            )
        return hits[0].name
    raise ConfigError(f"{grid.path}: [sweep] baseline must be a cell name or a table of values")
