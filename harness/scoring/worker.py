"""What a scoring worker process holds: sandboxed connections, the gold cache, the task.

One `WorkerContext` lives in each worker process (set up by `init_worker`), so
connections and parsed schemas are reused across that worker's examples.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.records import Example
from harness.scoring.gold_cache import GoldCache, cache_key
from harness.scoring.sandbox import ExecResult, Limits, execute, open_readonly


@dataclass(frozen=True)
class JudgeTask:
    example: Example
    pred_sql: str  # the prediction as given (raw text, not preprocessed)
    options: Any  # harness.scoring.scorer.ScoreOptions (kept untyped to avoid a cycle)
    vote: bool = False  # a sample of several: also compute its majority-vote key


@dataclass
class WorkerContext:
    limits: Limits
    db_sha256: dict[str, str]  # str(path) -> sha256, computed once by the parent
    tables: dict[str, dict[str, Any]]  # db_id -> tables.json entry
    cache_dir: Path | None = None
    family: str = "spider"
    _conns: dict[str, sqlite3.Connection] = field(default_factory=dict, repr=False)
    _cache: GoldCache | None = field(default=None, repr=False)
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)

    def connection(self, db_path: Path) -> sqlite3.Connection:
        key = str(db_path)
        conn = self._conns.get(key)
        if conn is None:
            conn = open_readonly(db_path)
            self._conns[key] = conn
        return conn

    def _limits(self, timeout_s: float | None) -> Limits:
        if timeout_s is None or timeout_s == self.limits.timeout_s:
            return self.limits
        return Limits(
            timeout_s=timeout_s,
            max_rows=self.limits.max_rows,
            max_bytes=self.limits.max_bytes,
            max_value_bytes=self.limits.max_value_bytes,
        )

    def run(self, db_path: Path, sql: str, timeout_s: float | None = None) -> ExecResult:
        return execute(self.connection(db_path), sql, self._limits(timeout_s))

    def gold(self, db_path: Path, sql: str, timeout_s: float | None = None) -> ExecResult:
        sha = self.db_sha256.get(str(db_path))
        if self.cache_dir is None or sha is None:
            return self.run(db_path, sql, timeout_s)
        if self._cache is None:
            self._cache = GoldCache(self.cache_dir)
        key = cache_key(sha, sql)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self.run(db_path, sql, timeout_s)
        self._cache.put(key, result)
        return result


_CONTEXT: WorkerContext | None = None


def init_worker(context: WorkerContext) -> None:
    """Pool initializer: install this process's context."""
    global _CONTEXT
    _CONTEXT = context


def current_context() -> WorkerContext:
    if _CONTEXT is None:
        raise RuntimeError("scoring worker used before init_worker")
    return _CONTEXT
