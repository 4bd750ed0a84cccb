"""Overhead of the sandbox and the crash-proof pool, against plain loops in the same run.

    python bench/pool_overhead.py [--db PATH.sqlite] [--tasks N] [--jobs J]

Prints three figures, each next to its reference:
1. `sandbox.execute` vs plain sqlite3 (cursor.execute + fetchall) on the same queries;
2. pool start-up: time to the first result, forkserver (cold server and warm) and spawn;
3. pool per-task cost vs an in-process loop over the same tasks.
Uses Spider dev's concert_singer database when ../shared/data is present, else builds one.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from harness.scoring.engine import pool as pool
from harness.scoring.engine.sandbox import Limits, execute, open_readonly

REPO = Path(__file__).resolve().parent.parent
SPIDER_DB = REPO.parent / "shared/data/spider/database/concert_singer/concert_singer.sqlite"
QUERIES = [
    "SELECT count(*) FROM singer",
    "SELECT name, country, age FROM singer ORDER BY age DESC",
    "SELECT avg(age), min(age), max(age) FROM singer WHERE country = 'France'",
    "SELECT T2.name, count(*) FROM concert AS T1 JOIN stadium AS T2 "
    "ON T1.stadium_id = T2.stadium_id GROUP BY T1.stadium_id",
    "SELECT name FROM stadium WHERE stadium_id NOT IN (SELECT stadium_id FROM concert)",
]
_CONN: sqlite3.Connection | None = None


def _build_db(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE singer(singer_id INT PRIMARY KEY, name TEXT, country TEXT, age INT);
        CREATE TABLE stadium(stadium_id INT PRIMARY KEY, name TEXT);
        CREATE TABLE concert(concert_id INT PRIMARY KEY, stadium_id INT);
        """
    )
    conn.executemany(
        "INSERT INTO singer VALUES (?, ?, ?, ?)",
        [(i, f"s{i}", ["France", "Japan", "Peru"][i % 3], 20 + i % 40) for i in range(200)],
    )
    conn.executemany("INSERT INTO stadium VALUES (?, ?)", [(i, f"st{i}") for i in range(20)])
    conn.executemany("INSERT INTO concert VALUES (?, ?)", [(i, i % 15) for i in range(100)])
    conn.commit()
    conn.close()


def noop_task(x: int) -> int:
    return x


def query_task(task: tuple[str, str]) -> int:
    global _CONN
    db, sql = task
    if _CONN is None:
        _CONN = open_readonly(Path(db))
    result = execute(_CONN, sql, Limits())
    return len(result.rows or ())


def on_failure(task: object, reason: str) -> int:
    raise RuntimeError(f"benchmark task failed: {reason}")


def _best(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_execute(db: Path, rounds: int) -> None:
    plain = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    plain.text_factory = lambda b: b.decode(errors="ignore")
    sandboxed = open_readonly(db)
    limits = Limits()
    queries = QUERIES * rounds

    def run_plain() -> None:
        for sql in queries:
            plain.cursor().execute(sql).fetchall()

    def run_sandboxed() -> None:
        for sql in queries:
            execute(sandboxed, sql, limits)

    t_plain = _best(run_plain)
    t_sand = _best(run_sandboxed)
    n = len(queries)
    print(
        f"execute(): {t_sand / n * 1e6:.1f} us/query vs plain sqlite3 {t_plain / n * 1e6:.1f} "
        f"us/query -> overhead {(t_sand - t_plain) / n * 1e6:+.1f} us/query "
        f"(ratio {t_sand / t_plain:.2f})"
    )


def _first_result_s(jobs: int) -> float:
    t0 = time.perf_counter()
    results = pool.run_isolated(noop_task, list(range(jobs)), jobs, 60.0, on_failure)
    next(results)
    elapsed = time.perf_counter() - t0
    for _ in results:
        pass
    return elapsed


def bench_startup(jobs: int) -> None:
    cold = _first_result_s(jobs)
    warm = statistics.median(_first_result_s(jobs) for _ in range(5))
    pool.START_METHOD = "spawn"
    try:
        spawn = statistics.median(_first_result_s(jobs) for _ in range(3))
    finally:
        pool.START_METHOD = "forkserver"
    print(
        f"pool start-up (jobs={jobs}, time to first result): forkserver cold {cold * 1e3:.0f} ms, "
        f"warm {warm * 1e3:.0f} ms; spawn {spawn * 1e3:.0f} ms"
    )


def bench_per_task(db: Path, n: int, jobs: int) -> None:
    for label, fn, tasks in [
        ("no-op", noop_task, list(range(n))),
        ("sqlite query", query_task, [(str(db), QUERIES[i % len(QUERIES)]) for i in range(n)]),
    ]:
        t0 = time.perf_counter()
        for task in tasks:
            fn(task)
        t_loop = time.perf_counter() - t0
        start = _first_result_s(jobs)  # subtract start-up measured just before
        t0 = time.perf_counter()
        out = dict(pool.run_isolated(fn, tasks, jobs, 60.0, on_failure))
        t_pool = time.perf_counter() - t0
        assert len(out) == n
        cpu_per_task = (t_pool - start) * jobs / n
        print(
            f"{label} x{n}: in-process loop {t_loop / n * 1e6:.1f} us/task; pool(jobs={jobs}) "
            f"wall {t_pool:.3f} s = {(t_pool - start) / n * 1e6:.1f} us/task after start-up, "
            f"{cpu_per_task * 1e6:.1f} worker-us/task "
            f"(overhead ~{(cpu_per_task - t_loop / n) * 1e6:+.1f} us/task)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            if SPIDER_DB.is_file():
                db = SPIDER_DB
            else:
                db = Path(tmp) / "bench.sqlite"
                _build_db(db)
        print(f"database: {db}  (cpus: {os.cpu_count()})")
        bench_execute(db, rounds=200)
        bench_startup(args.jobs)
        bench_per_task(db, args.tasks, args.jobs)


if __name__ == "__main__":
    main()
