"""Scoring speed on the workloads users run, against the official evaluator in the same run.

Usage:
    python bench/score_speed.py [--workload real|suite|files|all] [--repeats 3] [--jobs N]
        [--plug-value]
    OFFICIAL_EVAL_DIR=/path/to/test-suite-sql-eval [OFFICIAL_PYTHON=python] \
        python bench/score_speed.py

Workloads (Spider dev, the databases present in --data-dir):
- real: one predictions file with one prediction per dev example, scored as the official
  `--etype all` does (EX + EM + hardness). `--pred FILE` uses a file of your own, e.g. a
  published one: official format, one line per example of --data-dir's dev.json (the
  lines of examples whose database is missing are dropped, as their gold is) or one per
  example whose database is present. Otherwise one is derived from the parity corpus:
  for each dev example, one of its corpus predictions chosen with a fixed seed (so about
  half are right, as for a model).
- suite: the same predictions on a test suite (`--etype exec --db SUITE`). `--suite DIR`
  uses a suite of your own; otherwise one is generated with a fixed seed: each dev
  database plus `--variants - 1` copies that lose a random 0-30% of each table's rows and
  have some non-key numbers nudged, the size of the official suite (~40 databases per schema).
- files: ten different predictions files (corpus picks with seeds 1-10) scored by one
  `harness score` with ten `--pred`, against ten separate `harness score` runs, both
  starting from a cache that holds the gold results and no verdicts.

`harness score` runs as a subprocess, as a user runs it: "cold" starts with an empty
cache; "warm" re-scores the same file with the cache the cold run filled (its verdicts
are reused); "warm, gold only" scores it with the gold results cached but no stored
verdicts, which is what a new model's predictions meet. Times are wall-clock and CPU
seconds (this process adopts and waits for every descendant, workers included). With
`OFFICIAL_EVAL_DIR` the official evaluator runs on the same files in the same round and
the ratios (official time / harness time) are printed; without it, absolute times only.
`--plug-value` scores with that flag (the official evaluator with `--plug_value`), and
the real workload then also times "gold only" without it, as the reference for its cost.
Each figure is the median over --repeats rounds; the machine may be shared, so read the
spread too. The official evaluator needs nltk's punkt_tab: unless NLTK_DATA is set, an
empty one (which tokenizes SQL as the real model does) is made in a temp dir.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import operator
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = 0


def real_workload(data_dir: Path, tmp: Path, pred: Path | None) -> tuple[Path, Path, int]:
    """(data dir with only the examples whose database is present, predictions, n)."""
    out = tmp / "spider"
    kept = _present_examples(data_dir)
    out.mkdir()
    (out / "dev.json").write_text(json.dumps([q for _, q in kept]))
    (out / "dev_gold.sql").write_text("".join(f"{q['query']}\t{q['db_id']}\n" for _, q in kept))
    (out / "tables.json").symlink_to((data_dir / "tables.json").resolve())
    (out / "database").symlink_to((data_dir / "database").resolve())
    if pred is not None:
        return out, restricted_predictions(data_dir, pred, tmp / "pred.sql"), len(kept)
    return out, derived_predictions(data_dir, tmp / "pred.sql", SEED), len(kept)


def restricted_predictions(data_dir: Path, pred: Path, dest: Path) -> Path:
    """`pred` as it is when it has one line per example whose database is present; a file
    for the whole split (a published one) loses the lines of the examples whose database
    is missing, as the gold does, so both sides stay aligned."""
    lines = pred.read_text().splitlines()
    questions = json.loads((data_dir / "dev.json").read_text())
    kept = _present_examples(data_dir)
    if len(lines) == len(kept):
        return pred
    if len(lines) != len(questions):
        sys.exit(
            f"{pred}: {len(lines)} lines; expected {len(questions)} (the whole split) "
            f"or {len(kept)} (the examples whose database is present)"
        )
    dest.write_text("".join(f"{lines[i]}\n" for i, _ in kept))
    return dest


def _present_examples(data_dir: Path) -> list[tuple[int, dict]]:
    questions = json.loads((data_dir / "dev.json").read_text())
    present = {p.name for p in (data_dir / "database").iterdir() if p.is_dir()}
    return [(i, q) for i, q in enumerate(questions) if q["db_id"] in present]


def derived_predictions(data_dir: Path, dest: Path, seed: int) -> Path:
    """One parity-corpus prediction per dev example whose database is present, by seed."""
    corpus = data_dir / "parity" / "pred.jsonl"
    if not corpus.is_file():
        sys.exit(f"no {corpus}: pass --pred FILE (one prediction per line)")
    by_index: dict[int, list[str]] = {}
    for line in corpus.read_text().splitlines():
        row = json.loads(line)
        by_index.setdefault(row["dev_index"], []).append(row["pred"])
    rng = random.Random(seed)
    lines = []
    for i, q in _present_examples(data_dir):
        options = by_index.get(i) or [q["query"]]
        lines.append(rng.choice(options).replace("\n", " ").replace("\t", " "))
    dest.write_text("".join(f"{line}\n" for line in lines))
    return dest


def _perturb(path: Path, rng: random.Random) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    for table in tables:
        q = table.replace('"', '""')
        try:
            rowids = [r[0] for r in conn.execute(f'SELECT rowid FROM "{q}"')]
        except sqlite3.Error:  # WITHOUT ROWID: left as it is
            continue
        drop = rng.sample(rowids, int(len(rowids) * rng.uniform(0.0, 0.3)))
        conn.executemany(f'DELETE FROM "{q}" WHERE rowid = ?', [(r,) for r in drop])
        numeric = [
            c[1]
            for c in conn.execute(f'PRAGMA table_info("{q}")')
            if c[2].upper().startswith(("INT", "REAL", "NUM", "FLOAT", "DOUBLE")) and not c[5]
        ]
        dropped = set(drop)
        keep = [r for r in rowids if r not in dropped]
        for col in numeric:
            cq = col.replace('"', '""')
            nudged = rng.sample(keep, len(keep) // 10)
            conn.executemany(
                f'UPDATE OR IGNORE "{q}" SET "{cq}" = "{cq}" + ? '
                f"WHERE rowid = ? AND typeof(\"{cq}\") IN ('integer', 'real')",
                [(rng.choice((-2, -1, 1, 2)), r) for r in nudged],
            )
    conn.commit()
    conn.close()


def make_suite(db_root: Path, out: Path, variants: int) -> Path:
    """`out/<db_id>/<db_id>.sqlite` (the original) plus variants - 1 perturbed copies."""
    rng = random.Random(SEED)
    for db in sorted(p for p in db_root.iterdir() if p.is_dir()):
        original = db / f"{db.name}.sqlite"
        if not original.is_file():
            continue
        (out / db.name).mkdir(parents=True)
        shutil.copyfile(original, out / db.name / original.name)
        for k in range(1, variants):
            copy = out / db.name / f"{db.name}_{k:02d}.sqlite"
            shutil.copyfile(original, copy)
            _perturb(copy, rng)
    return out


def nltk_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    if "NLTK_DATA" not in env:
        english = tmp / "nltk_data" / "tokenizers" / "punkt_tab" / "english"
        english.mkdir(parents=True)
        for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt"):
            (english / name).write_text("")
        (english / "ortho_context.tab").write_text("")
        env["NLTK_DATA"] = str(tmp / "nltk_data")
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so a worker server that outlives `harness score`
    by a moment is still waited for here and its CPU time counted."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Timing:
    """Wall-clock and CPU seconds (the process and every descendant it waited for)."""
    cpu0, start = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    _reap_orphans()
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    return Timing(elapsed, cpu)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)


def harness_cmd(
    data: Path, preds: list[Path], out: Path, cache: Path, args, db_dir=None, plug=None
):
    cmd = [sys.executable, "-m", "harness.cli", "score", "--data-dir", str(data)]
    if args.plug_value if plug is None else plug:
        cmd.append("--plug-value")
    for p in preds:
        cmd += ["--pred", str(p)]
    cmd += ["--out", str(out), "--gold-cache-dir", str(cache), "--jobs", str(args.jobs)]
    if db_dir is not None:
        cmd += ["--db-dir", str(db_dir)]
    return cmd


def official_cmd(
    official: Path, data: Path, pred: Path, db: Path, etype: str, plug: bool
) -> list[str]:
    python = os.environ.get("OFFICIAL_PYTHON", sys.executable)
    return [
        python, str(official / "evaluation.py"), "--gold", str(data / "dev_gold.sql"),
        "--pred", str(pred), "--db", str(db), "--table", str(data / "tables.json"),
        "--etype", etype, *(["--plug_value"] if plug else []),
    ]  # fmt: skip


def measure(name: str, rounds: int, steps: dict[str, Callable[[], Timing]]) -> dict[str, Timing]:
    samples: dict[str, list[Timing]] = {k: [] for k in steps}
    for _ in range(rounds):
        for key, step in steps.items():
            samples[key].append(step())
    medians = {
        k: Timing(statistics.median(t.wall for t in v), statistics.median(t.cpu for t in v))
        for k, v in samples.items()
    }
    print(f"\n[{name}] median of {rounds} round(s); wall-clock, then CPU seconds")
    for key, v in samples.items():
        walls = [t.wall for t in v]
        spread = f" (min {min(walls):.2f}, max {max(walls):.2f})" if len(v) > 1 else ""
        print(
            f"  {key:<14} wall {medians[key].wall:7.2f} s{spread:<24} cpu {medians[key].cpu:7.2f} s"
        )
    if "official" in medians:
        ref = medians["official"]
        for key, t in medians.items():
            if key != "official":
                print(
                    f"  official / {key:<12} {ref.wall / t.wall:5.1f}x wall, "
                    f"{ref.cpu / t.cpu:5.1f}x cpu"
                )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared/data/spider")
    parser.add_argument("--workload", choices=["real", "suite", "files", "all"], default="all")
    parser.add_argument(
        "--pred",
        type=Path,
        default=None,
        help="predictions, official format (whole split, or the present databases only)",
    )
    parser.add_argument("--suite", type=Path, default=None, help="your own test-suite dir")
    parser.add_argument("--variants", type=int, default=40, help="databases per schema")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="0 = one per CPU")
    parser.add_argument("--plug-value", action="store_true", help="score with --plug-value")
    args = parser.parse_args()
    if not (args.data_dir / "database").is_dir():
        sys.exit(f"no Spider data at {args.data_dir} (pass --data-dir)")
    if not _become_subreaper():
        print("note: CPU seconds miss the worker processes (no PR_SET_CHILD_SUBREAPER)")
    tmp = Path(tempfile.mkdtemp(prefix="score-speed-"))
    try:
        _bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args, tmp: Path) -> None:
    data, pred, n = real_workload(args.data_dir, tmp, args.pred)
    official_dir = os.environ.get("OFFICIAL_EVAL_DIR")
    official = Path(official_dir).resolve() if official_dir else None
    env = nltk_env(tmp) if official else None
    print(
        f"{n} examples, jobs={args.jobs or os.cpu_count()}, cpus={os.cpu_count()}, "
        f"plug_value={args.plug_value}"
    )
    if official is None:
        print("official evaluator: skipped (set OFFICIAL_EVAL_DIR to a test-suite-sql-eval copy)")
    counter = iter(range(10**6))
    cache = tmp / "cache"

    def native(preds: list[Path], db_dir: Path | None = None, plug: bool | None = None) -> Timing:
        out = tmp / f"run-{next(counter)}"
        return run(harness_cmd(data, preds, out, cache, args, db_dir, plug))

    def cold(preds: list[Path], db_dir: Path | None = None) -> Callable[[], Timing]:
        def step() -> Timing:
            shutil.rmtree(cache, ignore_errors=True)
            return native(preds, db_dir)

        return step

    def warm(preds: list[Path], db_dir: Path | None = None) -> Callable[[], Timing]:
        return lambda: native(preds, db_dir)

    def gold_only(step: Callable[[], Timing]) -> Callable[[], Timing]:
        """`step` on a copy of the cache less its stored verdicts (gold results only):
        what a new model's predictions meet. The full cache is put back afterwards."""

        def wrapped() -> Timing:
            shutil.copytree(cache, tmp / "cache-full")
            with sqlite3.connect(cache / "gold-results.sqlite") as conn:
                conn.execute("DELETE FROM verdicts")
            try:
                return step()
            finally:
                shutil.rmtree(cache)
                os.replace(tmp / "cache-full", cache)

        return wrapped

    if args.workload in ("real", "all"):
        steps = {
            "harness cold": cold([pred]),
            "harness warm": warm([pred]),
            "warm, gold only": gold_only(warm([pred])),
        }
        if args.plug_value:
            steps["gold only, no plug"] = gold_only(lambda: native([pred], plug=False))
        if official:
            db = data / "database"
            cmd = official_cmd(official, data, pred, db, "all", args.plug_value)
            steps["official"] = lambda: run(cmd, env)
        measure("real predictions, --etype all (EX + EM + hardness)", args.repeats, steps)
    if args.workload in ("suite", "all"):
        suite = args.suite
        if suite is None:
            start = time.perf_counter()
            suite = make_suite(args.data_dir / "database", tmp / "suite", args.variants)
            print(f"\ngenerated a {args.variants}-database-per-schema suite in "
                  f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        steps = {
            "harness cold": cold([pred], suite),
            "harness warm": warm([pred], suite),
            "warm, gold only": gold_only(warm([pred], suite)),
        }
        if official:
            cmd = official_cmd(official, data, pred, suite, "exec", args.plug_value)
            steps["official"] = lambda: run(cmd, env)
        measure("test suite, harness EX + TS + EM vs official --etype exec", args.repeats, steps)
    if args.workload in ("files", "all"):
        # Ten different files (corpus picks with seeds 1-10), both ways from the same cache:
        # the gold results, none of these files' verdicts.
        files = [derived_predictions(args.data_dir, tmp / f"model{k}.sql", k) for k in range(1, 11)]
        shutil.rmtree(cache, ignore_errors=True)
        native([pred])
        steps = {
            "10 --pred": gold_only(lambda: native(files)),
            "10 runs": gold_only(
                lambda: functools.reduce(operator.add, map(native, ([f] for f in files)))
            ),
        }
        title = "ten different prediction files, gold results cached"
        medians = measure(title, args.repeats, steps)
        ratio = medians["10 runs"].wall / medians["10 --pred"].wall
        print(f"  10 runs / 10 --pred  {ratio:5.1f}x wall")


if __name__ == "__main__":
    main()
