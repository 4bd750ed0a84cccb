"""Aggregate per-example rows into summary.json figures and the printed markdown table.

Aggregation and CIs happen here once; metrics only produce per-example values.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tabulate import tabulate

from harness.display import UNIT_NOTE, pct_ci
from harness.scoring.families import Family
from harness.stats import bootstrap_cis

METRIC_LABELS = {
    "ex": "EX",
    "ts": "TS",
    "em": "EM",
    "ex_strict": "EX strict",
    "soft_f1": "Soft-F1",
    "r_ves": "R-VES",
    "string_match": "string match",
}


SAMPLED_PREFIXES = ("pass@", "maj@")


def sampled_metric_names(summary: dict[str, Any]) -> tuple[str, ...]:
    """A sampled run's pass@k and maj@N metrics, in the order the summary lists them."""
    return tuple(m for m in summary.get("metrics", {}) if m.startswith(SAMPLED_PREFIXES))


def metric_values(rows: list[dict[str, Any]], metric: str) -> list[float]:
    return [float(r[metric]) for r in rows if r.get(metric) is not None]


def aggregate(
    rows: list[dict[str, Any]],
    family: Family,
    resamples: int,
    seed: int,
    extra_metrics: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`extra_metrics`: per-row fields beyond the family's own (a sampled run's pass@k and
    maj@N), aggregated the same way."""
    # Every CI comes from one bootstrap_cis call (the same figures as one call each).
    columns: list[list[float]] = []
    slots: list[tuple[str | None, str]] = []  # (group or None for overall, metric)
    for m in (*family.metrics, *extra_metrics):
        values = metric_values(rows, m)
        if values:
            columns.append(values)
            slots.append((None, m))
    overall = [m for g, m in slots]
    present = [g for g in family.groups if any(r.get(family.group_field) == g for r in rows)]
    others = sorted({str(r.get(family.group_field)) for r in rows} - set(family.groups))
    sizes: dict[str, int] = {}
    for g in present + others:
        sub = [r for r in rows if str(r.get(family.group_field)) == g]
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
        f"by_{family.group_field}": groups,
        "failures": dict(sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _fmt(ci: dict[str, Any] | None) -> str:
    return pct_ci(ci) if ci else ""


def render_table(summary: dict[str, Any], family: Family) -> str:
    """The per-group table with 95% CIs, and a line for anything left out."""
    groups = summary.get(f"by_{family.group_field}", {})
    names = list(groups)
    headers = ["", *names, "all"]
    table = [["n", *[groups[g]["n"] for g in names], summary["n"]]]
    for m, ci in summary["metrics"].items():
        table.append([METRIC_LABELS.get(m, m), *[_fmt(groups[g].get(m)) for g in names], _fmt(ci)])
    lines = [tabulate(table, headers=headers, tablefmt="github", disable_numparse=True)]
    boot = summary.get("bootstrap", {})
    lines.append("")
    lines.append(
        f"{summary['benchmark']}/{summary['split']}: {UNIT_NOTE}, mean [95% percentile "
        "bootstrap CI over "
        f"questions, {boot.get('resamples')} resamples, seed {boot.get('seed')}]; "
        f"scorer {summary['scorer']['name']} ({summary['scorer']['semantics']})."
    )
    excluded = summary.get("excluded", {})
    if excluded.get("count"):
        reasons = ", ".join(f"{k}: {v}" for k, v in excluded["reasons"].items() if v)
        dbs = (
            f" (databases missing: {', '.join(excluded['db_ids'])})"
            if excluded.get("db_ids")
            else ""
        )
        lines.append(
            f"PARTIAL: {excluded['count']} of {summary['n_total']} examples not scored "
            f"[{reasons}]{dbs}; these figures are over {summary['n']} examples, not the full "
            "split."
        )
    ref = summary.get("reference")
    if ref and ref.get("n_invalid"):
        lines.append(
            f"Invalid references: {ref['n_invalid']} gold queries ({ref['listed']} on the "
            f"reviewed list) stay in the denominator, as officially; EX over the "
            f"{ref['n_valid']} valid references: {_fmt(ref.get('ex_valid'))}."
        )
    sampling = summary.get("sampling")
    if sampling:
        lines.append(
            f"Sampled: {sampling['samples']} per example; pass@k and maj@N count a sample "
            f"correct by {sampling['correct_by'].upper()}; the other metrics are sample 0's."
        )
    if "evidence" in summary:
        lines.append(f"Evidence in prompts: {summary['evidence']}.")
    cache = summary.get("gold_cache") or {}
    if cache.get("failures"):
        lines.append(
            f"Gold-result cache: {cache['failures']} lookup(s) failed and the gold query was "
            f"run instead (verdicts unaffected); first: {cache.get('first_failure')}."
        )
    if summary.get("failures"):
        top = ", ".join(f"{k} {v}" for k, v in list(summary["failures"].items())[:8])
        lines.append(f"Failure labels: {top}.")
    return "\n".join(lines)
