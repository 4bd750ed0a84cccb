"""On-disk cache of gold query results, keyed by database sha256 + the exact SQL run.

Re-scoring a benchmark then executes only the predictions. Only deterministic outcomes
(rows or an SQL error) are stored; a timeout depends on the machine and is not.

The file is created, switched to WAL and given its table once, by the scoring process
before any worker starts (`prepare_cache`): two workers doing that at once race on the
journal-mode change, and the loser's "database is locked" used to cost its example a
wrong verdict. Workers only open the prepared file (`GoldCache`), and a cache that fails
anyway is never a verdict: the caller runs the gold query instead and counts the failure
(`CacheStats`), which the summary reports.
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from harness.io import cache_root
from harness.scoring.engine.sandbox import ExecResult

SCHEMA_VERSION = 2
FILE_NAME = "gold-results.sqlite"
# How long a cache statement waits for another process's write lock. Short: a cache that
# stays locked is bypassed (the gold query is run), which is cheap, never wrong.
BUSY_TIMEOUT_S = 5.0
_PREPARE_TRIES = 5


def default_cache_dir() -> Path:
    return cache_root()


def cache_key(db_sha256: str, sql: str) -> str:
    return hashlib.sha256(f"v{SCHEMA_VERSION}\0{db_sha256}\0{sql}".encode()).hexdigest()


@dataclass
class CacheStats:
    """What the cache did for a set of gold lookups: `failures` counts lookups whose cache
    read or write failed (the gold query was then executed); `first_failure` says why."""

    hits: int = 0
    misses: int = 0
    failures: int = 0
    first_failure: str | None = None

    def failed(self, reason: str) -> None:
        self.failures += 1
        if self.first_failure is None:
            self.first_failure = reason

    def add(self, other: CacheStats) -> None:
        self.hits += other.hits
        self.misses += other.misses
        self.failures += other.failures
        if self.first_failure is None:
            self.first_failure = other.first_failure


def prepare_cache(directory: Path) -> str | None:
    """Create the cache file (WAL, table) if needed; None when ready, else why it is not.

    Runs in the scoring process before workers start. Another scoring run preparing the
    same file at the same moment is retried, not fatal.
    """
    path = directory / FILE_NAME
    last: Exception | None = None
    for attempt in range(_PREPARE_TRIES):
        try:
            directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                for table in ("gold", "verdicts"):  # verdicts: see verdict_cache.py
                    conn.execute(
                        f"CREATE TABLE IF NOT EXISTS {table} "
                        "(key TEXT PRIMARY KEY, payload BLOB NOT NULL)"
                    )
            finally:
                conn.close()
            return None
        except (sqlite3.Error, OSError) as exc:
            last = exc
            time.sleep(0.05 * (attempt + 1))
    return f"{path}: {type(last).__name__}: {last}"


class GoldCache:
    """A worker's connection to a cache file that `prepare_cache` set up. It never creates
    the file or changes its journal mode; every method may raise sqlite3.Error."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()), safe='/')}?mode=rw"
        self._conn = sqlite3.connect(
            uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        # A connection setting, not a change to the file. In WAL mode NORMAL cannot corrupt
        # the cache; a crash may only lose the last writes (misses next time), where FULL
        # pays an fsync per stored result (about 1 s per thousand on this class of disk).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._pending: dict[str, bytes] = {}

    def get(self, key: str) -> ExecResult | None:
        payload = self._pending.get(key)
        if payload is None:
            row = self._conn.execute("SELECT payload FROM gold WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            payload = row[0]
        try:
            status, rows, error, elapsed = pickle.loads(payload)
        except Exception:  # a corrupt or older entry is a miss, not a failed run
            return None
        # The gold's own run time is kept: BIRD's time budget is relative to it.
        return ExecResult(status=status, rows=rows, error=error, elapsed_s=elapsed)

    def put(self, key: str, result: ExecResult) -> None:
        """Queue a result; `flush` writes the queue (one transaction per task, not one per
        query: a test suite stores ~40 results per example)."""
        if result.status not in ("ok", "error"):
            return
        self._pending[key] = pickle.dumps(
            (result.status, result.rows, result.error, result.elapsed_s), protocol=5
        )

    def flush(self) -> None:
        if not self._pending:
            return
        items, self._pending = list(self._pending.items()), {}
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO gold (key, payload) VALUES (?, ?)", items
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._conn.close()
