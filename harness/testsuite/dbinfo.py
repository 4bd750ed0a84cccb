"""What the fuzzer needs to know about one SQLite database: tables in foreign-key order,
each column's declared type and constraints, and the values it holds."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

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


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


def read_database(path: Path) -> DatabaseInfo:
    if not path.is_file():
        raise DataError(f"database file not found: {path}")
    uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open database {path}: {exc}") from exc
    with closing(conn):
        conn.text_factory = _decode
        try:
            master = conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid"
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{path}: not a readable SQLite database: {exc}") from exc
        statements = [
            sql for kind, name, _, sql in master
            if kind == "table" and sql and not name.startswith("sqlite_")
        ]  # fmt: skip
        late = [sql for kind, _, _, sql in master if kind in ("index", "view", "trigger") and sql]
        tables: dict[str, TableInfo] = {}
        values: dict[ColumnKey, list[object]] = {}
        real_names: dict[str, str] = {}
        ddl = {name: sql or "" for kind, name, _, sql in master if kind == "table"}
        for name in ddl:
            if name.startswith("sqlite_"):
                continue
            info = conn.execute(f"PRAGMA table_info({_ident(name)})").fetchall()
            column_names = [str(r[1]) for r in info]
            unique_single: set[str] = set()
            groups: list[tuple[str, ...]] = []
            for idx in conn.execute(f"PRAGMA index_list({_ident(name)})").fetchall():
                if not idx[2]:  # not a unique index
                    continue
                cols = tuple(
                    str(r[2]) for r in conn.execute(f"PRAGMA index_info({_ident(idx[1])})")
                )
                if idx[3] == "pk":
                    continue  # the primary key is filtered as a whole
                if len(cols) == 1:
                    unique_single.add(cols[0].lower())
                elif cols:
                    groups.append(cols)
            checked = _checked_columns(ddl[name], column_names)
            n_pk = sum(1 for r in info if r[5])
            columns = tuple(
                ColumnInfo(
                    name=str(r[1]), decl_type=str(r[2] or ""), notnull=bool(r[3]),
                    pk_position=int(r[5]), unique=str(r[1]).lower() in unique_single,
                    checked=str(r[1]) in checked,
                    rowid_alias=n_pk == 1 and bool(r[5])
                    and str(r[2] or "").strip().upper() == "INTEGER",
                )
                for r in info
            )  # fmt: skip
            key = name.lower()
            tables[key] = TableInfo(name, columns, tuple(groups))
            real_names[key] = name
            rows = conn.execute(f"SELECT * FROM {_ident(name)}").fetchall()
            for i, column in enumerate(columns):
                values[(key, column.name.lower())] = [row[i] for row in rows]
        parents: dict[ColumnKey, ColumnKey] = {}
        for key, table in tables.items():
            for fk in conn.execute(f"PRAGMA foreign_key_list({_ident(table.name)})"):
                parent_table, child_col, parent_col = str(fk[2]).lower(), str(fk[3]), fk[4]
                parent = tables.get(parent_table)
                if parent is None:
                    continue  # a reference to a table the database does not have
                if parent_col is None:  # REFERENCES t without a column: t's primary key
                    pk = parent.primary_key
                    parent_col = pk[0] if len(pk) == 1 else child_col
                pkey = (parent_table, str(parent_col).lower())
                ckey = (key, child_col.lower())
                if pkey in values and ckey in values:
                    parents[ckey] = pkey
    return DatabaseInfo(path, tables, parents, values, statements, late)
