"""Inline SVG for index.html: runs sorted by score, one row each, CI whiskers.

One row per run means labels can never overlap, whatever the scores; the x axis spans the
CIs (not 0-100) so close runs stay distinguishable, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from harness.display import pct_ci
from harness.leaderboard.columns import NOT_CITABLE_MARK

ROW_H = 22
LABEL_W = 230
PLOT_W = 420
VALUE_W = 150
TOP = 28
BOTTOM = 34


def _nice_step(span: float) -> float:
    raw = span / 6
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ci_chart(items: Sequence[Mapping[str, Any]], title: str, metric_label: str = "EX") -> str:
    """`items`: dicts with name, mean, low, high (fractions) and citable; drawn best first."""
    rows = sorted(items, key=lambda r: (-r["mean"], r["name"]))
    if not rows:
        return ""
    lows = [100 * r["low"] for r in rows]
    highs = [100 * r["high"] for r in rows]
    step = _nice_step(max(max(highs) - min(lows), 1.0))
    x0 = max(0.0, math.floor(min(lows) / step) * step)
    x1 = min(100.0, math.ceil(max(highs) / step) * step)
    if x1 <= x0:
        x0, x1 = max(0.0, x0 - step), min(100.0, x1 + step)
    width = LABEL_W + PLOT_W + VALUE_W
    height = TOP + ROW_H * len(rows) + BOTTOM

    def x(value_pct: float) -> float:
        return LABEL_W + (value_pct - x0) / (x1 - x0) * PLOT_W

    out = [
        f'<svg class="ci-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LABEL_W}" y="16" class="ax-title">{escape(metric_label)}, % '
        "(dot = score, bar = 95% CI)</text>",
    ]
    tick = x0
    while tick <= x1 + 1e-9:
        tx = x(tick)
        out.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{TOP - 4}" '
            f'y2="{height - BOTTOM + 4}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{height - BOTTOM + 18}" class="tick">{tick:g}</text>'
        )
        tick += step
    for i, r in enumerate(rows):
        cy = TOP + ROW_H * i + ROW_H / 2
        mean, low, high = 100 * r["mean"], 100 * r["low"], 100 * r["high"]
        name = r["name"] + ("" if r["citable"] else f" {NOT_CITABLE_MARK}")
        cls = "pt" if r["citable"] else "pt open"
        if i % 2 == 0:
            out.append(
                f'<rect x="0" y="{cy - ROW_H / 2:.1f}" width="{width}" height="{ROW_H}" '
                'class="band"/>'
            )
        out.append(
            f'<text x="{LABEL_W - 8}" y="{cy + 4:.1f}" class="name">'
            f"<title>{escape(name)}</title>{escape(_short(name))}</text>"
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
            'class="whisker"/>'
            f'<line x1="{x(low):.1f}" x2="{x(low):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" '
            'class="whisker"/>'
            f'<line x1="{x(high):.1f}" x2="{x(high):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}" '
            'class="whisker"/>'
            f'<circle cx="{x(mean):.1f}" cy="{cy:.1f}" r="4.5" class="{cls}"/>'
            f'<text x="{LABEL_W + PLOT_W + 10}" y="{cy + 4:.1f}" class="val">'
            f"{pct_ci(r)}</text>"
        )
    out.append("</svg>")
    return "".join(out)
