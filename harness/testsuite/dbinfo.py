"""What the fuzzer needs to know about one SQLite database: tables in foreign-key order,
each column's declared type and constraints, and the values it holds."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from harness.dbschema import Table, connect_readonly, ident, schema_of
from harness.errors import DataError

ColumnKey = tuple[str, str]  # (table, column), both lower-cased


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    decl_type: str
    notnull: bool
    pk_position: int  # 1-based position in the primary key, 0 when not part of it
    unique: bool
    checked: bool  # a CHECK constraint mentions it: only values seen in the data are safe
    rowid_alias: bool  # INTEGER PRIMARY KEY: SQLite accepts integers only


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[ColumnInfo, ...]
    unique_groups: tuple[tuple[str, ...], ...]  # multi-column UNIQUE constraints / indexes

    @property
    def primary_key(self) -> tuple[str, ...]:
        keyed = sorted((c for c in self.columns if c.pk_position), key=lambda c: c.pk_position)
        return tuple(c.name for c in keyed)


@dataclass
class DatabaseInfo:
    path: Path
    tables: dict[str, TableInfo]  # lower-cased name -> table, in sqlite_master order
    parents: dict[ColumnKey, ColumnKey]  # child column -> the column it references
    values: dict[ColumnKey, list[object]]  # every value of each column, in row order
    statements: list[str] = field(default_factory=list)  # CREATE TABLE ..., in order
    late_statements: list[str] = field(default_factory=list)  # indexes, views, triggers

    def table_order(self) -> list[str]:
        """Tables parents-first; a cycle of references is cut where it closes."""
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:  # on the current path: a cycle, cut here
                return
            state[name] = 1
            for (child_table, _), (parent_table, _) in self.parents.items():
                if child_table == name and parent_table != name:
                    visit(parent_table)
            state[name] = 2
            order.append(name)

        for name in self.tables:
            visit(name)
        return order

    def acyclic_parents(self) -> dict[ColumnKey, ColumnKey]:
        """References whose parent table is generated before (or is) the child table."""
        position = {name: i for i, name in enumerate(self.table_order())}
        return {
            child: parent
            for child, parent in self.parents.items()
            if position[parent[0]] <= position[child[0]]
        }


def _checked_columns(ddl: str, columns: list[str]) -> set[str]:
    """Columns whose definition line carries a CHECK (Spider's DDL has one column per line)."""
    found: set[str] = set()
    lowered = {c.lower(): c for c in columns}
    for line in ddl.splitlines():
        if not re.search(r"\bcheck\s*\(", line, flags=re.IGNORECASE):
            continue
        first = line.strip().split(maxsplit=1)[0].strip('"`[],').lower() if line.strip() else ""
        if first in lowered:
            found.add(lowered[first])
    return found


def _unique_columns(conn: sqlite3.Connection, table: str) -> tuple[set[str], list[tuple[str, ...]]]:
    """Lower-cased single UNIQUE columns, and the multi-column UNIQUE groups, of `table`."""
    single: set[str] = set()
    groups: list[tuple[str, ...]] = []
    for idx in conn.execute(f"PRAGMA index_list({ident(table)})").fetchall():
        if not idx[2] or idx[3] == "pk":  # not unique, or the primary key (filtered whole)
            continue
        cols = tuple(str(r[2]) for r in conn.execute(f"PRAGMA index_info({ident(idx[1])})"))
        if len(cols) == 1:
            single.add(cols[0].lower())
        elif cols:
            groups.append(cols)
    return single, groups


def _table_info(conn: sqlite3.Connection, table: Table) -> TableInfo:
    unique, groups = _unique_columns(conn, table.name)
    checked = _checked_columns(table.ddl, [c.name for c in table.columns])
    key = table.primary_key
    columns = tuple(
        ColumnInfo(
            name=c.name, decl_type=c.type, notnull=c.notnull,
            pk_position=key.index(c.name) + 1 if c.name in key else 0,
            unique=c.name.lower() in unique, checked=c.name in checked,
            rowid_alias=key == (c.name,) and c.type.strip().upper() == "INTEGER",
        )
        for c in table.columns
    )  # fmt: skip
    return TableInfo(table.name, columns, tuple(groups))


def read_database(path: Path) -> DatabaseInfo:
    if not path.is_file():
        raise DataError(f"database file not found: {path}")
    try:
        conn = connect_readonly(path)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open database {path}: {exc}") from exc
    with closing(conn):
        try:
            schema = schema_of(conn)
            late = [
                sql
                for (sql,) in conn.execute(
                    "SELECT sql FROM sqlite_master WHERE type IN ('index', 'view', 'trigger') "
                    "AND sql IS NOT NULL ORDER BY rowid"
                )
            ]
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{path}: not a readable SQLite database: {exc}") from exc
        tables: dict[str, TableInfo] = {}
        values: dict[ColumnKey, list[object]] = {}
        for table in schema.tables:
            key = table.name.lower()
            tables[key] = _table_info(conn, table)
            rows = conn.execute(f"SELECT * FROM {ident(table.name)}").fetchall()
            for i, column in enumerate(table.columns):
                values[(key, column.name.lower())] = [row[i] for row in rows]
    parents: dict[ColumnKey, ColumnKey] = {}
    for fk in schema.foreign_keys:
        pkey = (fk.ref_table.lower(), fk.ref_column.lower())
        ckey = (fk.table.lower(), fk.column.lower())
        if pkey in values and ckey in values:
            parents[ckey] = pkey
    statements = [t.ddl for t in schema.tables if t.ddl]
    return DatabaseInfo(path, tables, parents, values, statements, late)
