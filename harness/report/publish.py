"""Publishing a leaderboard: run folders in; LEADERBOARD.md, leaderboard.json, the PNGs and
index.html out, in one folder. The one place that composes the leaderboard package with the
page and the plots (`harness leaderboard`, sweeps and the benches call it)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.errors import ConfigError
from harness.io import write_atomic
from harness.leaderboard.build import build_leaderboard
from harness.leaderboard.load import load_run
from harness.leaderboard.render import write_leaderboard
from harness.records import Leaderboard


def publish_leaderboard(
    run_dirs: Sequence[Path | str],
    out_dir: Path | str,
    allow_outages: bool = False,
    allow_partial: bool = False,
    plot: bool = True,
    html: bool = True,
) -> Leaderboard:
    """Read run folders, write LEADERBOARD.md, leaderboard.json, the plots and index.html;
    return the leaderboard."""
    if not run_dirs:
        raise ConfigError("no run folders given")
    runs = [load_run(Path(d)) for d in run_dirs]
    leaderboard = build_leaderboard(runs, allow_outages=allow_outages, allow_partial=allow_partial)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_leaderboard(leaderboard, out)
    if plot:
        # matplotlib only when a plot is asked for.
        from harness.report.plots import write_plots

        write_plots(leaderboard, out)
    if html:
        from harness.report.html import HTML_NAME, build_html

        write_atomic(out / HTML_NAME, build_html(leaderboard, runs))
    return leaderboard
