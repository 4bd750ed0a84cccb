"""The printed markdown table of one summary.json (read from the summary alone)."""

from __future__ import annotations

from tabulate import tabulate

from harness.display import UNIT_NOTE, pct_ci
from harness.metrics import label
from harness.records import MetricCI, Summary


def _fmt(ci: MetricCI | None) -> str:
    return pct_ci(ci) if ci else ""


def render_table(summary: Summary) -> str:
    """The per-group table with 95% CIs, and a line for anything left out."""
    by = [k for k in summary if k.startswith("by_")]
    groups = summary.get(by[0], {}) if by else {}
    names = list(groups)
    headers = ["", *names, "all"]
    body = [["n", *[groups[g]["n"] for g in names], summary["n"]]]
    for m, ci in summary["metrics"].items():
        body.append([label(m), *[_fmt(groups[g].get(m)) for g in names], _fmt(ci)])
    lines = [tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)]
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
