"""On-disk cache of gold query results, keyed by database sha256 + the exact SQL run.

Re-scoring a benchmark then executes only the predictions. Only deterministic outcomes
(rows or an SQL error) are stored; a timeout depends on the machine and is not.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import sqlite3
from pathlib import Path

from harness.io import cache_root
from harness.scoring.sandbox import ExecResult

SCHEMA_VERSION = 2


def default_cache_dir() -> Path:
    return cache_root()


def cache_key(db_sha256: str, sql: str) -> str:
    return hashlib.sha256(f"v{SCHEMA_VERSION}\0{db_sha256}\0{sql}".encode()).hexdigest()


class GoldCache:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "gold-results.sqlite"
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS gold (key TEXT PRIMARY KEY, payload BLOB NOT NULL)"
        )

    def get(self, key: str) -> ExecResult | None:
        row = self._conn.execute("SELECT payload FROM gold WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            status, rows, error, elapsed = pickle.loads(row[0])
        except Exception:  # a corrupt or older entry is a miss, not a failed run
            return None
        # The gold's own run time is kept: BIRD's time budget is relative to it.
        return ExecResult(status=status, rows=rows, error=error, elapsed_s=elapsed)

    def put(self, key: str, result: ExecResult) -> None:
        if result.status not in ("ok", "error"):
            return
        payload = pickle.dumps(
            (result.status, result.rows, result.error, result.elapsed_s), protocol=5
        )
        # A full disk or a locked cache must not fail scoring.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute(
                "INSERT OR REPLACE INTO gold (key, payload) VALUES (?, ?)", (key, payload)
            )

    def close(self) -> None:
        self._conn.close()
