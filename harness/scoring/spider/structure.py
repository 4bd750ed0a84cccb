"""The official Spider query structure: its vocabulary, its empty value, and the schema
its column and table ids are resolved against.

The official evaluator (taoyds/test-suite-sql-eval, process_sql.py) turns a query into
nested dicts and tuples, and exact set match and hardness are defined on that structure.
``spider_sql.parse_spider`` builds it from sqlglot's tree; the shape is kept identical so
that equality behaves exactly as the official one::

    col_unit  = (agg_id, "__table.col__" | "__all__", is_distinct)
    val_unit  = (unit_op_id, col_unit, col_unit | None)
    cond_unit = (not_op, op_id, val_unit, val1, val2)
                val = float | '"text"' | col_unit | sql dict | None
    condition = [cond_unit, "and" | "or", cond_unit, ...]   (flat, in text order)
    sql = {"select": (distinct, [(agg_id, val_unit), ...]),
           "from": {"table_units": [("table_unit", "__t__") | ("sql", sql)], "conds": condition},
           "where": condition, "groupBy": [col_unit], "having": condition,
           "orderBy": [] | ("asc" | "desc", [val_unit]), "limit": None | 1,
           "intersect" | "union" | "except": None | sql}
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import DataError, HarnessError

# The ids in the structure are indices into these tuples, in the official order.
AGG_OPS = ("none", "max", "min", "count", "sum", "avg")
UNIT_OPS = ("none", "-", "+", "*", "/")
WHERE_OPS = ("not", "between", "=", ">", "<", ">=", "<=", "!=", "in", "like", "is", "exists")


class UnsupportedSQL(HarnessError):
    """The official Spider grammar could not parse this query (its evaluator's parse fails)."""


def empty_sql() -> dict:
    """What the official evaluator scores in place of a prediction it cannot parse."""
    return {
        "except": None,
        "from": {"conds": [], "table_units": []},
        "groupBy": [],
        "having": [],
        "intersect": None,
        "limit": None,
        "orderBy": [],
        "select": (False, []),
        "union": None,
        "where": [],
    }


@dataclass(eq=False)
class SpiderSchema:
    """Table -> column names, lowercased, as the official ``get_schema`` reads them.

    ``parsed`` memoises ``parse_spider`` per query text (results and refusals alike).
    """

    tables: dict[str, tuple[str, ...]]
    parsed: dict[str, Any] = field(default_factory=dict, repr=False)

    def column_id(self, table: str, column: str) -> str | None:
        cols = self.tables.get(table)
        if cols is None or column not in cols:
            return None
        return f"__{table}.{column}__"

    def table_id(self, table: str) -> str | None:
        return f"__{table}__" if table in self.tables else None


_SCHEMA_CACHE: dict[str, SpiderSchema] = {}
_SCHEMA_LOCK = threading.Lock()


def spider_schema(db_path: Path) -> SpiderSchema:
    """The official schema of one SQLite file (every ``type='table'`` row of sqlite_master and
    its PRAGMA table_info columns, lowercased); cached per resolved path."""
    path = Path(db_path).resolve()
    key = str(path)
    with _SCHEMA_LOCK:
        cached = _SCHEMA_CACHE.get(key)
    if cached is not None:
        return cached
    if not path.is_file():
        raise DataError(f"database not found: {path}")
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open database {path}: {exc}") from exc
    try:
        names = [
            str(row[0]).lower()
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        tables = {
            name: tuple(str(col[1]).lower() for col in conn.execute(f"PRAGMA table_info('{name}')"))
            for name in names
        }
    except sqlite3.Error as exc:
        raise DataError(f"cannot read the schema of {path}: {exc}") from exc
    finally:
        conn.close()
    schema = SpiderSchema(tables)
    with _SCHEMA_LOCK:
        _SCHEMA_CACHE.setdefault(key, schema)
        return _SCHEMA_CACHE[key]
