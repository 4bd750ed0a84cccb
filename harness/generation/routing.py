"""Adapter routing: which named adapter answers an example, decided without labels from the
example's database (its db_id and schema) and benchmark family.

ROUTES.toml:

    default = "public"          # the route when no rule decides
    min_similarity = 0.3        # schema similarity needed for a prototype match

    [routes.public]
    adapter = "adapters/public"     # relative to this file; "base" or absent = no adapter
    benchmarks = ["spider", "bird"]

    [routes.local]
    adapter = "adapters/local"
    db_ids = ["acme_*"]             # glob patterns over db_id
    schemas = ["schemas/*.sqlite"]  # prototype databases (globs; .sqlite or .sql DDL files)

Rules, first that decides wins: a db_id pattern (confidence 1); the most similar prototype
schema at or above `min_similarity` (confidence = the Jaccard similarity of the lower-cased
table and table.column names); the benchmark family (confidence 1); the default route
(confidence = 1 - the best similarity seen). The reason says which rule decided.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from harness.backends.adapters import parse_adapter
from harness.backends.base import AdapterSpec
from harness.errors import ConfigError, HarnessError
from harness.hashing import sha256_file
from harness.io import read_toml
from harness.prompting.schema import SchemaInfo, read_schema

_BASE = {"", "base", "none"}
_TOP_KEYS = {"default", "min_similarity", "routes"}


@dataclass(frozen=True)
class Route:
    name: str
    adapter: AdapterSpec | None
    benchmarks: tuple[str, ...] = ()
    db_ids: tuple[str, ...] = ()
    prototypes: tuple[tuple[str, frozenset[str]], ...] = ()  # (file name, identifiers)


@dataclass(frozen=True)
class RouteDecision:
    route: str
    reason: str
    confidence: float


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _prototype(path: Path) -> tuple[str, frozenset[str]]:
    try:
        if path.suffix == ".sql":
            info = read_schema(path.stem, context=path.read_text(encoding="utf-8"))
        else:
            info = read_schema(path.stem, db_path=path)
    except HarnessError as exc:
        raise ConfigError(f"route prototype {path}: {exc}") from None
    return path.name, info.identifiers()


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


class Router:
    def __init__(
        self, routes: list[Route], default: str, min_similarity: float, path: Path, sha256: str
    ):
        self.routes = routes
        self.default = default
        self.min_similarity = min_similarity
        self.path = path
        self.sha256 = sha256

    @classmethod
    def from_file(cls, path: Path) -> Router:
        path = Path(path)
        data = read_toml(path, ConfigError, missing="routes file not found")
        unknown_top = set(data) - _TOP_KEYS
        if unknown_top:
            raise ConfigError(
                f"{path}: unknown key(s) {', '.join(sorted(unknown_top))}; "
                f"known: {', '.join(sorted(_TOP_KEYS))}"
            )
        tables = data.get("routes")
        if not isinstance(tables, dict) or not tables:
            raise ConfigError(f"{path}: no [routes.NAME] tables")
        here = path.parent
        routes = []
        for name, spec in tables.items():
            where = f"{path}: [routes.{name}]"
            if not isinstance(spec, dict):
                raise ConfigError(f"{where}: expected a table")
            unknown = set(spec) - {"adapter", "benchmarks", "db_ids", "schemas"}
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            adapter_text = str(spec.get("adapter", ""))
            adapter = None if adapter_text.lower() in _BASE else parse_adapter(adapter_text, here)
            protos = []
            for pattern in _str_list(spec.get("schemas", []), f"{where} schemas"):
                matches = (
                    sorted(here.glob(pattern))
                    if not Path(pattern).is_absolute()
                    else [Path(pattern)]
                )
                if not matches:
                    raise ConfigError(f"{where}: schema pattern {pattern!r} matches no file")
                protos.extend(_prototype(m) for m in matches)
            routes.append(
                Route(
                    name=name,
                    adapter=adapter,
                    benchmarks=_str_list(spec.get("benchmarks", []), f"{where} benchmarks"),
                    db_ids=_str_list(spec.get("db_ids", []), f"{where} db_ids"),
                    prototypes=tuple(protos),
                )
            )
        default = data.get("default", routes[0].name)
        if not isinstance(default, str) or default not in tables:
            raise ConfigError(f"{path}: default route {default!r} is not one of [routes.*]")
        min_sim = data.get("min_similarity", 0.3)
        if isinstance(min_sim, bool) or not isinstance(min_sim, int | float):
            raise ConfigError(f"{path}: min_similarity must be a number, got {min_sim!r}")
        min_sim = float(min_sim)
        return cls(routes, default, min_sim, path, sha256_file(path))

    def adapters(self) -> dict[str, AdapterSpec | None]:
        return {r.name: r.adapter for r in self.routes}

    def classify(self, benchmark: str, schema: SchemaInfo) -> RouteDecision:
        db_id = schema.db_id
        for route in self.routes:
            for pattern in route.db_ids:
                if fnmatch.fnmatchcase(db_id, pattern):
                    return RouteDecision(route.name, f"db_id {db_id!r} matches {pattern!r}", 1.0)
        ids = schema.identifiers()
        scored = []
        for route in self.routes:
            for proto_name, proto_ids in route.prototypes:
                scored.append((jaccard(ids, proto_ids), route.name, proto_name))
        scored.sort(key=lambda s: -s[0])
        best = scored[0][0] if scored else 0.0
        if scored and best >= self.min_similarity:
            sim, name, proto = scored[0]
            runner_up = next((s for s in scored if s[1] != name), None)
            tail = f"; next {runner_up[1]} {runner_up[0]:.2f}" if runner_up else ""
            return RouteDecision(
                name, f"schema similar to {proto} ({sim:.2f}{tail})", round(sim, 4)
            )
        for route in self.routes:
            if benchmark in route.benchmarks:
                return RouteDecision(route.name, f"benchmark family {benchmark!r}", 1.0)
        detail = (
            f" (best schema similarity {best:.2f} < {self.min_similarity:.2f})" if scored else ""
        )
        return RouteDecision(self.default, f"default route{detail}", round(1.0 - best, 4))
