"""`harness testsuite build`: a distilled test suite for every database of a split.

Output is the official test-suite layout, `TS_DIR/<db_id>/<db_id>.sqlite` (a byte copy of
the original) plus the kept random databases, so both `harness score --db-dir TS_DIR` and
the official evaluator's `--db TS_DIR` read it. Each database's record is written when it
is done (`TS_DIR/<db_id>/testsuite.json`); a rerun with the same settings skips finished
databases, and `TS_DIR/manifest.json` is rebuilt from those records at the end.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.benchmarks.base import load_benchmark
from harness.errors import ConfigError, DataError
from harness.hashing import sha256_file, sha256_text
from harness.io import read_json, write_json
from harness.testsuite.distill import ALGORITHM, Budget, DatabaseReport, distill_database

RECORD = "testsuite.json"


@dataclass(frozen=True)
class BuildRequest:
    bench: str
    data_dir: Path | None
    split: str
    out: Path
    seed: int = 0
    jobs: int = 0  # 0 = one process per CPU
    db_ids: tuple[str, ...] = ()
    budget: Budget = field(default_factory=Budget)


@dataclass(frozen=True)
class _Job:
    db_id: str
    original: Path
    golds: tuple[str, ...]
    fingerprint: str


def _fingerprint(request: BuildRequest, job_golds: Sequence[str], original: Path) -> str:
    """What decides a database's suite: rerun only when one of these changed."""
    parts = {
        "algorithm": ALGORITHM, "seed": request.seed, "budget": asdict(request.budget),
        "original": sha256_file(original), "golds": sha256_text("\n".join(job_golds)),
    }  # fmt: skip
    return sha256_text(json.dumps(parts, sort_keys=True))


def _done(folder: Path, fingerprint: str) -> dict[str, object] | None:
    try:
        record = read_json(folder / RECORD, DataError)
    except DataError:  # absent or torn: the database is redone
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    files = record.get("files", [])
    if not all((folder / str(f["name"])).is_file() for f in files):
        return None
    return record


def _run_job(job: _Job, out: Path, seed: int, budget: Budget) -> dict[str, object]:
    folder = out / job.db_id
    (folder / RECORD).unlink(missing_ok=True)
    report: DatabaseReport = distill_database(
        job.db_id, job.original, list(job.golds), folder, seed, budget
    )
    record = {"fingerprint": job.fingerprint, "original_sha256": sha256_file(job.original),
              **asdict(report)}  # fmt: skip
    write_json(folder / RECORD, record)  # last: the database counts as done only now
    return record


def _jobs(request: BuildRequest) -> tuple[list[_Job], list[str]]:
    try:
        bench = load_benchmark(request.bench, data_dir=request.data_dir, split=request.split)
    except TypeError as exc:
        raise ConfigError(f"cannot load {request.bench!r}: {exc}") from None
    by_db: dict[str, list[str]] = {}
    originals: dict[str, Path] = {}
    for example in bench.examples:
        by_db.setdefault(example.db_id, []).append(example.gold_sql)
        if example.db_paths:
            originals.setdefault(example.db_id, example.db_paths[0])
    wanted = list(request.db_ids) or sorted(by_db)
    unknown = [d for d in wanted if d not in by_db]
    if unknown:
        raise ConfigError(f"--db-id not in {request.bench}/{request.split}: {', '.join(unknown)}")
    missing = [d for d in wanted if d not in originals]
    jobs = [
        _Job(d, originals[d], tuple(by_db[d]), _fingerprint(request, by_db[d], originals[d]))
        for d in wanted
        if d in originals
    ]
    return jobs, missing


def build_testsuite(
    request: BuildRequest,
    on_done: Callable[[str, bool], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, object]:
    """Build (or finish) the suite; returns the manifest that was written. `on_total` hears
    how many databases there are, `on_done` each one finished (and whether it was
    already done)."""
    jobs, missing = _jobs(request)
    if not jobs:
        raise DataError(f"no database found for {request.bench}/{request.split}")
    if on_total:
        on_total(len(jobs))
    request.out.mkdir(parents=True, exist_ok=True)
    records: dict[str, dict[str, object]] = {}
    todo = []
    for job in jobs:
        record = _done(request.out / job.db_id, job.fingerprint)
        if record is None:
            todo.append(job)
        else:
            records[job.db_id] = record
            if on_done:
                on_done(job.db_id, True)
    workers = request.jobs or os.cpu_count() or 1
    if todo and workers == 1:
        for job in todo:
            records[job.db_id] = _run_job(job, request.out, request.seed, request.budget)
            if on_done:
                on_done(job.db_id, False)
    elif todo:
        # Biggest first, so one large schema does not start last and finish alone.
        todo.sort(key=lambda j: -len(j.golds))
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futures = {
                pool.submit(_run_job, job, request.out, request.seed, request.budget): job
                for job in todo
            }
            for future in as_completed(futures):
                job = futures[future]
                records[job.db_id] = future.result()
                if on_done:
                    on_done(job.db_id, False)
    manifest = _manifest(request, records, missing)
    write_json(request.out / "manifest.json", manifest)
    return manifest


def _manifest(
    request: BuildRequest, records: dict[str, dict[str, object]], missing: list[str]
) -> dict[str, object]:
    databases = {}
    size = 0
    for db_id in sorted(records):
        record = dict(records[db_id])
        record.pop("fingerprint", None)
        folder = request.out / db_id
        size += sum(p.stat().st_size for p in folder.glob("*.sqlite"))
        databases[db_id] = record
    return {
        "algorithm": ALGORITHM,
        "bench": request.bench,
        "split": request.split,
        "seed": request.seed,
        "budget": asdict(request.budget),
        "missing_db_ids": missing,
        "databases_per_schema": {d: 1 + len(r["files"]) for d, r in databases.items()},  # type: ignore[arg-type]
        "neighbors": sum(int(r["neighbors"]) for r in databases.values()),  # type: ignore[call-overload]
        "undistinguished": sum(int(r["undistinguished"]) for r in databases.values()),  # type: ignore[call-overload]
        "size_bytes": size,
        "databases": databases,
    }
