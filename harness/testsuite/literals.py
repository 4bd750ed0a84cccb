"""The gold queries' literals, each typed to the column it is compared with.

A random database is only informative if it contains the values the queries ask about
(`WHERE country = 'France'` needs some French rows), so these literals join each column's
value pool.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from harness.testsuite.dbinfo import ColumnKey, DatabaseInfo

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)


def _literal_value(node: exp.Expression) -> object | None:
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        value = _literal_value(node.this)
        return -value if isinstance(value, int | float) else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return node.this
    text = node.this
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _double_quoted_string(node: exp.Expression, db: DatabaseInfo) -> str | None:
    """`city = "Anthony"`: SQLite reads a double-quoted word that names no column as a
    string (Spider's gold queries do this often); sqlglot reads it as a column."""
    if not isinstance(node, exp.Column) or node.table:
        return None
    ident = node.this
    if not isinstance(ident, exp.Identifier) or not ident.quoted:
        return None
    if any(c == ident.name.lower() for (_, c) in db.values):
        return None
    return ident.name


def _scope_tables(node: exp.Expression) -> dict[str, str]:
    """Alias (or name) -> table name for the SELECT that encloses `node`."""
    select = node.find_ancestor(exp.Select)
    found: dict[str, str] = {}
    while select is not None:
        for table in select.find_all(exp.Table):
            if table.find_ancestor(exp.Select) is not select:
                continue
            name = table.name.lower()
            found.setdefault(table.alias_or_name.lower(), name)
            found.setdefault(name, name)
        select = select.find_ancestor(exp.Select)  # correlated references reach outward
    return found


def _resolve(column: exp.Column, db: DatabaseInfo, all_tables: Iterable[str]) -> ColumnKey | None:
    name = column.name.lower()
    scope = _scope_tables(column)
    if column.table:
        table = scope.get(column.table.lower(), column.table.lower())
        return (table, name) if (table, name) in db.values else None
    for table in [*scope.values(), *all_tables]:
        if (table, name) in db.values:
            return (table, name)
    return None


def _parsed(queries: Iterable[str]) -> Iterator[tuple[exp.Expression, list[str]]]:
    """Each query sqlglot can parse, with the (lower-cased) tables it names."""
    for sql in queries:
        try:
            tree = sqlglot.parse_one(sql, read="sqlite")
        except (ParseError, TokenError, ValueError, RecursionError):
            continue
        if tree is not None:
            yield tree, [t.name.lower() for t in tree.find_all(exp.Table)]


def typed_literals(queries: Iterable[str], db: DatabaseInfo) -> dict[ColumnKey, list[object]]:
    """Column -> literals the queries compare it with (LIKE patterns without their %)."""
    out: dict[ColumnKey, list[object]] = defaultdict(list)
    for tree, all_tables in _parsed(queries):
        pairs: list[tuple[exp.Expression, exp.Expression]] = []
        for node in tree.find_all(*_COMPARISONS):
            pairs.append((node.this, node.expression))
            pairs.append((node.expression, node.this))
        for node in tree.find_all(exp.In):
            pairs.extend((node.this, v) for v in node.expressions)
        for node in tree.find_all(exp.Between):
            pairs.append((node.this, node.args["low"]))
            pairs.append((node.this, node.args["high"]))
        for col, lit in pairs:
            if not isinstance(col, exp.Column):
                continue
            value = _literal_value(lit)
            if value is None:
                value = _double_quoted_string(lit, db)
            if value is None:
                continue
            key = _resolve(col, db, all_tables)
            if key is None:
                continue
            if isinstance(value, str) and isinstance(lit.parent, exp.Like | exp.ILike):
                value = value.replace("%", "")
            out[key].append(value)
    return dict(out)


def limited_order_keys(
    queries: Iterable[str], db: DatabaseInfo
) -> tuple[set[ColumnKey], set[ColumnKey]]:
    """Columns behind an ORDER BY ... LIMIT: (sort keys, group keys).

    A tie there makes the query's answer ambiguous, so the fuzzer draws sort keys
    (`ORDER BY age LIMIT 1`) without repeats, and gives the groups of a group key
    (`GROUP BY city ORDER BY count(*) LIMIT 1`) sizes that differ.
    """
    sort_keys: set[ColumnKey] = set()
    group_keys: set[ColumnKey] = set()
    for tree, all_tables in _parsed(queries):
        for query in tree.find_all(exp.Select):
            order = query.args.get("order")
            if not order or not query.args.get("limit"):
                continue
            for ordered in order.expressions:
                if isinstance(ordered.this, exp.Column):
                    key = _resolve(ordered.this, db, all_tables)
                    if key is not None:
                        sort_keys.add(key)
            group = query.args.get("group")
            for column in group.expressions if group else []:
                if isinstance(column, exp.Column):
                    key = _resolve(column, db, all_tables)
                    if key is not None:
                        group_keys.add(key)
    return sort_keys, group_keys
