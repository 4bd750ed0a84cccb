"""`harness gate GATES.toml LEADERBOARD.json`: a promotion decision over several conditions.

A gates file lists conditions, each on one metric of one benchmark table:

    [[condition]]
    name = "fixture EX +3 pp"          # optional; shown in the decision
    benchmark = "fixture/dev"          # BENCH/SPLIT; optional when the name is unique
    metric = "ex"                      # ex, em, ts, ex_strict, soft_f1, r_ves
    baseline = "fixture-baseline"
    candidate = "fixture-candidate"
    min_delta_pp = 3.0                 # candidate - baseline, paired, and its CI above 0

    [[condition]]
    benchmark = "spider/dev"
    metric = "em"
    candidate = "fixture-candidate"
    above = 48.4                       # absolute floor in %: mean > 48.4 (or at_least: >=)

The decision is `ship` when every condition holds, else `fail: <names>`. Only records are
read (leaderboard.json entries and their per-question vectors); the paired CI is the one
`harness diff` uses, on the question ids both runs scored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.diffing.compare import NotComparableError, blocking_fields
from harness.diffing.promotion import clears, delta_text
from harness.display import ci_bounds, ci_level, pct
from harness.errors import ConfigError
from harness.io import read_toml
from harness.leaderboard.columns import METRICS
from harness.leaderboard.load import load_leaderboard
from harness.metrics import label
from harness.records import Leaderboard, MetricCI
from harness.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    paired_bootstrap_diff,
)

_KEYS = {
    "name",
    "benchmark",
    "metric",
    "baseline",
    "candidate",
    "min_delta_pp",
    "above",
    "at_least",
}
_THRESHOLDS = ("min_delta_pp", "above", "at_least")


@dataclass(frozen=True)
class Condition:
    name: str
    metric: str
    candidate: str
    benchmark: str | None = None
    baseline: str | None = None
    min_delta_pp: float | None = None
    above: float | None = None
    at_least: float | None = None


@dataclass(frozen=True)
class ConditionResult:
    condition: Condition
    passed: bool
    line: str


@dataclass(frozen=True)
class GateDecision:
    results: list[ConditionResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def decision(self) -> str:
        failed = [r.condition.name for r in self.results if not r.passed]
        return "ship" if not failed else "fail: " + ", ".join(failed)

    def text(self) -> str:
        return "\n".join([*(r.line for r in self.results), self.decision]) + "\n"

    def markdown(self) -> str:
        """For the pull-request comment: the decision first, then one line per condition."""
        lines = [f"**Gates:** `{self.decision}`", ""]
        lines += [f"- `{r.line}`" for r in self.results]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reading


def _number(value: Any, where: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _condition(raw: Any, where: str, index: int) -> Condition:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [[condition]] entries must be tables")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    for key in ("name", "benchmark", "metric", "baseline", "candidate"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: {key} must be a string, got {raw[key]!r}")
    if not raw.get("candidate"):
        raise ConfigError(f"{where}: candidate is missing")
    metric = raw.get("metric", "ex")
    if metric not in METRICS:
        raise ConfigError(f"{where}: metric {metric!r} is not one of {', '.join(METRICS)}")
    given = [k for k in _THRESHOLDS if k in raw]
    if len(given) != 1:
        raise ConfigError(
            f"{where}: give exactly one of min_delta_pp (with baseline), above or at_least"
        )
    kind = given[0]
    if kind == "min_delta_pp" and not raw.get("baseline"):
        raise ConfigError(f"{where}: min_delta_pp needs a baseline")
    if kind != "min_delta_pp" and "baseline" in raw:
        raise ConfigError(f"{where}: an absolute floor ({kind}) takes no baseline")
    threshold = _number(raw[kind], where, kind)
    default_name = f"condition {index}"
    return Condition(
        name=raw.get("name") or default_name,
        metric=metric,
        candidate=raw["candidate"],
        benchmark=raw.get("benchmark"),
        baseline=raw.get("baseline"),
        **{kind: threshold},
    )


def load_gates(path: Path) -> list[Condition]:
    data = read_toml(path, ConfigError)
    unknown = sorted(set(data) - {"condition"})
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(unknown)}; expected [[condition]]")
    raw = data.get("condition")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: no [[condition]] entries")
    conditions = [_condition(c, f"{path}: condition {i}", i) for i, c in enumerate(raw, 1)]
    names = [c.name for c in conditions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: condition name(s) used twice: {', '.join(duplicates)}")
    return conditions


# --------------------------------------------------------------------------- evaluating


def _find(
    leaderboard: Leaderboard, benchmark: str | None, config: str, where: str
) -> dict[str, Any]:
    found = []
    for table in leaderboard["tables"]:
        key = f"{table['benchmark']}/{table['split']}"
        if benchmark is not None and key != benchmark:
            continue
        for entry in table["entries"]:
            if entry["config"] == config:
                found.append(entry | {"_datasets": table.get("datasets", {}), "_table": key})
    if not found:
        known = sorted(
            f"{t['benchmark']}/{t['split']}:{e['config']}"
            for t in leaderboard["tables"]
            for e in t["entries"]
        )
        scope = f" in {benchmark}" if benchmark else ""
        raise ConfigError(
            f"{where}: {config!r} is not{scope} in the leaderboard; known: "
            + (", ".join(known) or "none")
        )
    if len(found) > 1:
        splits = ", ".join(e["_table"] for e in found)
        raise ConfigError(f"{where}: {config!r} is in several tables ({splits}); set benchmark")
    return found[0]


def _metric(entry: Mapping[str, Any], metric: str, where: str) -> MetricCI:
    ci = entry["metrics"].get(metric)
    if not ci:
        raise ConfigError(f"{where}: {entry['config']!r} has no {metric} scores")
    return ci


def _floor(c: Condition, leaderboard: Leaderboard, where: str) -> ConditionResult:
    entry = _find(leaderboard, c.benchmark, c.candidate, where)
    ci = _metric(entry, c.metric, where)
    mean_pct = 100 * ci["mean"]
    if c.above is not None:
        passed, need = mean_pct > c.above + 1e-9, f"> {c.above:.1f}"
    else:
        assert c.at_least is not None
        passed, need = mean_pct >= c.at_least - 1e-9, f"≥ {c.at_least:.1f}"
    level = ci_level(float((entry.get("bootstrap") or {}).get("confidence", DEFAULT_CONFIDENCE)))
    line = (
        f"{'pass' if passed else 'fail'}: {c.name}: {entry['_table']} {c.candidate!r} "
        f"{label(c.metric)} {pct(ci['mean'])} {ci_bounds(ci['low'], ci['high'], level=level)}, "
        f"n = {ci.get('n', entry['n'])}; needs {need}"
    )
    return ConditionResult(c, passed, line)


def _delta(
    c: Condition,
    leaderboard: Leaderboard,
    where: str,
    resamples: int,
    seed: int,
    confidence: float,
) -> ConditionResult:
    assert c.baseline is not None and c.min_delta_pp is not None
    base = _find(leaderboard, c.benchmark, c.baseline, where)
    head = _find(leaderboard, c.benchmark, c.candidate, where)
    if base["_table"] != head["_table"]:
        raise ConfigError(
            f"{where}: baseline is in {base['_table']}, candidate in {head['_table']}; "
            "a paired Δ needs one table"
        )
    blocking, _allowed = blocking_fields(base, head)
    if blocking:
        raise NotComparableError(
            f"{where}: cannot compare {c.candidate!r} with {c.baseline!r}: they differ in "
            f"{', '.join(blocking)}"
        )
    base_vec = base["correct"].get(c.metric) or {}
    head_vec = head["correct"].get(c.metric) or {}
    ids = [i for i in base_vec if i in head_vec]
    if not ids:
        raise ConfigError(f"{where}: no question has {c.metric} scores in both runs")
    d = paired_bootstrap_diff(
        [base_vec[i] for i in ids],
        [head_vec[i] for i in ids],
        resamples=resamples,
        seed=seed,
        confidence=confidence,
    )
    passed = clears(d, c.min_delta_pp)
    line = (
        f"{'pass' if passed else 'fail'}: {c.name}: {head['_table']} {c.candidate!r} vs "
        f"{c.baseline!r}: {delta_text(label(c.metric), d, confidence)}, "
        f"n = {len(ids)} paired; needs Δ ≥ {c.min_delta_pp:+.1f} pp and CI above 0"
    )
    return ConditionResult(c, passed, line)


def evaluate(
    conditions: Sequence[Condition],
    leaderboard: Leaderboard,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GateDecision:
    results = []
    for c in conditions:
        where = f"condition {c.name!r}"
        if c.min_delta_pp is not None:
            results.append(_delta(c, leaderboard, where, resamples, seed, confidence))
        else:
            results.append(_floor(c, leaderboard, where))
    return GateDecision(results)


def run_gates(gates_toml: Path | str, leaderboard_json: Path | str) -> GateDecision:
    return evaluate(load_gates(Path(gates_toml)), load_leaderboard(Path(leaderboard_json)))
