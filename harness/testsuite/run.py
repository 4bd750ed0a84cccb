"""Running the suite's own queries (gold and its neighbours) on databases it generated.

These queries are derived from gold, not from a model, but a dropped join condition can
still make a huge cross product: every query runs read-only with a time and row budget.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

MAX_ROWS = 100_000
PROGRESS_STEPS = 10_000


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | error | timeout | too_large
    rows: list[tuple] | None = None


class Runner:
    """One read-only connection to a database file, reused for many queries."""

    def __init__(self, path: Path, reverse_scans: bool = False) -> None:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        self.conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        self.conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
        self.conn.execute("PRAGMA query_only = ON")
        if reverse_scans:
            # Ties and unordered scans come out in the other order: a query whose result
            # depends on scan order gives a different answer.
            self.conn.execute("PRAGMA reverse_unordered_selects = ON")
        self._deadline = 0.0

    def _progress(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def run(self, sql: str, timeout_s: float) -> Outcome:
        self._deadline = time.monotonic() + timeout_s
        self.conn.set_progress_handler(self._progress, PROGRESS_STEPS)
        try:
            cursor = self.conn.execute(sql)
            rows: list[tuple] = []
            while True:
                batch = cursor.fetchmany(5000)
                rows.extend(batch)
                if len(rows) > MAX_ROWS:
                    return Outcome("too_large")
                if not batch:
                    return Outcome("ok", rows)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return Outcome("timeout")
            return Outcome("error")
        except (sqlite3.Error, OverflowError, ValueError):
            return Outcome("error")
        finally:
            self.conn.set_progress_handler(None, 0)

    def close(self) -> None:
        self.conn.close()
