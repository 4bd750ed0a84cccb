"""BIRD-format scoring speed: `harness score --bench bird` against BIRD's official EX script,
on the same files in the same run.

Usage:
    BIRD_EVAL_DIR=/path/to/mini_dev/evaluation python bench/bird_speed.py \
        [--data-dir SPIDER] [--pred FILE] [--repeats 3] [--jobs N]

No BIRD database ships here, so the workload is BIRD-format data built from Spider dev:
every dev question whose database is present becomes a BIRD entry (question_id = its
position, evidence "", difficulty from its Spider hardness: easy -> simple, medium ->
moderate, hard and extra -> challenging), `dev_databases/<db>/<db>.sqlite` links to
Spider's databases, and the predictions (`--pred`, official Spider lines such as a
published file, else one parity-corpus pick per question as in score_speed.py) are
written as BIRD's official JSON (`{"0": "SQL\\t----- bird -----\\tdb_id"}`). The size is
Spider dev's (about a thousand questions; BIRD dev has 1,534), the queries are Spider's.

BIRD_EVAL_DIR is the folder of `evaluation_ex.py` and `evaluation_utils.py` from
github.com/bird-bench/mini_dev (read here at 4d970a9); it needs `pip install
func-timeout==4.3.5`. Its utils import psycopg2 and pymysql for the other dialects;
empty stand-ins are put on its path (SQLite never touches them). It runs with
`--num_cpus` = --jobs and its default 30 s `--meta_time_out`. `harness score` computes
more than it (EX, strict EX, Soft-F1 per question, bootstrap CIs): both print EX, and
the two EX figures are printed side by side. Without BIRD_EVAL_DIR, absolute times only.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from score_speed import (
    REPO,
    SEED,
    Timing,
    _become_subreaper,
    _present_examples,
    derived_predictions,
    measure,
    restricted_predictions,
    run,
)

from harness.scoring.exact_match import hardness, spider_schema

DIFFICULTY = {"easy": "simple", "medium": "moderate", "hard": "challenging", "extra": "challenging"}
SEPARATOR = "\t----- bird -----\t"


def bird_workload(spider: Path, tmp: Path, pred: Path | None) -> tuple[Path, Path, int]:
    """(BIRD-format data dir, official-JSON predictions, n) built from Spider dev."""
    out = tmp / "bird"
    kept = _present_examples(spider)
    (out / "dev_databases").mkdir(parents=True)
    for db in sorted({q["db_id"] for _, q in kept}):
        (out / "dev_databases" / db).mkdir()
        target = (spider / "database" / db / f"{db}.sqlite").resolve()
        (out / "dev_databases" / db / f"{db}.sqlite").symlink_to(target)
    schemas = {db: spider_schema(spider / "database" / db / f"{db}.sqlite") for db in
               {q["db_id"] for _, q in kept}}  # fmt: skip
    entries = [
        {"question_id": n, "db_id": q["db_id"], "question": q["question"], "evidence": "",
         "SQL": q["query"], "difficulty": DIFFICULTY[hardness(q["query"], schemas[q["db_id"]])]}
        for n, (_, q) in enumerate(kept)
    ]  # fmt: skip
    (out / "dev.json").write_text(json.dumps(entries))
    (out / "dev.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    (out / "dev_gold.sql").write_text(
        "".join(f"{one_line(e['SQL'])}\t{e['db_id']}\n" for e in entries)
    )
    tables = json.loads((spider / "tables.json").read_text())
    present = {e["db_id"] for e in entries}
    (out / "dev_tables.json").write_text(json.dumps([t for t in tables if t["db_id"] in present]))
    lines_file = (
        restricted_predictions(spider, pred, tmp / "pred.sql")
        if pred is not None
        else derived_predictions(spider, tmp / "pred.sql", SEED)
    )
    lines = lines_file.read_text().splitlines()
    official = {str(n): f"{one_line(sql)}{SEPARATOR}{e['db_id']}"
                for n, (sql, e) in enumerate(zip(lines, entries, strict=True))}  # fmt: skip
    (tmp / "predict_dev.json").write_text(json.dumps(official))
    return out, tmp / "predict_dev.json", len(entries)


def one_line(sql: str) -> str:
    return " ".join(sql.split("\t")[0].split())


def official_bird(eval_dir: Path, data: Path, pred: Path, jobs: int, tmp: Path) -> list[str]:
    python = os.environ.get("OFFICIAL_PYTHON", sys.executable)
    return [
        python, str(eval_dir / "evaluation_ex.py"), "--predicted_sql_path", str(pred),
        "--ground_truth_path", str(data / "dev_gold.sql"),
        "--db_root_path", f"{data / 'dev_databases'}/", "--num_cpus", str(jobs),
        "--diff_json_path", str(data / "dev.jsonl"), "--sql_dialect", "SQLite",
        "--output_log_path", str(tmp / "official.log"),
    ]  # fmt: skip


def stand_ins(tmp: Path) -> dict[str, str]:
    """An environment whose path has empty psycopg2/pymysql modules (imported, never used)."""
    stubs = tmp / "stubs"
    stubs.mkdir()
    for name in ("psycopg2", "pymysql"):
        (stubs / f"{name}.py").write_text("")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(stubs), env.get("PYTHONPATH", "")) if p)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared/data/spider")
    parser.add_argument("--pred", type=Path, default=None, help="official Spider lines")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0, help="0 = one per CPU")
    args = parser.parse_args()
    if not (args.data_dir / "database").is_dir():
        sys.exit(f"no Spider data at {args.data_dir} (pass --data-dir)")
    if not _become_subreaper():
        print("note: CPU seconds miss the worker processes (no PR_SET_CHILD_SUBREAPER)")
    tmp = Path(tempfile.mkdtemp(prefix="bird-speed-"))
    try:
        _bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args: argparse.Namespace, tmp: Path) -> None:
    data, pred, n = bird_workload(args.data_dir, tmp, args.pred)
    jobs = args.jobs or os.cpu_count() or 1
    eval_dir = os.environ.get("BIRD_EVAL_DIR")
    print(f"{n} BIRD-format questions (Spider dev's queries and databases), jobs={jobs}")
    cache = tmp / "cache"
    outs = iter(range(10**6))
    last_out: list[Path] = []

    def native() -> Timing:
        out = tmp / f"run-{next(outs)}"
        last_out[:] = [out]
        cmd = [sys.executable, "-m", "harness.cli", "score", "--bench", "bird",
               "--data-dir", str(data), "--pred", str(pred), "--out", str(out),
               "--gold-cache-dir", str(cache), "--jobs", str(jobs)]  # fmt: skip
        return run(cmd)

    def cold() -> Timing:
        shutil.rmtree(cache, ignore_errors=True)
        return native()

    steps = {"harness cold": cold, "harness warm": native}
    if eval_dir:
        env = stand_ins(tmp)
        cmd = official_bird(Path(eval_dir).resolve(), data, pred, jobs, tmp)
        steps["official"] = lambda: run(cmd, env, cwd=Path(eval_dir).resolve())
    else:
        print("official BIRD script: skipped (set BIRD_EVAL_DIR to mini_dev's evaluation/)")
    measure("BIRD-format predictions, EX", args.repeats, steps)
    summary = json.loads((last_out[0] / "summary.json").read_text())
    print(f"  EX: harness {100 * summary['metrics']['ex']['mean']:.2f}", end="")
    log = tmp / "official.log"
    if log.is_file():
        found = re.findall(r"^EX\s+(?:[\d.]+\s+){3}([\d.]+)", log.read_text(), re.M)
        print(f", official {found[-1]}" if found else ", official: not found in its log")
    else:
        print()


if __name__ == "__main__":
    main()
