"""Per-example rows to summary figures: each metric's mean with its 95% bootstrap CI,
overall and per group. Aggregation happens here once; metrics only produce per-example
values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.metrics import Reporting
from harness.records import Row
from harness.stats import bootstrap_cis


def metric_values(rows: Sequence[Row], metric: str) -> list[float]:
    return [float(r[metric]) for r in rows if r.get(metric) is not None]  # type: ignore[literal-required]


def aggregate(
    rows: Sequence[Row],
    reporting: Reporting,
    resamples: int,
    seed: int,
    extra_metrics: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`extra_metrics`: per-row fields beyond the family's own (a sampled run's pass@k and
    maj@N), aggregated the same way."""
    # Every CI comes from one bootstrap_cis call (the same figures as one call each).
    columns: list[list[float]] = []
    slots: list[tuple[str | None, str]] = []  # (group or None for overall, metric)
    for m in (*reporting.metrics, *extra_metrics):
        values = metric_values(rows, m)
        if values:
            columns.append(values)
            slots.append((None, m))
    overall = [m for g, m in slots]
    field = reporting.group_field
    present = [g for g in reporting.groups if any(r.get(field) == g for r in rows)]
    others = sorted({str(r.get(field)) for r in rows} - set(reporting.groups))
    sizes: dict[str, int] = {}
    for g in present + others:
        sub = [r for r in rows if str(r.get(field)) == g]
        sizes[g] = len(sub)
        for m in overall:
            values = metric_values(sub, m)
            if values:
                columns.append(values)
                slots.append((g, m))
    cis = bootstrap_cis(columns, resamples=resamples, seed=seed)
    metrics: dict[str, Any] = {}
    groups: dict[str, Any] = {g: {"n": n} for g, n in sizes.items()}
    for (g, m), ci in zip(slots, cis, strict=True):
        (metrics if g is None else groups[g])[m] = ci.as_dict()
    failures = Counter(r["failure"] for r in rows if r.get("failure"))
    return {
        "metrics": metrics,
        f"by_{field}": groups,
        "failures": dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
