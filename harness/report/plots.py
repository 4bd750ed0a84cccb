"""The leaderboard's PNGs, drawn from leaderboard.json alone.

- accuracy_vs_size.png: per table, runs without a parameter count as a dot chart sorted by
  EX (one row per run, so labels cannot overlap); runs with one as EX against parameters
  on a log axis, labels placed where they collide with nothing, the legend outside.
- ex_by_level.png: EX per hardness (Spider) or difficulty (BIRD), one panel per level.
- failure_labels.png: each run's wrong answers split by failure label.

Headless (Agg canvas, never pyplot's global state) and byte-stable: no timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from harness.display import pct_ci
from harness.io import write_atomic
from harness.leaderboard.columns import (
    NOT_CITABLE_MARK,
    display_name,
    failure_labels_by_count,
    format_params,
    ordered_levels,
)
from harness.records import Leaderboard
from harness.report.labels import place_labels

SIZE_PLOT = "accuracy_vs_size.png"
LEVEL_PLOT = "ex_by_level.png"
FAILURE_PLOT = "failure_labels.png"
PLOT_NAMES = (SIZE_PLOT, LEVEL_PLOT, FAILURE_PLOT)

TIER_STYLE = {
    "open": ("o", "#2156a5"),
    "frontier": ("s", "#c0392b"),
    "replay": ("D", "#6c5ba7"),
}
FALLBACK_STYLE = ("^", "#5d6677")
ROW_IN = 0.3  # inches per run row in dot charts
WIDTH_IN = 9.0
DPI = 110

Entry = Mapping[str, Any]


def _ci_pct(ci: Mapping[str, Any]) -> tuple[float, float, float]:
    return 100 * ci["mean"], 100 * ci["low"], 100 * ci["high"]


def _ci_marker(
    ax: Axes,
    e: Entry,
    at: float,
    ci: Mapping[str, Any],
    *,
    horizontal: bool,
    ms: float = 6,
    capsize: float = 3,
    lw: float = 1.2,
    **extra: Any,
) -> tuple[float, float, float]:
    """One run's score at `at` as its tier's marker with a CI bar (hollow when the run is
    not citable); the bar runs along x when `horizontal`. Returns (mean, low, high) in %."""
    mean, low, high = _ci_pct(ci)
    marker, color = TIER_STYLE.get(e["tier"], FALLBACK_STYLE)
    err = [[mean - low], [high - mean]]
    if horizontal:
        ax.errorbar([mean], [at], xerr=err, fmt=marker, color=color,
                    mfc=color if e["citable"] else "white", ms=ms, capsize=capsize, lw=lw,
                    **extra)  # fmt: skip
    else:
        ax.errorbar([at], [mean], yerr=err, fmt=marker, color=color,
                    mfc=color if e["citable"] else "white", ms=ms, capsize=capsize, lw=lw,
                    **extra)  # fmt: skip
    return mean, low, high


def _title(table: Mapping[str, Any]) -> str:
    return f"{table['benchmark']} / {table['split']}"


def _save(fig: Figure, path: Path) -> None:
    png = BytesIO()
    fig.savefig(png, format="png", metadata={"Software": None}, bbox_inches="tight")
    write_atomic(path, png.getvalue())


def _new_figure(height_in: float) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _figure_per_split(
    leaderboard: Leaderboard, height_in: Callable[[Mapping[str, Any]], float]
) -> tuple[Figure, list[tuple[SubFigure, Mapping[str, Any]]]]:
    """One figure with a panel per split table, stacked, each `height_in(table)` tall (a
    leaderboard without runs gets one empty panel)."""
    split_tables = leaderboard["tables"] or [{"benchmark": "no runs", "split": "", "entries": []}]
    heights = [height_in(t) for t in split_tables]
    fig = _new_figure(sum(heights))
    subfigs = fig.subfigures(len(split_tables), 1, height_ratios=heights, squeeze=False)[:, 0]
    return fig, list(zip(subfigs, split_tables, strict=True))


# --------------------------------------------------------------------------- dot charts


def _dot_chart(
    ax: Axes, entries: Sequence[Entry], ci_of: Callable[[Entry], Mapping[str, Any] | None]
) -> None:
    """Runs as rows, best on top; a dot per score with its CI; the numbers at the right."""
    scored = [(e, ci_of(e)) for e in entries]
    scored = [(e, ci) for e, ci in scored if ci]
    scored.sort(key=lambda pair: (-pair[1]["mean"], pair[0]["config"]))
    n = len(scored)
    for i, (e, ci) in enumerate(scored):
        y = n - 1 - i
        _ci_marker(ax, e, y, ci, horizontal=True, lw=1.4)
        ax.annotate(
            pct_ci(ci),
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(n), [display_name(e) for e, _ci in reversed(scored)], fontsize=8)
    ax.set_ylim(-0.7, n - 0.3)
    if scored:
        lows = [100 * ci["low"] for _e, ci in scored]
        highs = [100 * ci["high"] for _e, ci in scored]
        pad = max(2.0, 0.05 * (max(highs) - min(lows)))
        ax.set_xlim(max(0.0, min(lows) - pad), min(100.0, max(highs) + pad))
    ax.grid(True, axis="x", alpha=0.3)
    for i in range(n):
        if i % 2 == 0:
            ax.axhspan(i - 0.5, i + 0.5, color="#f3f5f8", zorder=0, lw=0)


# --------------------------------------------------------------------------- size plot


def _unsized_column(ax: Axes, entries: Sequence[Entry]) -> None:
    """Runs without a parameter count, best first, one x slot each (names as tick labels)."""
    order = sorted(entries, key=lambda e: (-e["metrics"]["ex"]["mean"], e["config"]))
    for x, e in enumerate(order):
        _ci_marker(ax, e, x, e["metrics"]["ex"], horizontal=False)
    ax.set_xticks(
        range(len(order)), [display_name(e) for e in order], rotation=40, ha="right", fontsize=8
    )
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_title("no parameter count", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.tick_params(axis="y", labelleft=False)


def _size_axes(fig: Figure, ax: Axes, entries: Sequence[Entry], also: Sequence[Entry] = ()) -> None:
    seen: set[str] = set()
    points = []
    for e in entries:
        mean, low, high = _ci_marker(
            ax, e, e["params"], e["metrics"]["ex"], horizontal=False,
            label=e["tier"] if e["tier"] not in seen else None,
        )  # fmt: skip
        seen.add(e["tier"])
        points.append((e["params"], mean, display_name(e), low, high))
    ax.set_xscale("log")
    sizes = [e["params"] for e in entries]
    ax.set_xlim(min(sizes) / 2.2, max(sizes) * 2.2)
    lows = [100 * e["metrics"]["ex"]["low"] for e in [*entries, *also]]
    highs = [100 * e["metrics"]["ex"]["high"] for e in [*entries, *also]]
    pad = max(3.0, 0.08 * (max(highs) - min(lows)))
    ax.set_ylim(max(0.0, min(lows) - pad), min(100.0, max(highs) + pad))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_params(round(x))))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("EX, % (95% CI)")
    ax.grid(True, alpha=0.3)
    if any(not e["citable"] for e in entries):
        ax.plot(
            [], [], "o", color="#5d6677", mfc="white", label=f"not citable ({NOT_CITABLE_MARK})"
        )
    tiers = {e["tier"] for e in also} - seen
    for tier in sorted(tiers):
        marker, color = TIER_STYLE.get(tier, FALLBACK_STYLE)
        ax.plot([], [], marker, color=color, label=tier)
    # Outside the data: below the axes, where no point can be.
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), ncols=4, fontsize=8, frameon=False)
    place_labels(fig, ax, points)


def plot_accuracy_vs_size(leaderboard: Leaderboard, path: Path) -> None:
    _save(size_figure(leaderboard), path)


def _size_height(table: Mapping[str, Any]) -> float:
    unsized = [e for e in table["entries"] if not e["params"]]
    sized = len(table["entries"]) - len(unsized)
    return max(4.2 if sized else 0, 1.1 + ROW_IN * max(1, len(unsized)))


def size_figure(leaderboard: Leaderboard) -> Figure:
    fig, panels = _figure_per_split(leaderboard, _size_height)
    for sub, table in panels:
        entries = table["entries"]
        sized = [e for e in entries if e["params"]]
        unsized = [e for e in entries if not e["params"]]
        sub.suptitle(_title(table), fontsize=11, fontweight="bold")
        if sized and unsized:
            # Same y axis as the size plot, so a reader can compare across the two panels.
            left, right = sub.subplots(
                1, 2, width_ratios=[3, 0.35 + 0.3 * len(unsized)], sharey=True
            )
            _unsized_column(right, unsized)
            _size_axes(fig, left, sized, also=unsized)
        elif sized:
            _size_axes(fig, sub.subplots(), sized)
        else:
            ax = sub.subplots()
            _dot_chart(ax, unsized, lambda e: e["metrics"]["ex"])
            ax.set_xlabel("EX, % (dot = score, bar = 95% CI)")
            if not entries:
                ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
    return fig


# --------------------------------------------------------------------------- per level


def plot_by_level(leaderboard: Leaderboard, path: Path) -> None:
    _save(level_figure(leaderboard), path)


def level_figure(leaderboard: Leaderboard) -> Figure:
    fig, panels = _figure_per_split(leaderboard, lambda t: 1.5 + ROW_IN * max(1, len(t["entries"])))
    for sub, table in panels:
        entries = table["entries"]
        levels = ordered_levels(entries) or ["(no levels)"]
        sub.suptitle(f"{_title(table)}: EX by level", fontsize=11, fontweight="bold")
        axes = sub.subplots(1, len(levels), sharey=True, squeeze=False)[0]
        # One order for every panel (overall EX), so a run keeps its row across levels.
        order = sorted(entries, key=lambda e: (e["metrics"]["ex"]["mean"], e["config"]))
        for ax, level in zip(axes, levels, strict=True):
            n_level = next(
                (e["by_level"][level].get("n") for e in entries if level in e["by_level"]), None
            )
            for y, e in enumerate(order):
                ci = (e["by_level"].get(level) or {}).get("ex")
                if not ci:
                    continue
                _ci_marker(ax, e, y, ci, horizontal=True, ms=5, capsize=2, lw=1.1)
            ax.set_title(level + (f" (n = {n_level})" if n_level else ""), fontsize=9)
            ax.set_xlim(-3, 103)  # a score of 0 or 100 keeps its whole marker
            ax.set_xticks([0, 25, 50, 75, 100])
            ax.grid(True, axis="x", alpha=0.3)
            ax.tick_params(labelsize=8)
        axes[0].set_yticks(range(len(order)), [display_name(e) for e in order], fontsize=8)
        axes[0].set_ylim(-0.7, len(order) - 0.3)
        sub.supxlabel("EX, % (95% CI)", fontsize=9)
    return fig


# --------------------------------------------------------------------------- failures


def plot_failures(leaderboard: Leaderboard, path: Path) -> None:
    _save(failure_figure(leaderboard), path)


def failure_figure(leaderboard: Leaderboard) -> Figure:
    fig, panels = _figure_per_split(leaderboard, lambda t: 1.6 + ROW_IN * max(1, len(t["entries"])))
    cmap = [
        "#2156a5",
        "#e67e22",
        "#27ae60",
        "#c0392b",
        "#8e44ad",
        "#16a085",
        "#d35400",
        "#7f8c8d",
        "#2c3e50",
        "#f1c40f",
        "#1abc9c",
        "#e84393",
    ]
    for sub, table in panels:
        entries = sorted(table["entries"], key=lambda e: (e["metrics"]["ex"]["mean"], e["config"]))
        labels = failure_labels_by_count(entries)
        # Beyond a dozen colours the legend stops helping; the rest is "other".
        shown, rest = labels[:11], labels[11:]
        ax = sub.subplots()
        sub.suptitle(
            f"{_title(table)}: wrong answers by failure label", fontsize=11, fontweight="bold"
        )
        left = [0.0] * len(entries)
        groups = [(label, [label]) for label in shown] + ([("other", rest)] if rest else [])
        for k, (label, members) in enumerate(groups):
            counts = [
                sum(int((e.get("failures") or {}).get(m, 0)) for m in members) for e in entries
            ]
            ax.barh(
                range(len(entries)),
                counts,
                left=left,
                color=cmap[k % len(cmap)],
                label=label,
                height=0.7,
            )
            left = [a + b for a, b in zip(left, counts, strict=True)]
        for y, total in enumerate(left):
            ax.annotate(
                f"{int(total)}",
                (total, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.set_yticks(range(len(entries)), [display_name(e) for e in entries], fontsize=8)
        ax.set_xlabel("wrong answers (count)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, axis="x", alpha=0.3)
        if groups:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        else:
            ax.text(
                0.5,
                0.5,
                "no failure labels recorded",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        ax.set_xlim(0, max([*left, 1]) * 1.12)
    return fig


def write_plots(leaderboard: Leaderboard, out_dir: Path) -> list[str]:
    plot_accuracy_vs_size(leaderboard, out_dir / SIZE_PLOT)
    plot_by_level(leaderboard, out_dir / LEVEL_PLOT)
    plot_failures(leaderboard, out_dir / FAILURE_PLOT)
    return list(PLOT_NAMES)
