"""The leaderboard's PNGs: sorted dot charts without sizes, log-size plots whose labels and
legend collide with nothing, per-level and failure-label charts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.legend import Legend
from matplotlib.text import Annotation

from harness.report.plots import PLOT_NAMES, failure_figure, level_figure, size_figure
from harness.report.publish import publish_leaderboard
from tests.runs_factory import default_config, make_run

# Close scores on purpose: DAIL-SQL and DIN-SQL once printed on top of each other.
SIZED = [
    ("coder-0.5b", 5e8, 0.40),
    ("coder-1.5b", 1.5e9, 0.58),
    ("coder-7b", 7.6e9, 0.75),
    ("coder-7b-lora", 7.6e9, 0.77),
    ("coder-7b-dpo", 7.6e9, 0.76),
    ("llama-8b", 8e9, 0.74),
    ("coder-32b", 3.2e10, 0.84),
]
UNSIZED = [("DAIL-SQL", 0.832), ("DIN-SQL", 0.828), ("gpt-mini", 0.80)]


def _runs(root, sized=True, unsized=True, n=400):
    rng = np.random.default_rng(0)
    paths = []
    specs = (SIZED if sized else []) + (
        [(name, None, acc) for name, acc in UNSIZED] if unsized else []
    )
    for name, params, acc in specs:
        config = default_config(tier="open" if params else "frontier") | {"name": name}
        if params:
            config["model"]["params"] = int(params)
        ex = (rng.random(n) < acc).astype(int).tolist()
        paths.append(make_run(root, name, ex, config=config, resamples=300))
    return paths


@pytest.fixture
def board(tmp_path):
    return publish_leaderboard(_runs(tmp_path / "runs"), tmp_path / "board", plot=False, html=False)


def _boxes(fig, kind):
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    return [
        (t.get_text(), t.get_window_extent(renderer))
        for ax in fig.axes
        for t in ax.texts
        if isinstance(t, kind)
    ]


def test_size_plot_labels_never_overlap_and_the_legend_is_outside(board):
    fig = size_figure(board)
    labels = _boxes(fig, Annotation)
    assert sorted(text for text, _ in labels) == sorted(name for name, *_ in SIZED)
    for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
    size_ax = next(ax for ax in fig.axes if ax.get_xscale() == "log")
    renderer = fig.canvas.get_renderer()
    legend = next(c for c in size_ax.get_children() if isinstance(c, Legend))
    assert not legend.get_window_extent(renderer).overlaps(size_ax.get_window_extent(renderer))
    # Runs without a size: their own column on the same y scale, names as tick labels.
    column = next(ax for ax in fig.axes if ax is not size_ax)
    unsized = [e["config"] for e in board["tables"][0]["entries"] if not e["params"]]
    assert [t.get_text() for t in column.get_xticklabels()] == unsized  # ranked, best first
    assert column.get_ylim() == size_ax.get_ylim()


def test_without_sizes_runs_are_rows_sorted_by_score(tmp_path):
    board = publish_leaderboard(
        _runs(tmp_path / "runs", sized=False), tmp_path / "board", html=False
    )
    fig = size_figure(board)
    (ax,) = fig.axes
    entries = board["tables"][0]["entries"]
    top_to_bottom = [t.get_text() for t in reversed(ax.get_yticklabels())]
    assert top_to_bottom == [e["config"] for e in entries]  # entries are ranked by EX
    values = [t.get_text() for t in ax.texts]
    for e in entries:
        ci = e["metrics"]["ex"]
        assert f"{100 * ci['mean']:.1f} [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]" in values


def test_level_and_failure_charts(board):
    fig = level_figure(board)
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split(" ")[0] for t in titles] == ["easy", "medium", "hard", "extra"]
    assert all("(n = 100)" in t for t in titles)
    fig = failure_figure(board)
    (ax,) = fig.axes
    entries = board["tables"][0]["entries"]
    totals = sorted(int(t.get_text()) for t in ax.texts)
    assert totals == sorted(e["failures"]["wrong_rows"] for e in entries)


def test_every_png_is_written(tmp_path):
    publish_leaderboard(_runs(tmp_path / "runs", n=40), tmp_path / "board", html=False)
    for name in PLOT_NAMES:
        png = (tmp_path / "board" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
