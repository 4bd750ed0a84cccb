"""What a sweep reports: the status table, one leaderboard of all finished cells, and every
cell compared with the baseline cell, paired question by question (Holm across the grid).

Reads run folders only; the leaderboard and the paired statistics are the ones
`harness leaderboard` and `harness diff` use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.diffing.compare import DEFAULT_VARY, Comparison, compare_entries
from harness.diffing.render import diff_markdown
from harness.identity import EVALUATION_GROUPS, SUBJECT_GROUPS, field_group
from harness.io import write_atomic
from harness.report.publish import publish_leaderboard
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, holm
from harness.sweep.cells import CellOutcome
from harness.sweep.grid import Grid

LEADERBOARD_DIR = "leaderboard"
COMPARISON_MD = "COMPARISON.md"
COMPARISON_JSON = "comparison.json"


def status_table(outcomes: Sequence[CellOutcome]) -> str:
    rows = []
    for o in outcomes:
        answered = f"{o.n_done}/{o.n_total}" if o.n_total else ""
        ex = "" if o.ex is None else f"{100 * o.ex:.1f}"
        rows.append([o.name, o.status, answered, ex, o.attempts or "", o.reason])
    headers = ["cell", "status", "answered", "EX %", "attempts", "reason"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


@dataclass
class SweepLeaderboard:
    path: Path
    comparisons: list[Comparison]
    baseline: str | None  # None when the baseline cell has not finished


def _vary(grid: Grid) -> tuple[str, ...]:
    """What may differ between a cell and the baseline: the model and prompt, as in
    `harness diff`, and whatever identity groups the grid itself varies (e.g. decoding)."""
    extra = {field_group(k) for k in grid.varying} & set(EVALUATION_GROUPS + SUBJECT_GROUPS)
    return tuple(DEFAULT_VARY) + tuple(sorted(extra - set(DEFAULT_VARY)))


def _baseline_table(leaderboard: dict[str, Any], baseline: str) -> dict[str, Any] | None:
    for table in leaderboard["tables"]:
        if any(e["config"] == baseline for e in table["entries"]):
            return table
    return None


def compare_to_baseline(
    leaderboard: dict[str, Any],
    grid: Grid,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[Comparison]:
    """Each finished cell in the baseline's table minus the baseline, in grid order."""
    table = _baseline_table(leaderboard, grid.baseline)
    if table is None:
        return []
    datasets = table.get("datasets", {})
    entries = {e["config"]: e | {"_datasets": datasets} for e in table["entries"]}
    base = entries[grid.baseline]
    vary = _vary(grid)
    rows = []
    for cell in grid.cells:
        if cell.name == grid.baseline or cell.name not in entries:
            continue
        row = compare_entries(base, entries[cell.name], vary, resamples, seed, confidence)
        row.benchmark, row.split = table["benchmark"], table["split"]
        rows.append(row)
    # The whole grid against one baseline is one family of tests.
    tested = [r for r in rows if r.mcnemar is not None]
    for row, adjusted in zip(tested, holm([r.mcnemar.p_value for r in tested]), strict=True):
        row.p_holm = adjusted
    return rows


def _comparison_json(rows: Sequence[Comparison], baseline: str) -> dict[str, Any]:
    return {
        "baseline": baseline,
        "rows": [
            {
                "cell": r.config,
                "benchmark": r.benchmark,
                "split": r.split,
                "status": r.status,
                "baseline_ex": (r.base_ex or {}).get("mean"),
                "ex": (r.head_ex or {}).get("mean"),
                "n_paired": r.n_paired,
                "delta": r.delta.as_dict() if r.delta else None,
                "mcnemar": r.mcnemar.as_dict() if r.mcnemar else None,
                "p_holm": r.p_holm,
                "significant": r.significant,
                "blocking": r.blocking,
                "changed": r.changed,
            }
            for r in rows
        ],
    }


def write_sweep_leaderboard(
    grid: Grid,
    out_dir: Path,
    finished: Sequence[str],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> SweepLeaderboard | None:
    """DIR/leaderboard/: the leaderboard of the finished cells and COMPARISON.md/.json."""
    if not finished:
        return None
    target = Path(out_dir) / LEADERBOARD_DIR
    # A smoke-test grid (run.limit) is partial by design: listed, marked not citable.
    partial = any(c.cfg.run.limit for c in grid.cells)
    leaderboard = publish_leaderboard(
        [Path(out_dir) / name for name in finished], target, allow_partial=partial
    )
    if grid.baseline not in finished:
        return SweepLeaderboard(target, [], None)
    rows = compare_to_baseline(leaderboard, grid, resamples, seed)
    markdown = diff_markdown(rows, resamples=resamples, seed=seed, title="Cells vs baseline")
    markdown = markdown.replace(
        "\n\n", f"\n\nBaseline cell: `{grid.baseline}` (base = baseline, head = each cell).\n\n", 1
    )
    write_atomic(target / COMPARISON_MD, markdown)
    text = json.dumps(_comparison_json(rows, grid.baseline), indent=1, ensure_ascii=False)
    write_atomic(target / COMPARISON_JSON, text + "\n")
    return SweepLeaderboard(target, rows, grid.baseline)
