"""Scoring speed: the native scorer cold and warm, against the official evaluator.

Usage:
    python bench/score_speed.py [--data-dir ../shared/data/spider] [--jobs N] [--etype all|exec]
        [--plug-value]
    OFFICIAL_EVAL_DIR=/path/to/test-suite-sql-eval [OFFICIAL_PYTHON=/path/to/python] \
        python bench/score_speed.py

Workload: the parity corpus (5,868 predictions over the Spider dev databases present)
when it is there, else Spider dev scored with its own gold as predictions. "cold" starts
with an empty gold-result cache; "warm" re-scores with the cache that run filled. The
official evaluator, when given, runs once on the same files in the same process tree,
and the script prints the ratios. `--plug-value` scores with that flag (the official
evaluator too) and also times a warm run without it, as the reference for its cost.
Timings are wall-clock on this machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.benchmarks.spider import load_spider
from harness.predictions import PredictionSet, read_predictions
from harness.scoring.scorer import ScoreOptions, score_benchmark

REPO = Path(__file__).resolve().parent.parent


def workload(data_dir: Path) -> tuple[object, PredictionSet, Path, Path]:
    parity = data_dir / "parity"
    if (parity / "gold.sql").is_file():
        bench = load_spider(
            gold_path=parity / "gold.sql",
            db_dir=data_dir / "database",
            tables_path=data_dir / "tables.json",
        )
        return (
            bench,
            read_predictions(parity / "pred.sql", bench.examples),
            parity / "gold.sql",
            parity / "pred.sql",
        )
    bench = load_spider(data_dir=data_dir, split="dev")
    bench.examples = [e for e in bench.examples if e.db_paths]
    bench.missing_db_ids = []
    tmp = Path(tempfile.mkdtemp(prefix="score-speed-"))
    gold = tmp / "gold.sql"
    pred = tmp / "pred.sql"
    gold.write_text("".join(f"{e.gold_sql}\t{e.db_id}\n" for e in bench.examples))
    pred.write_text("".join(f"{e.gold_sql}\n" for e in bench.examples))
    return bench, PredictionSet(sql={e.id: e.gold_sql for e in bench.examples}), gold, pred


def time_native(bench, preds, jobs: int, cache: Path, em: bool, plug_value: bool) -> float:
    out = Path(tempfile.mkdtemp(prefix="score-speed-run-"))
    opts = ScoreOptions(jobs=jobs, cache_dir=cache, em=em, resamples=1000, plug_value=plug_value)
    start = time.perf_counter()
    score_benchmark(bench, preds, out, opts)
    elapsed = time.perf_counter() - start
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


def time_official(
    official: Path, python: str, gold: Path, pred: Path, data_dir: Path, etype: str, plug: bool
) -> float:
    cmd = [
        python,
        str(official / "evaluation.py"),
        "--gold",
        str(gold),
        "--pred",
        str(pred),
        "--db",
        str(data_dir / "database"),
        "--table",
        str(data_dir / "tables.json"),
        "--etype",
        etype,
    ] + (["--plug_value"] if plug else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=official, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"official evaluator failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared/data/spider")
    parser.add_argument("--jobs", type=int, default=0, help="0 = one per CPU")
    parser.add_argument(
        "--etype",
        choices=["all", "exec"],
        default="all",
        help="all = EX + EM + hardness (as the official --etype all)",
    )
    parser.add_argument("--plug-value", action="store_true", help="score with --plug-value")
    args = parser.parse_args()
    if not (args.data_dir / "database").is_dir():
        sys.exit(f"no Spider data at {args.data_dir} (pass --data-dir)")
    bench, preds, gold, pred = workload(args.data_dir)
    n = len(bench.examples)
    jobs = args.jobs or os.cpu_count() or 1
    em = args.etype == "all"
    cache = Path(tempfile.mkdtemp(prefix="score-speed-cache-"))
    plug = args.plug_value
    print(
        f"workload: {n} examples, jobs={jobs}, etype={args.etype}, plug_value={plug}, "
        f"cpus={os.cpu_count()}"
    )
    cold = time_native(bench, preds, jobs, cache, em, plug)
    warm = time_native(bench, preds, jobs, cache, em, plug)
    print(f"native cold : {cold:8.2f} s  ({n / cold:7.1f} examples/s)")
    print(f"native warm : {warm:8.2f} s  ({n / warm:7.1f} examples/s)")
    if plug:
        plain = time_native(bench, preds, jobs, cache, em, False)
        print(f"warm without --plug-value: {plain:8.2f} s (plug-value costs {warm / plain:.2f}x)")
    shutil.rmtree(cache, ignore_errors=True)
    official_dir = os.environ.get("OFFICIAL_EVAL_DIR")
    if not official_dir:
        print("official    : skipped (set OFFICIAL_EVAL_DIR to a test-suite-sql-eval checkout)")
        return
    python = os.environ.get("OFFICIAL_PYTHON", sys.executable)
    official = time_official(
        Path(official_dir), python, gold, pred, args.data_dir, args.etype, plug
    )
    print(f"official    : {official:8.2f} s  ({n / official:7.1f} examples/s)")
    print(
        f"speed-up    : cold {official / cold:5.1f}x, warm {official / warm:5.1f}x "
        "(official time / native time)"
    )


if __name__ == "__main__":
    main()
