"""How a score is shown, everywhere: a percentage with one decimal (0.8321 -> "83.2").

Records keep fractions (summary.json, leaderboard.json); only what people read goes
through here, so the score table, the leaderboard, the diff, `reproduce` and the official
evaluator's table all print one number the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    return f"{pct(mean)} [{pct(low)}, {pct(high)}]"
