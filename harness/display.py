"""How a score is shown, everywhere: a percentage with one decimal (0.8321 -> "83.2").

Records keep fractions (summary.json, leaderboard.json); only what people read goes
through here, so the score table, the leaderboard, the diff, `reproduce` and the official
evaluator's table all print one number the same way, and every CI the same way
(`ci_bounds`): the page, the PNGs, the gate lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

MISSING = "—"
UNIT_NOTE = "accuracies in %"


def pct(value: float | None) -> str:
    """A fraction as a percentage, one decimal; "—" when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{100 * value:.1f}"


def pp(delta: float) -> str:
    """A difference of fractions in percentage points, signed: +24.0."""
    return f"{100 * delta:+.1f}"


def pct_ci(ci: Mapping[str, Any] | None) -> str:
    """A bootstrap result {mean, low, high} as "83.2 [74.0, 92.0]"."""
    if not ci:
        return MISSING
    return pct_interval(ci.get("mean"), ci.get("low"), ci.get("high"))


def pct_interval(mean: float | None, low: float | None, high: float | None) -> str:
    if mean is None:
        return MISSING
    if low is None or high is None:
        return pct(mean)
    return f"{pct(mean)} {ci_bounds(low, high)}"


def ci_bounds(
    low: float | None,
    high: float | None,
    fmt: Callable[[float], str] = pct,
    level: int | None = None,
) -> str:
    """A CI's bounds, each through `fmt` (pct for scores, pp for differences): "[74.0, 92.0]",
    or with its level "[95% CI 74.0, 92.0]". The one place a CI's brackets are written."""
    named = "" if level is None else f"{level}% CI "
    return f"[{named}{fmt(low)}, {fmt(high)}]"  # type: ignore[arg-type]


def p_value(p: float | None) -> str:
    """A p-value in a table cell: "0.042", "<0.001"; "—" when there is none."""
    if p is None:
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_relation(p: float) -> str:
    """A p-value in a sentence: "p = 0.042", "p < 0.001" (after the "p")."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def ci_level(confidence: float) -> int:
    """0.95 -> 95, as a CI's level is printed."""
    return round(100 * confidence)
