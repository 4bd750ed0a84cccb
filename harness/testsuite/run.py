"""Running the suite's own queries (gold and its neighbours) on databases it generated.

These queries are derived from gold, not from a model, but a dropped join condition can
still make a huge cross product: each runs in scoring's sandbox (read-only, a time and a
row budget), so a query counts as failing, timing out or too large exactly as the scorer
will count it on the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.scoring.engine import sandbox

MAX_ROWS = 100_000


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | error | timeout | too_large
    rows: list[tuple] | None = None


class Runner:
    """One sandboxed connection to a database file, reused for many queries."""

    def __init__(self, path: Path, reverse_scans: bool = False) -> None:
        # reverse_scans: a query whose result depends on scan order gives another answer.
        self.conn = sandbox.open_readonly(path, reverse_scans=reverse_scans)

    def run(self, sql: str, timeout_s: float) -> Outcome:
        limits = sandbox.Limits(timeout_s=timeout_s, max_rows=MAX_ROWS)
        result = sandbox.execute(self.conn, sql, limits)
        return Outcome(result.status, result.rows)

    def close(self) -> None:
        self.conn.close()
