"""Schema representations for prompts, read from the SQLite database (and tables.json).

Kinds, each a superset of the one before except `ddl`:
- minimal: `table(col, ...)` per line
- typed:   `table(col TYPE, ...)`
- keys:    typed + primary keys and foreign keys
- ddl:     the CREATE TABLE statements as stored in the database
- rows:    ddl + the first N rows of every table (the "CreateTable + Select N" prompt of
           Rajkumar et al., 2022, "Evaluating the Text-to-SQL Capabilities of LLMs")
- sqlite_master: Qwen2.5-Coder's CREATE TABLE + example rows text (schema_master.py)
- omnisql: OmniSQL's CREATE TABLE with comments and example values (schema_omnisql.py)
- create_context: the example's own CREATE TABLE text, else the database's statements on
           one line each joined with "; " (sql-create-context's style, for the T5 card)
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.dbschema import (
    Column,
    DbSchema,
    ForeignKey,
    Table,
    connect_readonly,
    read_db_schema,
    script_schema,
)
from harness.errors import DataError

# The kinds render_schema writes; the last two need more than the schema (a prompt format's
# representation may be any of REPRESENTATIONS).
SCHEMA_KINDS = ("minimal", "typed", "keys", "ddl", "rows")
REPRESENTATIONS = (*SCHEMA_KINDS, "sqlite_master", "omnisql", "create_context")
_CELL_CHARS = 40


@dataclass(frozen=True)
class SchemaInfo:
    """One database's schema; `db_path` is where sample rows come from (None: no rows)."""

    db_id: str
    tables: tuple[Table, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    db_path: Path | None = None

    def identifiers(self) -> frozenset[str]:
        """Lower-cased table and column names (what a schema classifier compares)."""
        names = set()
        for table in self.tables:
            names.add(table.name.lower())
            names.update(f"{table.name.lower()}.{c.name.lower()}" for c in table.columns)
        return frozenset(names)


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ORACLE = sqlite3.connect(":memory:", check_same_thread=False)


@functools.lru_cache(maxsize=65536)
def _bare_ok(name: str) -> bool:
    """Whether SQLite reads `name` unquoted as that column (not a keyword such as ORDER,
    nor a special value such as CURRENT_DATE); SQLite itself is asked."""
    if not _PLAIN_NAME.fullmatch(name):
        return False
    inner = name.replace('"', '""')
    try:
        row = _ORACLE.execute(f'SELECT {name} FROM (SELECT 42 AS "{inner}")').fetchone()
    except sqlite3.Error:
        return False
    return row == (42,)


def quote(name: str) -> str:
    """An identifier as SQLite reads it, quoted only when it must be."""
    return name if _bare_ok(name) else '"' + name.replace('"', '""') + '"'


def _ordered(schema: DbSchema, order: list[str] | None) -> tuple[list[Table], list[ForeignKey]]:
    """Tables (and their foreign keys) in tables.json order, the benchmark's canonical one;
    tables only the database has come after it."""
    tables = list(schema.tables)
    if order:
        lowered = {t.name.lower(): t for t in tables}
        first = [lowered[o.lower()] for o in order if o.lower() in lowered]
        named = {t.name for t in first}
        tables = first + [t for t in tables if t.name not in named]
    position = {t.name: i for i, t in enumerate(tables)}
    return tables, sorted(schema.foreign_keys, key=lambda f: position[f.table])


def _from_tables_json(entry: dict[str, Any]) -> tuple[list[Table], list[ForeignKey]]:
    table_names = entry.get("table_names_original") or entry.get("table_names") or []
    col_names = entry.get("column_names_original") or entry.get("column_names") or []
    col_types = entry.get("column_types") or []
    by_table: dict[int, list[Column]] = {i: [] for i in range(len(table_names))}
    for i, (t_idx, name) in enumerate(col_names):
        if t_idx < 0:
            continue  # Spider's "*" pseudo-column
        by_table[t_idx].append(Column(name, col_types[i] if i < len(col_types) else ""))
    pk_cols: set[int] = set()
    for pk in entry.get("primary_keys") or []:
        pk_cols.update(pk if isinstance(pk, list) else [pk])  # BIRD lists composite keys
    tables = []
    for t_idx, tname in enumerate(table_names):
        pk = tuple(col_names[c][1] for c in sorted(pk_cols) if col_names[c][0] == t_idx)
        tables.append(Table(tname, tuple(by_table[t_idx]), pk))
    fks = []
    for a, b in entry.get("foreign_keys") or []:
        ta, ca = col_names[a]
        tb, cb = col_names[b]
        fks.append(ForeignKey(table_names[ta], ca, table_names[tb], cb))
    return tables, fks


def _synth_ddl(table: Table, fks: Iterable[ForeignKey]) -> str:
    parts = [f"  {quote(c.name)}{' ' + c.type if c.type else ''}" for c in table.columns]
    if table.primary_key:
        parts.append(f"  PRIMARY KEY ({', '.join(quote(c) for c in table.primary_key)})")
    for fk in fks:
        if fk.table == table.name:
            parts.append(
                f"  FOREIGN KEY ({quote(fk.column)}) REFERENCES "
                f"{quote(fk.ref_table)}({quote(fk.ref_column)})"
            )
    return f"CREATE TABLE {quote(table.name)} (\n" + ",\n".join(parts) + "\n)"


def read_schema(
    db_id: str,
    db_path: Path | None = None,
    tables_entry: dict[str, Any] | None = None,
    context: str = "",
) -> SchemaInfo:
    """Read a schema from the database file when there is one, else from tables.json, else
    from CREATE TABLE text (fixtures without a database). Foreign keys are the union of
    the database's declared ones and tables.json's (Spider lists some the DDL lacks)."""
    tables: list[Table] = []
    fks: list[ForeignKey] = []
    order = list(tables_entry.get("table_names_original") or []) if tables_entry else None
    if db_path is not None:
        tables, fks = _ordered(read_db_schema(db_path), order)
    elif context.strip():
        tables, fks = _ordered(script_schema(context, f"{db_id} (CREATE TABLE text)"), order)
    if tables_entry:
        json_tables, json_fks = _from_tables_json(tables_entry)
        if not tables:
            tables = [
                Table(t.name, t.columns, t.primary_key, _synth_ddl(t, json_fks))
                for t in json_tables
            ]
        known = {
            (f.table.lower(), f.column.lower(), f.ref_table.lower(), f.ref_column.lower())
            for f in fks
        }
        for fk in json_fks:
            key = (fk.table.lower(), fk.column.lower(), fk.ref_table.lower(), fk.ref_column.lower())
            if key not in known:
                known.add(key)
                fks.append(fk)
    if not tables:
        raise DataError(f"{db_id}: no schema (no database file, tables.json entry or DDL)")
    return SchemaInfo(db_id, tuple(tables), tuple(fks), Path(db_path) if db_path else None)


def _column_list(table: Table, typed: bool) -> str:
    cols = [f"{quote(c.name)} {c.type}".rstrip() if typed else quote(c.name) for c in table.columns]
    return f"{quote(table.name)}({', '.join(cols)})"


def _cell(value: Any) -> str:
    if isinstance(value, bytes):
        return f"<blob {len(value)} bytes>"
    text = "NULL" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 3] + "..."


def _sample_rows(info: SchemaInfo, table: Table, n: int) -> str:
    assert info.db_path is not None
    try:
        with closing(connect_readonly(info.db_path)) as conn:
            cursor = conn.execute(f"SELECT * FROM {quote(table.name)} LIMIT {int(n)}")
            header = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
    except sqlite3.Error as exc:
        return f"/* rows unavailable: {exc} */"
    lines = [f"/*\n{len(rows)} example rows:", f"SELECT * FROM {quote(table.name)} LIMIT {n};"]
    lines.append("\t".join(header))
    lines.extend("\t".join(_cell(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n*/"


def render_schema(info: SchemaInfo, kind: str = "keys", rows: int = 3) -> str:
    if kind not in SCHEMA_KINDS:
        raise DataError(f"unknown schema representation {kind!r}; known: {', '.join(SCHEMA_KINDS)}")
    if kind in ("minimal", "typed"):
        return "\n".join(_column_list(t, typed=kind == "typed") for t in info.tables)
    if kind == "keys":
        lines = [_column_list(t, typed=True) for t in info.tables]
        pks = [
            f"{quote(t.name)}: {', '.join(quote(c) for c in t.primary_key)}"
            for t in info.tables
            if t.primary_key
        ]
        if pks:
            lines.append("Primary keys:")
            lines.extend(pks)
        if info.foreign_keys:
            lines.append("Foreign keys:")
            lines.extend(
                f"{quote(f.table)}.{quote(f.column)} = {quote(f.ref_table)}.{quote(f.ref_column)}"
                for f in info.foreign_keys
            )
        return "\n".join(lines)
    blocks = []
    for table in info.tables:
        block = table.ddl or _synth_ddl(table, info.foreign_keys)
        if kind == "rows" and info.db_path is not None and rows > 0:
            block += "\n" + _sample_rows(info, table, rows)
        blocks.append(block)
    return "\n\n".join(blocks)


def joined_ddl(ddls: list[str]) -> str:
    """CREATE TABLE statements on one line each, joined as sql-create-context joins them."""
    return "; ".join(" ".join(d.split()).rstrip(";").strip() for d in ddls if d.strip())
