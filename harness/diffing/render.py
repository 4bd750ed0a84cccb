"""The diff as markdown: a verdict line, the gate's line, one table per split, the method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from harness.diffing.compare import Comparison
from harness.diffing.promotion import GateResult
from harness.display import MISSING, ci_bounds, ci_level, p_value, pct, pp
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED

COMMENT_MARKER = "<!-- harness-leaderboard-diff -->"

# Two different comparisons share a diff: each config against its own earlier run, and
# the gate's candidate against its baseline; each headline says which one it is.
VERDICT = "**Verdict (each config, head vs base):**"
GATE = "**Gate (candidate in head vs baseline in base):**"


def _pct(ci: Mapping[str, Any] | None) -> str:
    return pct(ci.get("mean")) if ci else MISSING


def _row_cells(row: Comparison) -> list[str]:
    cells = [row.config, _pct(row.base_ex), _pct(row.head_ex)]
    if row.status == "added":
        return [*cells, "new", "", "", "", "", "added"]
    if row.status == "removed":
        return [*cells, "gone", "", "", "", "", "removed"]
    if row.status == "not_comparable":
        return [
            *cells,
            MISSING,
            "",
            "",
            "",
            "",
            "not compared: differs in " + ", ".join(row.blocking),
        ]
    d, m = row.delta, row.mcnemar
    assert d is not None and m is not None
    delta = f"{row.direction} {pp(d.mean)}".strip()
    notes = []
    if row.changed:
        notes.append("changed: " + ", ".join(row.changed))
    n_base = (row.base_ex or {}).get("n")
    n_head = (row.head_ex or {}).get("n")
    if row.n_paired != n_base or row.n_paired != n_head:
        notes.append(f"paired on {row.n_paired} common ids")
    return [
        *cells,
        delta,
        ci_bounds(d.low, d.high, pp),
        p_value(m.p_value),
        p_value(row.p_holm),
        str(row.n_paired),
        "; ".join(notes),
    ]


def verdict(rows: Sequence[Comparison]) -> str:
    gains = [r.config for r in rows if r.direction == "▲"]
    losses = [r.config for r in rows if r.direction == "▼"]
    noise = [r for r in rows if r.status == "compared" and not r.significant]
    counts = {s: sum(r.status == s for r in rows) for s in ("added", "removed", "not_comparable")}
    parts = []
    if gains:
        parts.append(f"▲ {len(gains)} significant gain(s) ({', '.join(gains)})")
    if losses:
        parts.append(f"▼ {len(losses)} significant loss(es) ({', '.join(losses)})")
    if noise:
        parts.append(f"{len(noise)} within noise")
    if counts["added"]:
        parts.append(f"{counts['added']} added")
    if counts["removed"]:
        parts.append(f"{counts['removed']} removed")
    if counts["not_comparable"]:
        parts.append(f"{counts['not_comparable']} not comparable")
    if not parts:
        return f"{VERDICT} no configs in either leaderboard."
    if not gains and not losses:
        parts.insert(0, "no significant change")
    return f"{VERDICT} " + "; ".join(parts) + "."


def diff_markdown(
    rows: Sequence[Comparison],
    confidence: float = DEFAULT_CONFIDENCE,
    gate_result: GateResult | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    title: str = "Leaderboard diff",
) -> str:
    level = ci_level(confidence)
    headers = [
        "config",
        "base EX",
        "head EX",
        "Δ pp",
        f"{level}% CI of Δ",
        "p (McNemar)",
        "p (Holm)",
        "n paired",
        "note",
    ]
    lines = [COMMENT_MARKER, f"## {title}", "", verdict(rows), ""]
    if gate_result is not None:
        lines += [f"{GATE} `{gate_result.line}`", ""]
    by_split: dict[tuple[str, str], list[Comparison]] = {}
    for row in rows:
        by_split.setdefault((row.benchmark, row.split), []).append(row)
    for (bench, split), group in by_split.items():
        body = [_row_cells(r) for r in group]
        lines += [
            f"### {bench} / {split}",
            "",
            tabulate(body, headers=headers, tablefmt="github", disable_numparse=True),
            "",
        ]
    lines.append(
        f"EX in %; Δ = head − base on the question ids both scored; {level}% CI of Δ from a "
        f"paired percentile bootstrap over questions ({resamples:,} resamples, seed {seed}); "
        "p = exact McNemar test on the discordant questions, "
        "Holm-adjusted across this comment. ▲/▼ only where the paired CI excludes 0. Rows "
        "whose runs differ in data, scorer or decoding are not compared."
    )
    return "\n".join(lines).rstrip() + "\n"
