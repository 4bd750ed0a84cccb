"""Run one untrusted SQL query against a read-only SQLite database, within limits.

Predicted SQL is hostile input. Every connection from `open_readonly` is sandboxed in
layers, each of which alone would stop a write:

1. the database is opened through a ``file:`` URI with ``mode=ro&immutable=1`` (no
   journal, WAL or lock files are ever created next to it);
2. ``PRAGMA query_only`` is on and ``SQLITE_LIMIT_ATTACHED`` is 0;
3. an authorizer allows reads, SELECT, functions and recursive CTEs and denies
   everything else: writes, CREATE/DROP/ALTER of anything (temp objects included),
   ATTACH/DETACH (and so VACUUM, which attaches its target), transactions and
   savepoints, ANALYZE/REINDEX, every PRAGMA outside a short read-only allow-list,
   and the functions ``load_extension`` and ``fts3_tokenizer``;
4. extension loading is disabled on the connection.

`execute` then bounds each query: a progress handler aborts SQLite itself once the
wall-clock deadline passes (status ``timeout``), SQLITE_LIMIT_LENGTH caps any single
string or blob (an ``error``), and the result is fetched in chunks whose row count and
approximate size are checked as they arrive (``too_large``). A hard kill of a worker that
gets stuck anyway is the job of `harness.scoring.engine.pool`.

Result semantics match the official Spider evaluator (test-suite-sql-eval,
exec_eval.py), which runs ``cursor.execute(query)`` then ``fetchall()`` on a connection
whose ``text_factory`` is ``lambda b: b.decode(errors="ignore")``: same single-statement
rule, same Python values, same row order. Deliberate deviations, all on non-SELECT input
only: statements that write, change the schema or attach files fail with
"not authorized" instead of running.

Table-valued functions. SQLite builds the virtual table behind ``json_each``,
``pragma_table_info`` and the like on its first use in a connection, through what the
authorizer sees as an UPDATE of ``sqlite_master`` -- the same calls a real schema write
makes. `open_readonly` therefore builds the read-only ones (``json_each``, ``json_tree``,
``generate_series`` where SQLite has it built in, and ``pragma_<name>`` for the pragmas the
authorizer allows) before it installs the authorizer; a query may then use them, while any
other virtual table (``dbstat``, ``pragma_journal_mode``, fts/rtree tables...) would need
that schema write and stays denied.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.errors import DataError

Status = Literal["ok", "error", "timeout", "too_large", "crash"]

# SQLite calls the progress handler every this many VM instructions (~0.1 ms of work):
# frequent enough for a prompt stop, rare enough to cost nothing measurable.
PROGRESS_STEPS = 10_000

# Rough per-value and per-row cost of a fetched result held as Python objects.
_VALUE_OVERHEAD = 16
_ROW_OVERHEAD = 56
_FIRST_CHUNK = 256
_MAX_CHUNK = 4096

# Pragmas that only describe the schema. Their argument is a table or index name, so any
# argument form is a read.
_SCHEMA_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "collation_list",
    }
)
# Pragmas that are reads only when called without an argument (``PRAGMA user_version``
# reads, ``PRAGMA user_version = 5`` writes).
_READ_ONLY_WHEN_BARE = frozenset(
    {"user_version", "schema_version", "application_id", "encoding", "page_count", "page_size"}
)
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})
# Read-only table-valued functions built up front (see the module docstring). A pragma_*
# function still passes the authorizer's PRAGMA check on every use, argument included.
_TABLE_FUNCTIONS = (
    "json_each",
    "json_tree",
    "generate_series",
    *sorted(f"pragma_{name}" for name in _SCHEMA_PRAGMAS | _READ_ONLY_WHEN_BARE),
)
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE})


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0  # wall-clock per query
    max_rows: int = 1_000_000  # more rows -> "too_large"
    max_bytes: int = 256 * 2**20  # rough in-memory size of the fetched result -> "too_large"
    max_value_bytes: int = 64 * 2**20  # SQLITE_LIMIT_LENGTH: a longer string/blob -> "error"


@dataclass
class ExecResult:
    status: Status
    rows: list[tuple] | None
    error: str | None  # SQLite's (or Python's) message, e.g. "no such column: foo"
    elapsed_s: float


class _ResultTooLarge(Exception):
    pass


def _decode_text(raw: bytes) -> str:
    # The official evaluator's text_factory, verbatim in behaviour.
    return raw.decode(errors="ignore")


class _QueryGuard:
    """Per-query state shared by the progress handler and the counting text factory.

    Kept apart from the connection so the callbacks hold no reference back to it.
    """

    __slots__ = ("deadline", "text_budget", "text_bytes", "timed_out")

    def __init__(self) -> None:
        self.deadline = 0.0
        self.timed_out = False
        self.text_bytes = 0
        self.text_budget = 0

    def arm(self, limits: Limits) -> None:
        self.deadline = time.monotonic() + limits.timeout_s
        self.timed_out = False
        self.text_bytes = 0
        self.text_budget = limits.max_bytes

    def progress(self) -> int:
        if time.monotonic() > self.deadline:
            self.timed_out = True
            return 1  # non-zero makes SQLite abort the statement ("interrupted")
        return 0

    def decode_text(self, raw: bytes) -> str:
        # Counting here stops a result made of huge strings in the middle of a fetchmany
        # call, before it is all in memory.
        self.text_bytes += len(raw)
        if self.text_bytes > self.text_budget:
            raise _ResultTooLarge
        return raw.decode(errors="ignore")


class SandboxConnection(sqlite3.Connection):
    """A `sqlite3.Connection` made by `open_readonly`; carries its query guard."""

    guard: _QueryGuard


def _authorize(
    action: int, arg1: str | None, arg2: str | None, db_name: str | None, source: str | None
) -> int:
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        if (arg2 or "").lower() in _DENIED_FUNCTIONS:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in _SCHEMA_PRAGMAS or (name in _READ_ONLY_WHEN_BARE and arg2 is None):
            return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def readonly_uri(db_path: Path) -> str:
    """The ``file:`` URI that opens `db_path` read-only and immutable."""
    quoted = urllib.parse.quote(str(db_path.resolve()), safe="/")
    return f"file:{quoted}?mode=ro&immutable=1"


def open_readonly(db_path: Path, reverse_scans: bool = False) -> sqlite3.Connection:
    """Open a sandboxed connection to an existing SQLite file.

    Open one per database per worker and reuse it: `execute` resets all per-query state.
    ``immutable=1`` tells SQLite the file cannot change while open, so it takes no locks
    and ignores any ``-wal`` file; benchmark databases are static files.
    `reverse_scans` turns on ``PRAGMA reverse_unordered_selects`` (ties and unordered scans
    come out in the other order), set here because no query may run a PRAGMA.
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise DataError(f"database file not found: {db_path}")
    try:
        conn = sqlite3.connect(
            readonly_uri(db_path), uri=True, isolation_level=None, factory=SandboxConnection
        )
    except sqlite3.Error as exc:
        raise DataError(f"cannot open database {db_path}: {exc}") from exc
    assert isinstance(conn, SandboxConnection)
    conn.guard = _QueryGuard()
    if hasattr(conn, "enable_load_extension"):  # absent when Python lacks extension support
        conn.enable_load_extension(False)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.execute("PRAGMA query_only = ON")
    if reverse_scans:
        conn.execute("PRAGMA reverse_unordered_selects = ON")
    _build_table_functions(conn)
    conn.set_authorizer(_authorize)
    conn.text_factory = _decode_text
    return conn


def _build_table_functions(conn: sqlite3.Connection) -> None:
    # Preparing a statement that names the function is what builds its virtual table; it
    # is never stepped. A function this SQLite lacks stays "no such table", as in sqlite3.
    for name in _TABLE_FUNCTIONS:
        with contextlib.suppress(sqlite3.Error):
            conn.execute(f"SELECT 1 FROM {name} LIMIT 0").close()


def execute(conn: sqlite3.Connection, sql: str, limits: Limits) -> ExecResult:
    """Run one query on a connection from `open_readonly`; never raises for bad SQL.

    Rows come back as plain ``fetchall()`` would return them (tuples in SQLite's order,
    SQLite's Python types, text decoded with invalid UTF-8 dropped).
    """
    if not isinstance(conn, SandboxConnection):
        raise TypeError("execute() needs a connection made by open_readonly()")
    guard = conn.guard
    started = time.perf_counter()
    status: Status = "ok"
    rows: list[tuple] | None = None
    error: str | None = None
    cursor: sqlite3.Cursor | None = None
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.max_value_bytes)
    guard.arm(limits)
    conn.set_progress_handler(guard.progress, PROGRESS_STEPS)
    conn.text_factory = guard.decode_text
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        rows = _fetch_within(cursor, limits, guard)
        if rows is None:
            status = "too_large"
    except _ResultTooLarge:
        status = "too_large"
    except Exception as exc:  # any failure of the query is a verdict, not a crash
        if guard.timed_out:
            status = "timeout"
        else:
            status, error = "error", str(exc)
    finally:
        _reset(conn, cursor)
    if status != "ok":
        rows = None
        if status == "timeout":
            error = f"query exceeded {limits.timeout_s:g} s"
        elif status == "too_large":
            error = f"result exceeded {limits.max_rows} rows or ~{limits.max_bytes} bytes"
    return ExecResult(status, rows, error, time.perf_counter() - started)


def _fetch_within(cursor: sqlite3.Cursor, limits: Limits, guard: _QueryGuard) -> list | None:
    """All rows, or None once the row or byte budget is exceeded."""
    if cursor.description is None:  # a statement without a result (all such are denied)
        return cursor.fetchall()
    n_cols = len(cursor.description)
    rows: list[tuple] = []
    blob_bytes = 0
    chunk = min(_FIRST_CHUNK, limits.max_rows + 1)
    while True:
        batch = cursor.fetchmany(chunk)
        rows.extend(batch)
        if len(rows) > limits.max_rows:
            return None
        blob_bytes += sum(len(v) for row in batch for v in row if type(v) is bytes)
        overhead = len(rows) * (_ROW_OVERHEAD + n_cols * _VALUE_OVERHEAD)
        used = guard.text_bytes + blob_bytes + overhead
        if used > limits.max_bytes:
            return None
        if len(batch) < chunk:
            return rows
        # Size the next chunk so that rows like the ones seen so far cannot overshoot the
        # byte budget by much before the next check.
        per_row = max(1, used // len(rows))
        room = (limits.max_bytes - used) // per_row
        chunk = max(1, min(_MAX_CHUNK, room // 2 + 1, limits.max_rows + 1 - len(rows)))


def _reset(conn: sqlite3.Connection, cursor: sqlite3.Cursor | None) -> None:
    # Leave the connection as open_readonly made it, whatever the query did.
    if cursor is not None:
        with contextlib.suppress(sqlite3.Error):
            cursor.close()
    conn.set_progress_handler(None, 0)
    conn.text_factory = _decode_text
    if conn.in_transaction:
        conn.rollback()
