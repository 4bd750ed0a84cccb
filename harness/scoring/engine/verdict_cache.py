"""Verdicts already reached, reused: a row is a pure function of what its key names.

A Spider row depends only on the prediction and gold text, the bytes of every database
it ran on, the schema entry, the options that change a verdict, and the code and library
versions that judge it. `verdict_key` hashes exactly those; a re-score of the same
predictions (or of a file sharing many of them, or a duplicate within one file) then
copies the row instead of judging it again. Rows whose outcome depended on the clock
(a query that timed out, a worker that crashed or hung, a judge error) are never stored.
BIRD rows are not reused at all: their time limits are relative to the gold's measured run
time (see Family.reusable_verdicts).

The rows live beside the gold results, in the cache file `gold_cache.prepare_cache` set up;
only the scoring process reads and writes them (before and after the workers run), so
workers never contend for them. A failure here costs time, never a verdict: the rows are
judged as if nothing were cached, and the failure is counted.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from harness.records import Row
from harness.scoring.engine.gold_cache import BUSY_TIMEOUT_S, FILE_NAME, CacheStats

VERDICT_VERSION = 1
_BATCH = 500


@cache
def code_fingerprint() -> str:
    """Every source file that can change a verdict, and the libraries they lean on."""
    import importlib.util

    # sqlglot's version file, read rather than imported: importing it (or asking
    # importlib.metadata) costs the scoring process a few tenths of a second.
    spec = importlib.util.find_spec("sqlglot")
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    version_file = origin.parent / "_version.py" if origin is not None else None
    sqlglot_version = (
        version_file.read_bytes() if version_file is not None and version_file.is_file() else b""
    )

    digest = hashlib.sha256()
    # Every module a verdict can depend on: the scoring package and the records and
    # metric metadata it reads.
    scoring = Path(__file__).resolve().parents[1]
    package = scoring.parent
    for path in [*sorted(scoring.rglob("*.py")), package / "records.py", package / "metrics.py"]:
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    versions = (sqlite3.sqlite_version, sys.version, str(VERDICT_VERSION))
    digest.update(sqlglot_version + b"\0" + "\0".join(versions).encode())
    return digest.hexdigest()


def verdict_key(
    family: str,
    options: dict[str, Any],
    db_sha256: Sequence[str],
    schema_json: str,
    gold_sql: str,
    pred_sql: str,
) -> str:
    """`schema_json`: the example's tables.json entry as canonical JSON (sorted keys)."""
    fields = (
        code_fingerprint(),
        family,
        json.dumps(options, sort_keys=True),
        ",".join(db_sha256),
        schema_json,
        gold_sql,
        pred_sql,
    )
    # Lengths first, so no choice of texts can make two different field lists collide.
    material = json.dumps([len(f) for f in fields]) + "\0" + "\0".join(fields)
    return hashlib.sha256(material.encode()).hexdigest()


class VerdictCache:
    def __init__(self, directory: Path, stats: CacheStats) -> None:
        self.path = directory / FILE_NAME
        self.stats = stats

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")  # as in GoldCache
        return conn

    def load(self, keys: Iterable[str]) -> dict[str, Row]:
        """The stored row (its `id` is the example's that first produced it) per known key."""
        wanted = sorted(set(keys))
        found: dict[str, Row] = {}
        try:
            conn = self._connect()
            try:
                for start in range(0, len(wanted), _BATCH):
                    part = wanted[start : start + _BATCH]
                    marks = ",".join("?" * len(part))
                    query = f"SELECT key, payload FROM verdicts WHERE key IN ({marks})"
                    for key, payload in conn.execute(query, part):
                        try:
                            row = pickle.loads(payload)
                        except Exception:  # a corrupt entry is a miss
                            continue
                        if isinstance(row, dict):
                            found[key] = row
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.stats.failed(f"reading stored verdicts: {type(exc).__name__}: {exc}")
            return {}
        return found

    def store(self, rows: dict[str, Row]) -> None:
        if not rows:
            return
        items = [(k, pickle.dumps(row, protocol=5)) for k, row in rows.items()]
        try:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO verdicts (key, payload) VALUES (?, ?)", items
                )
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self.stats.failed(f"storing verdicts: {type(exc).__name__}: {exc}")
