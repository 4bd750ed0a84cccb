"""Metric metadata, in one place: each metric's label and kind, and which metrics each
benchmark family reports and how it groups its examples.

Scoring (which computes the per-example values) and reporting (which prints them) both
read this module; neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    label: str
    # Per-example 0/1 (a bootstrap over questions gives its CI); otherwise a score in [0, 1]
    # or a ratio (Soft-F1, R-VES), aggregated the same way.
    binary: bool = True


METRICS: dict[str, Metric] = {
    "ex": Metric("EX"),
    "ts": Metric("TS"),
    "em": Metric("EM"),
    "ex_strict": Metric("EX strict"),
    "soft_f1": Metric("Soft-F1", binary=False),
    "r_ves": Metric("R-VES", binary=False),
    "string_match": Metric("string match"),
}
METRIC_LABELS: dict[str, str] = {name: m.label for name, m in METRICS.items()}

# A sampled run's extra metrics are named pass@k and maj@N (see harness/scoring/sampled.py).
SAMPLED_PREFIXES = ("pass@", "maj@")


@dataclass(frozen=True)
class Reporting:
    """What a benchmark family's summary reports: its metrics, in table order, and the
    field its examples are grouped by (Spider hardness, BIRD difficulty)."""

    metrics: tuple[str, ...]
    group_field: str
    groups: tuple[str, ...]
    semantics: str


SPIDER = Reporting(
    metrics=("ex", "ts", "em"),
    group_field="hardness",
    groups=("easy", "medium", "hard", "extra"),
    semantics="spider-test-suite",
)
BIRD = Reporting(
    metrics=("ex", "ex_strict", "ts", "soft_f1", "r_ves"),
    group_field="difficulty",
    groups=("simple", "moderate", "challenging"),
    semantics="bird-official",
)
NO_DATABASE = Reporting(
    metrics=("em", "string_match"),
    group_field="hardness",
    groups=("easy", "medium", "hard", "extra"),
    semantics="no-database",
)


def label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def sampled_metric_names(summary: dict[str, Any]) -> tuple[str, ...]:
    """A sampled run's pass@k and maj@N metrics, in the order the summary lists them."""
    return tuple(m for m in summary.get("metrics", {}) if m.startswith(SAMPLED_PREFIXES))
