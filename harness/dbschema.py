"""The one reader of an SQLite database's schema: its tables (in `sqlite_master` order),
their columns (name, declared type, NOT NULL), primary keys and foreign keys.

Foreign keys are resolved by SQLite's own rule: `REFERENCES parent` without a column
names the parent's primary key, column by column (the n-th child column of the key takes
the n-th primary-key column). A reference that rule cannot resolve (the parent table is
not in the database, or its primary key has another number of columns) names no column
and is left out; SQLite itself refuses to enforce it. A reference naming its column is
kept as declared.

Also here: a read-only connection, and running a schema/data script statement by
statement (errors name the script's line) into a connection, which is how a schema is
read from CREATE TABLE text without touching the disk.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError


@dataclass(frozen=True)
class Column:
    name: str
    type: str = ""  # as declared ("" when the column has none)
    notnull: bool = False


@dataclass(frozen=True)
class ForeignKey:
    table: str
    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()  # in key order
    ddl: str = ""  # the CREATE statement as stored in sqlite_master


@dataclass(frozen=True)
class DbSchema:
    tables: tuple[Table, ...]
    # Table by table, each in PRAGMA foreign_key_list's order (the last declared first).
    foreign_keys: tuple[ForeignKey, ...] = ()


def ident(name: str) -> str:
    """`name` as a quoted SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


def connect_readonly(path: Path, errors: str = "replace") -> sqlite3.Connection:
    """A read-only connection to an existing database file. Text that is not valid UTF-8
    (some benchmark databases hold such) is decoded with `errors`; "strict" keeps
    sqlite3's own decoding, which fails on it."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    if errors != "strict":
        conn.text_factory = lambda b: b.decode("utf-8", errors=errors)
    return conn


def schema_of(conn: sqlite3.Connection) -> DbSchema:
    """The schema of the database behind `conn`; raises sqlite3.Error as SQLite does."""
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
    ).fetchall()
    tables: list[Table] = []
    for name, sql in rows:
        info = conn.execute(f"PRAGMA table_info({ident(name)})").fetchall()
        columns = tuple(Column(str(r[1]), str(r[2] or ""), bool(r[3])) for r in info)
        keyed = sorted((r for r in info if r[5]), key=lambda r: r[5])
        tables.append(
            Table(str(name), columns, tuple(str(r[1]) for r in keyed), (sql or "").strip())
        )
    by_name = {t.name.lower(): t for t in tables}
    fks: list[ForeignKey] = []
    for table in tables:
        # PRAGMA foreign_key_list lists each key's columns in order (id, then seq).
        rows = conn.execute(f"PRAGMA foreign_key_list({ident(table.name)})").fetchall()
        width = Counter(r[0] for r in rows)
        for key_id, seq, parent, child, column, *_ in rows:
            if column is None:
                target = by_name.get(str(parent).lower())
                if target is None or len(target.primary_key) != width[key_id]:
                    continue
                column = target.primary_key[seq]
            fks.append(ForeignKey(table.name, str(child), str(parent), str(column)))
    return DbSchema(tuple(tables), tuple(fks))


def read_db_schema(path: Path) -> DbSchema:
    """The schema of the database file at `path`; an unreadable file raises DataError."""
    try:
        conn = connect_readonly(path)
    except sqlite3.Error as exc:
        raise DataError(f"{path}: cannot open database: {exc}") from None
    try:
        return schema_of(conn)
    except sqlite3.Error as exc:
        raise DataError(f"{path}: cannot read schema: {exc}") from None
    finally:
        conn.close()


def script_schema(script: str, source: str) -> DbSchema:
    """The schema that CREATE TABLE text builds, built in memory (nothing touches the
    disk); a failing statement raises DataError naming `source:line`."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        run_script(conn, script, source)
        return schema_of(conn)
    finally:
        conn.close()


def _statements(script: str) -> Iterator[tuple[int, str]]:
    """(first line number, statement) for each complete SQL statement of a script."""
    buf: list[str] = []
    start = 0
    for lineno, line in enumerate(script.splitlines(keepends=True), 1):
        rest = line
        while rest:
            if not buf and (not rest.strip() or rest.lstrip().startswith("--")):
                break  # so that `start` is the statement's own first line
            # Each ";" may end a statement (sql-create-context writes several on one
            # line); SQLite says whether it does, so one inside a string or a comment
            # ends nothing.
            cut = rest.find(";") + 1 or len(rest)
            if not buf:
                start = lineno
            buf.append(rest[:cut])
            rest = rest[cut:]
            text = "".join(buf)
            if sqlite3.complete_statement(text):
                yield start, text
                buf = []
    tail = "".join(buf)
    if any(ln.strip() and not ln.strip().startswith("--") for ln in tail.splitlines()):
        yield start, tail  # incomplete: executing it reports the error with its line


def _deny_attach(action: int, *_: object) -> int:
    # A script builds one database; ATTACH would let it create or change other files.
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def run_script(conn: sqlite3.Connection, script: str, source: str) -> None:
    """Execute a schema/data script statement by statement; errors name `source:line`."""
    conn.set_authorizer(_deny_attach)
    try:
        for lineno, stmt in _statements(script):
            try:
                conn.execute(stmt)
            except sqlite3.Error as exc:
                raise DataError(f"{source}:{lineno}: {exc}") from None
    finally:
        conn.set_authorizer(None)
