"""index.html at Spider-dev size: page weight, build time, and load/filter/scroll time in
headless Chromium, each against a reference page measured in the same run.

Usage:
    python bench/report_html.py [--runs 20] [--questions 1034]

The reference is the same page for 2 runs x 50 questions. Timings are wall-clock on this
machine (load includes Chromium parsing the embedded JSON and drawing the first rows);
nothing here is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.report.publish import publish_leaderboard
from tests.browser import Browser
from tests.synthetic_runs import make_runs

IN_PAGE = """(() => {
  const b = document.querySelector('section.board').board;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) { b.filters.status = i % 2 ? 'disagree' : ''; b.refilter(); }
  const t1 = performance.now();
  const v = b.viewport;
  for (let i = 0; i < 50; i++) { v.scrollTop = (i * 977) % (v.scrollHeight || 1); b.render(); }
  const t2 = performance.now();
  return {filter_ms: (t1 - t0) / 20, scroll_ms: (t2 - t1) / 50,
          nodes: document.getElementsByTagName('*').length};
})()"""


def measure(root: Path, n_runs: int, n_questions: int) -> dict[str, float]:
    paths = make_runs(root / "runs", n_runs=n_runs, n_questions=n_questions, resamples=1000)
    start = time.perf_counter()
    publish_leaderboard(paths, root / "board", plot=False)
    build_s = time.perf_counter() - start
    page = root / "board" / "index.html"
    with Browser() as browser:
        load_s = browser.open(page)
        timings = browser.eval(IN_PAGE)
        assert not browser.problems(), browser.problems()
    return {"bytes": page.stat().st_size, "build_s": build_s, "load_s": load_s, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--questions", type=int, default=1034)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref = measure(Path(tmp) / "ref", 2, 50)
        big = measure(Path(tmp) / "big", args.runs, args.questions)
    print(f"{'':24}{'2 x 50':>12}{f'{args.runs} x {args.questions}':>14}{'ratio':>9}")
    rows = [
        ("page size (KB)", "bytes", 1 / 1024),
        ("leaderboard build (s)", "build_s", 1),
        ("load to first rows (s)", "load_s", 1),
        ("re-filter (ms)", "filter_ms", 1),
        ("scroll + render (ms)", "scroll_ms", 1),
        ("DOM elements", "nodes", 1),
    ]
    for label, key, scale in rows:
        a, b = ref[key] * scale, big[key] * scale
        print(f"{label:24}{a:12.2f}{b:14.2f}{b / a if a else float('nan'):8.1f}×")


if __name__ == "__main__":
    main()
