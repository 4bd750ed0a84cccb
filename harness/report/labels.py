"""Labels beside scatter points that overlap no other label, point or CI bar.

Greedy, in the order given: each label takes the first candidate offset whose box is free
and inside the axes; when none is, the least-overlapping one, drawn with a leader line so
it still says which point it names.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox


def _overlap(a: Bbox, boxes: Sequence[Bbox]) -> float:
    total = 0.0
    for b in boxes:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


# Offsets (points) tried in order for a label beside its point: right, left, above, below.
_OFFSETS = [
    (7, -3, "left"),
    (-7, -3, "right"),
    (7, 8, "left"),
    (7, -14, "left"),
    (-7, 8, "right"),
    (-7, -14, "right"),
    (0, 11, "center"),
    (0, -18, "center"),
    (7, 20, "left"),
    (7, -26, "left"),
    (-7, 20, "right"),
    (-7, -26, "right"),
]


def place_labels(
    fig: Figure, ax: Axes, points: Sequence[tuple[float, float, str, float, float]]
) -> None:
    """Greedy placement: each label takes the first offset whose box hits no placed label,
    no point and stays inside the axes; if none is free, the least-overlapping one, with a
    leader line so the label still says which point it names."""
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    inside = ax.get_window_extent(renderer)
    taken: list[Bbox] = []
    for x, y, _label, low, high in points:
        px, py = ax.transData.transform((x, y))
        taken.append(Bbox.from_extents(px - 5, py - 5, px + 5, py + 5))
        # The whisker is an obstacle too: a label over a CI bar hides where it ends.
        _, py_low = ax.transData.transform((x, low))
        _, py_high = ax.transData.transform((x, high))
        taken.append(Bbox.from_extents(px - 4, py_low, px + 4, py_high))
    for x, y, label, _low, _high in points:
        best = None
        for dx, dy, ha in _OFFSETS:
            text = ax.annotate(
                label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, fontsize=8
            )
            box = text.get_window_extent(renderer).expanded(1.04, 1.15)
            outside = (
                box.x0 < inside.x0 or box.x1 > inside.x1 or box.y0 < inside.y0 or box.y1 > inside.y1
            )
            cost = _overlap(box, taken) + (1e6 if outside else 0)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text, box, (dx, dy))
            else:
                text.remove()
            if cost == 0:
                break
        assert best is not None
        cost, text, box, (dx, dy) = best
        if cost > 0 or abs(dy) > 12:
            # Far from its point or crowded: redraw with a leader line to the point.
            ha = text.get_horizontalalignment()
            text.remove()
            ax.annotate(
                label,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                fontsize=8,
                arrowprops={"arrowstyle": "-", "color": "#9aa3b2", "lw": 0.6, "shrinkB": 4},
            )
        taken.append(box)
