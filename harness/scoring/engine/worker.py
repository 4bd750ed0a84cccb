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
from harness.scoring.engine.gold_cache import CacheStats, GoldCache, cache_key
from harness.scoring.engine.sandbox import ExecResult, Limits, execute, open_readonly
from harness.scoring.options import ScoreOptions


@dataclass(frozen=True)
class JudgeTask:
    example: Example
    pred_sql: str  # the prediction as given (raw text, not preprocessed)
    options: ScoreOptions
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
    _cache_error: str | None = field(default=None, repr=False)  # why it could not open
    cache_stats: CacheStats = field(default_factory=CacheStats, repr=False)
    memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    # False once a query of the current task timed out or crashed: its row then depends
    # on the clock and must not be stored for reuse.
    settled: bool = field(default=True, repr=False)

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
        result = execute(self.connection(db_path), sql, self._limits(timeout_s))
        if result.status in ("timeout", "crash"):
            self.settled = False
        return result

    def gold(self, db_path: Path, sql: str, timeout_s: float | None = None) -> ExecResult:
        """The gold query's result, from the cache when it holds it. A cache that cannot be
        opened, read or written costs time, never the verdict: the query is run instead."""
        sha = self.db_sha256.get(str(db_path))
        if self.cache_dir is None or sha is None:
            return self.run(db_path, sql, timeout_s)
        stats = self.cache_stats
        key = cache_key(sha, sql)
        cache = self._open_cache()
        if cache is None:
            stats.failed(self._cache_error or "the cache is not open")
            return self.run(db_path, sql, timeout_s)
        try:
            hit = cache.get(key)
        except sqlite3.Error as exc:
            stats.failed(_describe(exc))
            return self.run(db_path, sql, timeout_s)
        if hit is not None:
            stats.hits += 1
            return hit
        stats.misses += 1
        result = self.run(db_path, sql, timeout_s)
        cache.put(key, result)  # written at the end of the task (take_cache_stats)
        return result

    def _open_cache(self) -> GoldCache | None:
        if self._cache is None and self._cache_error is None and self.cache_dir is not None:
            try:
                self._cache = GoldCache(self.cache_dir)
            except sqlite3.Error as exc:
                self._cache_error = f"opening {self.cache_dir}: {_describe(exc)}"
        return self._cache

    def take_cache_stats(self) -> CacheStats:
        """Write the task's new gold results, and return the stats since the last call
        (each task's share travels back with its row)."""
        if self._cache is not None:
            try:
                self._cache.flush()
            except sqlite3.Error as exc:  # a full disk or a lock held too long: not stored
                self.cache_stats.failed(_describe(exc))
        stats, self.cache_stats = self.cache_stats, CacheStats()
        return stats


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_CONTEXT: WorkerContext | None = None


def init_worker(context: WorkerContext) -> None:
    """Pool initializer: install this process's context."""
    global _CONTEXT
    _CONTEXT = context


def current_context() -> WorkerContext:
    if _CONTEXT is None:
        raise RuntimeError("scoring worker used before init_worker")
    return _CONTEXT
