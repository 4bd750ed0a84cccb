"""`harness diff --gate`: candidate vs baseline, passing when the paired Δ EX reaches a
minimum and its CI lies above 0."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.diffing.compare import (
    DEFAULT_VARY,
    Comparison,
    EntriesBySplit,
    NotComparableError,
    compare_entries,
    entries_by_split,
)
from harness.display import ci_bounds, ci_level, p_relation, pp
from harness.errors import ConfigError
from harness.metrics import label
from harness.records import Leaderboard
from harness.stats import CI, DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED


@dataclass
class GateResult:
    passed: bool
    min_pp: float
    comparison: Comparison
    line: str


def _find(entries: EntriesBySplit, spec: str, role: str) -> dict[str, Any]:
    """`NAME` or `BENCHMARK/SPLIT:NAME`."""
    where = None
    name = spec
    if ":" in spec and "/" in spec.split(":", 1)[0]:
        prefix, name = spec.split(":", 1)
        bench, split = prefix.split("/", 1)
        where = (bench, split)
    found = [
        (key, configs[name])
        for key, configs in entries.items()
        if name in configs and (where is None or key == where)
    ]
    if not found:
        known = sorted(f"{k[0]}/{k[1]}:{n}" for k, c in entries.items() for n in c)
        raise ConfigError(f"{role} {spec!r} is not in the leaderboard; known: {', '.join(known)}")
    if len(found) > 1:
        raise ConfigError(
            f"{role} {spec!r} is in several tables; name one as BENCHMARK/SPLIT:{name}"
        )
    return found[0][1]


def _only_entry(entries: EntriesBySplit, role: str) -> dict[str, Any]:
    flat = [e for configs in entries.values() for e in configs.values()]
    if len(flat) != 1:
        raise ConfigError(
            f"--gate needs --baseline and --candidate: the {role} leaderboard has "
            f"{len(flat)} configs"
        )
    return flat[0]


def clears(delta: CI, min_pp: float) -> bool:
    """A gate's test: Δ at least `min_pp` points and its paired CI above 0."""
    # Δ is a mean of 0/±1 over n questions; the tolerance absorbs float noise only.
    return 100 * delta.mean >= min_pp - 1e-9 and delta.low > 0


def delta_text(metric_label: str, delta: CI, confidence: float) -> str:
    """A paired Δ as every gate line states it: Δ EX +4.0 pp [95% CI +0.8, +7.2]."""
    bounds = ci_bounds(delta.low, delta.high, pp, ci_level(confidence))
    return f"Δ {metric_label} {pp(delta.mean)} pp {bounds}"


def gate(
    base: Leaderboard,
    head: Leaderboard,
    min_pp: float,
    baseline: str | None = None,
    candidate: str | None = None,
    vary: Sequence[str] = DEFAULT_VARY,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GateResult:
    """Pass iff candidate EX - baseline EX ≥ min_pp points and the paired CI lies above 0."""
    base_entries, head_entries = entries_by_split(base), entries_by_split(head)
    b = _find(base_entries, baseline, "baseline") if baseline else _only_entry(base_entries, "base")
    h = (
        _find(head_entries, candidate, "candidate")
        if candidate
        else _only_entry(head_entries, "head")
    )
    row = compare_entries(b, h, vary, resamples, seed, confidence)
    if row.status != "compared":
        raise NotComparableError(
            f"cannot gate {h['config']!r} against {b['config']!r}: they differ in "
            f"{', '.join(row.blocking)} (a Δ would mix two measurements)"
        )
    assert row.delta is not None and row.mcnemar is not None
    passed = clears(row.delta, min_pp)
    line = (
        f"{'pass' if passed else 'fail'}: candidate {h['config']!r} vs baseline "
        f"{b['config']!r}: {delta_text(label('ex'), row.delta, confidence)}, "
        f"McNemar p {p_relation(row.mcnemar.p_value)}, n = {row.n_paired} paired; "
        f"needs Δ ≥ {min_pp:+.1f} pp and CI above 0"
    )
    return GateResult(passed, min_pp, row, line)
