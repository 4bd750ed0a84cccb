"""The "CREATE TABLE + example rows" schema text read straight from `sqlite_master`, as the
Qwen2.5-Coder evaluation builds it (QwenLM/Qwen2.5-Coder, qwencoder-eval/.../bird-spider/
sql_suites/utils.py, extract_create_table_prompt), byte for byte:

- every row of `sqlite_master` with type 'table', in its own order (sqlite_sequence too);
- the stored CREATE statement, then ";\\n";
- with rows > 0: a /* ... */ comment holding the query, the column names and the first
  rows, cells joined by four spaces, each cell `str(value)` (so NULL reads "None");
- a blank line after each table.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from harness.dbschema import connect_readonly
from harness.errors import DataError
from harness.prompting.schema import SchemaInfo, quote

_SEP = "    "


def _rows(conn: sqlite3.Connection, name: str, shown: str) -> list[tuple]:
    try:
        return conn.execute(shown).fetchall()
    except sqlite3.OperationalError:
        # Upstream runs the unquoted query and would stop on a name that needs quotes;
        # the quoted query reads the same rows, and the text shows upstream's query.
        return conn.execute(shown.replace(f"FROM {name} ", f"FROM {quote(name)} ", 1)).fetchall()


def render_master(db_path: Path, rows: int) -> str:
    try:
        # A plain sqlite3 connection's strict decoding (what these texts were built with).
        with closing(connect_readonly(db_path, errors="strict")) as conn:
            tables = conn.execute("SELECT * FROM sqlite_master WHERE type='table';").fetchall()
            parts: list[str] = []
            for table in tables:
                name, ddl = table[1], table[-1]
                headers = [str(c[1]) for c in conn.execute(f"PRAGMA table_info(`{name}`);")]
                parts.append(f"{ddl};\n")
                if rows > 0:
                    shown = f"SELECT * FROM {name} LIMIT {rows};"
                    parts.append(f"/*\n{rows} example rows:\n{shown}\n{_SEP.join(headers)}\n")
                    parts.extend(
                        _SEP.join(str(v) for v in row) + "\n" for row in _rows(conn, name, shown)
                    )
                    parts.append("*/\n")
                parts.append("\n")
    except sqlite3.Error as exc:
        raise DataError(f"{db_path}: cannot read the schema and rows: {exc}") from None
    return "".join(parts)


def render_master_text(info: SchemaInfo, rows: int) -> str:
    """From the database when there is one; else from the CREATE statements held (no rows)."""
    if info.db_path is not None:
        return render_master(info.db_path, rows)
    return "".join(f"{t.ddl};\n\n" for t in info.tables if t.ddl)
