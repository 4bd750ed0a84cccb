"""Distillation: keep a random database only if it tells apart a neighbour of some gold
query that no database kept so far (the original included) tells apart.

Every kept database runs every gold query without error and unambiguously: the same way
when SQLite scans tables in reverse (`PRAGMA reverse_unordered_selects`, which catches
e.g. a bare column beside an aggregate) and with ties under ORDER BY ... LIMIT broken
either way (`ambiguity.py`). A gold whose answer depends on scan order would make the
suite reject correct predictions, so such a database is not kept.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from harness.hashing import sha256_file
from harness.io import sync_file
from harness.scoring.exec_match import results_equal
from harness.scoring.official_compat import order_matters
from harness.testsuite.ambiguity import tie_breaking_pairs
from harness.testsuite.dbinfo import DatabaseInfo, read_database
from harness.testsuite.fuzz import fuzz_tables, write_database
from harness.testsuite.literals import limited_order_keys, typed_literals
from harness.testsuite.neighbors import neighbor_queries
from harness.testsuite.run import Outcome, Runner

ALGORITHM = "harness-testsuite/1"


@dataclass(frozen=True)
class Budget:
    max_databases: int = 100  # kept random databases per schema (the original comes extra)
    max_candidates: int = 300  # random databases tried per schema
    patience: int = 30  # stop after this many candidates in a row that tell nothing apart
    gold_timeout_s: float = 10.0
    neighbor_timeout_s: float = 2.0


@dataclass
class DatabaseReport:
    db_id: str
    seed: int
    algorithm: str
    gold_queries: int
    gold_failing_on_original: list[str]
    neighbors: int
    told_apart_by_original: int
    undistinguished: int
    undistinguished_sample: list[dict[str, str]]
    candidates_tried: int
    candidates_rejected: int  # a gold failed or depended on scan order there
    files: list[dict[str, object]] = field(default_factory=list)  # name, sha256, distinguishes
    seconds: float = 0.0


def _tables_of(sql: str) -> set[str]:
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return set()
    return {t.name.lower() for t in tree.find_all(exp.Table)} if tree else set()


def _columns_for(sql: str, info: DatabaseInfo) -> set[str]:
    tables = _tables_of(sql) or set(info.tables)
    return {c for (t, c) in info.values if t in tables}


def _differs(gold: Outcome, other: Outcome, ordered: bool) -> bool | None:
    """True if `other` is told apart from gold; None when it timed out (no verdict)."""
    if other.status == "timeout":
        return None
    if other.status != "ok" or other.rows is None or gold.rows is None:
        return True
    return not results_equal(gold.rows, other.rows, ordered)


def _rounded(outcome: Outcome) -> Outcome:
    """Floats to 10 significant digits: summing in another order moves the last bits of an
    AVG or SUM, which is not an ambiguity of the query."""
    if outcome.rows is None:
        return outcome
    rows = [
        tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row)
        for row in outcome.rows
    ]
    return Outcome(outcome.status, rows)


def _gold_results(path: Path, golds: list[str], budget: Budget) -> list[Outcome] | None:
    """Each gold's result on `path`, or None if one fails or depends on scan order."""
    runner, reverse = Runner(path), Runner(path, reverse_scans=True)
    try:
        results = []
        for sql in golds:
            first = runner.run(sql, budget.gold_timeout_s)
            if first.status != "ok":
                return None
            again = reverse.run(sql, budget.gold_timeout_s)
            if _differs(_rounded(first), _rounded(again), order_matters(sql)) is not False:
                return None
            width = len(first.rows[0]) if first.rows else None
            for asc, desc in tie_breaking_pairs(sql, width):
                a, b = (
                    runner.run(asc, budget.gold_timeout_s),
                    runner.run(desc, budget.gold_timeout_s),
                )
                if a.status == b.status == "ok" and _differs(
                    _rounded(a), _rounded(b), order_matters(sql)
                ):
                    return None
            results.append(first)
        return results
    finally:
        runner.close()
        reverse.close()


def distill_database(
    db_id: str, original: Path, gold_sqls: list[str], out_dir: Path, seed: int, budget: Budget
) -> DatabaseReport:
    """Build `out_dir` = the original database (a byte copy) + the kept random ones."""
    started = time.perf_counter()
    info = read_database(original)
    golds = list(dict.fromkeys(gold_sqls))
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.sqlite*"):
        stale.unlink()
    shutil.copyfile(original, out_dir / f"{db_id}.sqlite")

    on_original = Runner(original)
    gold_out = [on_original.run(g, budget.gold_timeout_s) for g in golds]
    failing = [g for g, o in zip(golds, gold_out, strict=True) if o.status != "ok"]
    usable = [(g, o) for g, o in zip(golds, gold_out, strict=True) if o.status == "ok"]
    with tempfile.TemporaryDirectory(prefix="harness-ts-") as tmp:
        empty = Path(tmp) / "empty.sqlite"
        write_database(info, {}, empty)
        schema_only = Runner(empty)
        pending: list[tuple[int, str]] = []  # (gold index, neighbour) not yet told apart
        n_neighbors = told_by_original = 0
        for gi, (gold, result) in enumerate(usable):
            for q in neighbor_queries(gold, _columns_for(gold, info)):
                if schema_only.run(q, budget.neighbor_timeout_s).status != "ok":
                    continue
                n_neighbors += 1
                if _differs(result, on_original.run(q, budget.neighbor_timeout_s),
                            order_matters(gold)):  # fmt: skip
                    told_by_original += 1
                else:
                    pending.append((gi, q))
        schema_only.close()
    on_original.close()

    report = DatabaseReport(
        db_id=db_id, seed=seed, algorithm=ALGORITHM, gold_queries=len(golds),
        gold_failing_on_original=failing, neighbors=n_neighbors,
        told_apart_by_original=told_by_original, undistinguished=0,
        undistinguished_sample=[], candidates_tried=0, candidates_rejected=0,
    )  # fmt: skip
    candidate = out_dir / "candidate.sqlite"
    literals = typed_literals(golds, info)
    sort_keys, group_keys = limited_order_keys(golds, info)
    spread, grouped = frozenset(sort_keys), frozenset(group_keys)
    idle = 0
    gold_sqls_usable = [g for g, _ in usable]
    while pending and report.candidates_tried < budget.max_candidates:
        if len(report.files) >= budget.max_databases or idle >= budget.patience:
            break
        rng = random.Random(f"{seed}:{db_id}:{report.candidates_tried}")
        report.candidates_tried += 1
        write_database(info, fuzz_tables(info, literals, rng, spread, grouped), candidate)
        results = _gold_results(candidate, gold_sqls_usable, budget)
        if results is None:  # not counted against patience: it said nothing either way
            report.candidates_rejected += 1
            candidate.unlink()
            continue
        runner = Runner(candidate)
        told: set[tuple[int, str]] = set()
        for gi, q in pending:
            ordered = order_matters(gold_sqls_usable[gi])
            if _differs(results[gi], runner.run(q, budget.neighbor_timeout_s), ordered):
                told.add((gi, q))
        runner.close()
        if not told:
            candidate.unlink()
            idle += 1
            continue
        idle = 0
        name = f"{db_id}_ts{len(report.files) + 1:03d}.sqlite"
        sync_file(candidate)  # kept: durable before its name says so
        candidate.rename(out_dir / name)
        report.files.append({"name": name, "sha256": sha256_file(out_dir / name),
                             "distinguishes": len(told)})  # fmt: skip
        pending = [item for item in pending if item not in told]
    candidate.unlink(missing_ok=True)
    report.undistinguished = len(pending)
    report.undistinguished_sample = [
        {"gold": gold_sqls_usable[gi], "neighbor": q} for gi, q in pending[:20]
    ]
    report.seconds = round(time.perf_counter() - started, 2)
    return report
