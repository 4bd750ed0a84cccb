"""What a leaderboard table shows: its metrics in column order, the level order, the file
names, and how a run and its size are named. Shared by the markdown, the page and the PNGs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.metrics import METRICS as METRIC_INFO

# Per-question metrics, in column order. The 0/1 ones are correctness; BIRD's Soft-F1 and
# R-VES are per-question scores in [0, 1] (R-VES can exceed 1).
METRICS = ("ex", "ts", "em", "ex_strict", "soft_f1", "r_ves")
BINARY_METRICS = tuple(m for m in METRICS if METRIC_INFO[m].binary)
# Official level orders (Spider hardness, BIRD difficulty); anything else follows, sorted.
LEVEL_ORDER = ("easy", "medium", "hard", "extra", "simple", "moderate", "challenging")
BIRD_LEVELS = ("simple", "moderate", "challenging")
MD_NAME = "LEADERBOARD.md"
JSON_NAME = "leaderboard.json"
NOT_CITABLE_MARK = "†"

Entry = Mapping[str, Any]


def ordered_levels(entries: Iterable[Entry]) -> list[str]:
    """The levels any entry has, official ones in their order, then the rest sorted."""
    present = {level for e in entries for level in e["by_level"]}
    known = [level for level in LEVEL_ORDER if level in present]
    return known + sorted(present - set(known))


def display_name(entry: Entry) -> str:
    """The config name, marked when the number cannot be cited."""
    return entry["config"] + ("" if entry["citable"] else f" {NOT_CITABLE_MARK}")


def format_params(params: int | None) -> str:
    if params is None:
        return "—"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if params >= scale:
            return f"{params / scale:.3g}{suffix}"
    return str(params)


def failure_labels_by_count(entries: Sequence[Entry]) -> list[str]:
    """Every failure label in the table, most wrong answers first (then by name)."""
    totals: dict[str, int] = {}
    for e in entries:
        for label, count in (e.get("failures") or {}).items():
            totals[label] = totals.get(label, 0) + int(count)
    return sorted(totals, key=lambda k: (-totals[k], k))
