"""Spider SQL in the official evaluator's structure, built from sqlglot's expression tree.

The official Spider evaluator (taoyds/test-suite-sql-eval, process_sql.py) reads a query
with a hand-written grammar over nltk word tokens and turns it into nested dicts and
tuples (the structure is described in ``spider_structure``); exact set match and the
hardness levels are defined on it. This module builds the same structure by walking
sqlglot's tree, and refuses (``UnsupportedSQL``) every query that grammar refuses, so a
prediction the official evaluator cannot parse scores em=0 here too.

What the tree cannot show -- word spacing, where ``NOT`` or ``AS`` was written, where the
official parser stops reading early -- is judged on sqlglot's token stream by
``spider_words``; `parse_spider` combines the two.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from harness.scoring.spider import words
from harness.scoring.spider.structure import (
    AGG_OPS,
    UNIT_OPS,
    WHERE_OPS,
    SpiderSchema,
    UnsupportedSQL,
    empty_sql,
    spider_schema,
)

__all__ = [
    "AGG_OPS",
    "UNIT_OPS",
    "WHERE_OPS",
    "SpiderSchema",
    "UnsupportedSQL",
    "empty_sql",
    "parse_spider",
    "spider_schema",
]

_AGG_ID = {exp.Max: 1, exp.Min: 2, exp.Count: 3, exp.Sum: 4, exp.Avg: 5}
_UNIT_ID = {exp.Sub: 1, exp.Add: 2, exp.Mul: 3, exp.Div: 4}
_OP_ID = {
    exp.Between: 1,
    exp.EQ: 2,
    exp.GT: 3,
    exp.LT: 4,
    exp.GTE: 5,
    exp.LTE: 6,
    exp.NEQ: 7,
    exp.In: 8,
    exp.Like: 9,
    exp.Is: 10,
    exp.NullSafeEQ: 10,  # sqlglot's reading of "a IS 1"
}
_SET_OPS = {exp.Intersect: "intersect", exp.Union: "union", exp.Except: "except"}
_SELECT_ARGS = {"expressions", "distinct", "from_", "joins", "where", "group", "having"}
_MODIFIERS = ("order", "limit", "offset")
# Join words the official grammar skips when they follow a column-valued ON condition: its
# value scan reads on to the next JOIN, so `ON a.x = b.y INNER JOIN c` parses as a JOIN.
_SWALLOWED_JOIN_WORDS = {"INNER", "LEFT", "RIGHT", "OUTER", "FULL", "CROSS", "NATURAL"}


class _DropCommandFallbackWarning(logging.Filter):
    """sqlglot warns when it reads an unknown statement as an opaque Command; such a
    statement is refused here anyway, so the warning is only noise in a scoring run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_DropCommandFallbackWarning())


def parse_spider(sql: str, schema: SpiderSchema) -> dict:
    """The official structure of ``sql``; raises UnsupportedSQL where the official parse fails.

    Results (and refusals) are memoised on the schema; callers must not mutate them.
    """
    hit = schema.parsed.get(sql)
    if hit is None:
        try:
            hit = _Converter(sql, schema).convert()
        except UnsupportedSQL as exc:
            hit = exc
        except (IndexError, KeyError, AttributeError, TypeError, ValueError, RecursionError) as e:
            # The official evaluator treats any failure to parse a prediction as "unparsed";
            # a tree shape this module did not foresee is refused the same way, with a trace.
            hit = UnsupportedSQL(f"unexpected query shape ({type(e).__name__}: {e})")
        schema.parsed[sql] = hit
    if isinstance(hit, UnsupportedSQL):
        raise hit
    return hit


class _Converter:
    """One query's conversion: the flags the token stream set, then the walk of its tree."""

    def __init__(self, sql: str, schema: SpiderSchema) -> None:
        self.schema = schema
        self.text = words.join_split_comparisons(sql)
        self.aliases: dict[str, str] = {}
        self.dangling_order = False
        self.dangling_from = False
        self.cut_at_direction = False
        self.dangling_limit = False
        self.dangling_connector: str | None = None
        self.connector_target: int | None = None
        # SELECT items written "a b" (no comma, no AS): two columns to the official parser.
        self.bare_select_aliases: set[int] = set()
        # Tables written "FROM t x" (no AS): the official parser reads x as one more table.
        self.bare_aliases: dict[int, str] = {}
        # id(condition node) -> whether it ends with an unbracketed column value
        self.open_ends: dict[int, bool] = {}

    # ---- entry --------------------------------------------------------------------------
    def convert(self) -> dict:
        # Where the official parser stops reading early, the text is cut there; the words
        # after the cut (``tail``) must be ones it would silently ignore.
        reading = words.read_words(self.text)
        tokens, tail = reading.tokens, reading.tail
        self.dangling_limit = reading.after_limit
        self.dangling_order = reading.dangling_order
        self.dangling_from = reading.dangling_from
        self.dangling_connector = reading.dangling_connector
        tree, unparsed = self._parse_prefix(tokens)
        if unparsed and reading.after_limit:
            # The official parser stopped before reaching that LIMIT.
            self.dangling_limit = False
            tail.insert(0, "limit")
        tail = [words.word(self.text, tok) for tok in unparsed] + tail
        words.check_words(tokens, len(tokens) - len(unparsed), self.text)
        self._scan_aliases(tree, tokens)
        if self.dangling_connector:
            condition = _last_clause(tree)[1]
            if condition is None:
                tail.insert(0, self.dangling_connector)  # e.g. after GROUP BY: ignored
            else:
                self.connector_target = id(condition)
        sql = self._query(tree, trailing_ok=True)
        if tail:
            clause, condition = _last_clause(tree)
            open_end = condition is not None and bool(self.open_ends.get(id(condition)))
            words.check_ignorable_tail(clause, open_end, self.cut_at_direction, tail)
        return sql

    def _parse_prefix(self, tokens: list[Token]) -> tuple[exp.Expression, list[Token]]:
        """sqlglot's tree of the query, or of the prefix the official parser reads when it
        stops early: it ignores what follows a complete top-level query (checked by
        check_ignorable_tail once the prefix is converted)."""
        cut = words.second_direction_word(tokens)
        if cut is not None:
            # "ORDER BY a ASC DESC ...": the official ORDER BY ends at the second word.
            self.cut_at_direction = True
            try:
                return self._parse_tokens(tokens[:cut]), tokens[cut:]
            except SqlglotError as exc:
                raise UnsupportedSQL(f"sqlglot cannot parse: {_first_line(exc)}") from None
        try:
            return self._parse_tokens(tokens), []
        except SqlglotError as exc:
            cut = words.error_token(exc, tokens)
            if not cut:
                raise UnsupportedSQL(f"sqlglot cannot parse: {_first_line(exc)}") from None
            try:
                return self._parse_tokens(tokens[:cut]), tokens[cut:]
            except SqlglotError:
                raise UnsupportedSQL(f"sqlglot cannot parse: {_first_line(exc)}") from None

    def _parse_tokens(self, tokens: list[Token]) -> exp.Expression:
        trees = words.spider_parse(self.text[: tokens[-1].end + 1])
        tree = next((t for t in trees if t is not None), None)
        if tree is None:
            raise UnsupportedSQL("empty query")
        return tree

    def _scan_aliases(self, tree: exp.Expression, tokens: list[Token]) -> None:
        """Table aliases are global in the official grammar: every ``X AS Y`` of the whole
        query, the last one winning, and none may equal a table name."""
        by_start = {tok.start: i for i, tok in enumerate(tokens)}
        found: list[tuple[int, str, str]] = []
        for node in tree.find_all(exp.Alias, exp.TableAlias):
            if isinstance(node, exp.Alias):
                if not (isinstance(node.parent, exp.Select) and node.arg_key == "expressions"):
                    raise UnsupportedSQL(
                        "aliases are only read after tables in the official grammar"
                    )
                ident = node.args.get("alias")
                start = ident.meta.get("start") if isinstance(ident, exp.Identifier) else None
                idx = by_start.get(start) if start is not None else None
                if not idx or ident.quoted or tokens[idx - 1].token_type == TokenType.ALIAS:
                    raise UnsupportedSQL("column aliases are not in the official grammar")
                self.bare_select_aliases.add(id(node))
                continue
            parent = node.parent
            if not isinstance(parent, exp.Table):
                raise UnsupportedSQL("only tables may have an alias in the official grammar")
            if node.args.get("columns"):
                raise UnsupportedSQL("alias column lists are not in the official grammar")
            ident = node.this
            if not isinstance(ident, exp.Identifier) or ident.quoted:
                raise UnsupportedSQL("quoted alias")
            start = ident.meta.get("start")
            idx = by_start.get(start) if start is not None else None
            if idx is None:
                raise UnsupportedSQL("alias position unknown")
            alias = ident.name.lower()
            if idx == 0 or tokens[idx - 1].token_type != TokenType.ALIAS:
                self.bare_aliases[id(parent)] = alias
                continue
            if alias in self.schema.tables:
                raise UnsupportedSQL(f"alias {alias} is also a table name")
            found.append((start, alias, parent.name.lower()))
        for _, alias, table in sorted(found):
            self.aliases[alias] = table

    def _table_key(self, name: str) -> str | None:
        if name in self.schema.tables:
            return name
        return self.aliases.get(name)

    # ---- queries ------------------------------------------------------------------------
    def _query(self, node: exp.Expression, trailing_ok: bool = False) -> dict:
        if isinstance(node, exp.Subquery) and not node.alias:
            _no_extra_args(node, {"this"})
            node = node.this
        if isinstance(node, exp.SetOperation):
            return self._set_operation(node, trailing_ok)
        if isinstance(node, exp.Select):
            return self._select(node, {}, trailing_ok)
        raise UnsupportedSQL(f"{type(node).__name__} is not a query the official grammar reads")

    def _set_operation(self, node: exp.SetOperation, trailing_ok: bool) -> dict:
        # sqlglot chains A op1 B op2 C to the left and hangs ORDER BY / LIMIT on the chain;
        # the official grammar nests to the right (A.op1 = B, B.op2 = C) and reads those
        # clauses as part of the last SELECT.
        modifiers = {k: node.args.get(k) for k in _MODIFIERS if node.args.get(k)}
        chain = _flatten_set_ops(node)
        parts: list[dict] = []
        for i, (_, operand) in enumerate(chain):
            last = i == len(chain) - 1
            if isinstance(operand, exp.Subquery) and not operand.alias:
                operand = operand.this
            if not isinstance(operand, exp.Select):
                raise UnsupportedSQL("a set operation operand must be a plain SELECT")
            parts.append(self._select(operand, modifiers if last else {}, trailing_ok and last))
        for i in range(len(parts) - 2, -1, -1):
            parts[i][chain[i + 1][0]] = parts[i + 1]
        return parts[0]

    def _select(self, node: exp.Select, modifiers: dict, trailing_ok: bool) -> dict:
        extra = {k for k, v in node.args.items() if v and k not in _SELECT_ARGS}
        own = {k: node.args[k] for k in _MODIFIERS if node.args.get(k)}
        if modifiers and own:
            raise UnsupportedSQL("ORDER BY / LIMIT on both a SELECT and its set operation")
        mods = modifiers or own
        if extra - set(_MODIFIERS):
            raise UnsupportedSQL(
                f"unsupported clause(s): {', '.join(sorted(extra - set(_MODIFIERS)))}"
            )

        table_units, conds, tables = self._from(node, trailing_ok)
        sql: dict[str, Any] = {"from": {"table_units": table_units, "conds": conds}}
        sql["select"] = self._select_list(node, tables)
        where = node.args.get("where")
        sql["where"] = self._condition(where.this, tables) if where else []
        sql["groupBy"] = self._group_by(node.args.get("group"), tables)
        having = node.args.get("having")
        sql["having"] = self._condition(having.this, tables) if having else []
        sql["orderBy"] = self._order_by(mods.get("order"), tables)
        limit = mods.get("limit")
        if trailing_ok and self.dangling_order and not sql["orderBy"] and limit is None:
            sql["orderBy"] = ("asc", [])
        if trailing_ok and self.dangling_limit:
            if limit is not None:
                raise UnsupportedSQL("two LIMIT clauses")
            limit = exp.Limit()
        offset = mods.get("offset")
        if limit is not None and limit.args.get("offset") is not None:
            offset = limit.args["offset"]
        if offset is not None and not (trailing_ok and limit is not None):
            # Text after "LIMIT n" is ignored only at the very end of the whole query.
            raise UnsupportedSQL("OFFSET is not in the official grammar")
        # The official parser reads the LIMIT count as a string token, so it always stores 1.
        sql["limit"] = 1 if limit is not None else None
        for op in _SET_OPS.values():
            sql[op] = None
        return sql

    def _from(self, node: exp.Select, trailing: bool) -> tuple[list, list, list[str]]:
        from_ = node.args.get("from_")
        if from_ is None and trailing and self.dangling_from and not node.args.get("joins"):
            return [], [], []  # "SELECT count(*) FROM" at the very end: no tables
        if from_ is None:
            raise UnsupportedSQL("'from' not found")
        _no_extra_args(from_, {"this"})
        table_units: list = []
        conds: list = []
        tables: list[str] = []
        last_on_open = False
        sources: list[tuple[exp.Expression, exp.Join | None]] = [(from_.this, None)]
        sources += [(j.this, j) for j in node.args.get("joins") or []]
        for source, join in sources:
            if join is not None:
                self._check_join(join, last_on_open)
            if isinstance(source, exp.Table):
                table_units.append(("table_unit", self._table_unit(source, tables)))
                bare = self.bare_aliases.get(id(source))
                if bare is not None:
                    table_units.append(("table_unit", self._table_id(bare, tables)))
            elif isinstance(source, exp.Subquery):
                if source.alias:
                    raise UnsupportedSQL(
                        "a FROM subquery cannot have an alias in the official grammar"
                    )
                table_units.append(("sql", self._query(source.this)))
            else:
                raise UnsupportedSQL(f"{type(source).__name__} in FROM")
            on = join.args.get("on") if join is not None else None
            last_on_open = False
            if on is not None and not isinstance(on, exp.Boolean):
                # (sqlglot writes a missing ON as TRUE; a written TRUE was refused earlier.)
                this_conds, last_on_open = self._condition_open(on, list(tables))
                if conds:
                    conds.append("and")
                conds.extend(this_conds)
        return table_units, conds, tables

    def _check_join(self, join: exp.Join, previous_on_open: bool) -> None:
        _no_extra_args(join, {"this", "on", "kind", "side", "method"})
        words = {str(join.args.get(k) or "").upper() for k in ("kind", "side", "method")} - {""}
        if not words:
            return
        if words <= _SWALLOWED_JOIN_WORDS and words != {"CROSS"} and previous_on_open:
            return
        if words == {"CROSS"} and previous_on_open and self._cross_join_written(join):
            return
        raise UnsupportedSQL(f"{' '.join(sorted(words))} JOIN is not in the official grammar")

    def _cross_join_written(self, join: exp.Join) -> bool:
        # sqlglot gives "a, b" and "a CROSS JOIN b" the same tree; a comma stops the
        # official value scan, the word CROSS does not.
        table = join.this
        ident = table.this if isinstance(table, exp.Table) else None
        start = ident.meta.get("start") if isinstance(ident, exp.Identifier) else None
        if start is None:
            return False
        head = self.text[:start].rstrip()
        return head.upper().endswith("JOIN")

    def _table_unit(self, table: exp.Table, tables: list[str]) -> str:
        _no_extra_args(table, {"this", "alias"})
        ident = table.this
        if not isinstance(ident, exp.Identifier) or ident.quoted:
            raise UnsupportedSQL("quoted or computed table name")
        return self._table_id(ident.name.lower(), tables)

    def _table_id(self, name: str, tables: list[str]) -> str:
        key = self._table_key(name)
        table_id = self.schema.table_id(key) if key else None
        if table_id is None:
            raise UnsupportedSQL(f"unknown table {name}")
        tables.append(key)  # type: ignore[arg-type]
        return table_id

    # ---- select / group / order ---------------------------------------------------------
    def _select_list(self, node: exp.Select, tables: list[str]) -> tuple:
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise UnsupportedSQL("DISTINCT ON")
        units = []
        items: list[exp.Expression] = []
        for item in node.expressions:
            if id(item) in self.bare_select_aliases:
                items += [item.this, exp.column(item.args["alias"].copy())]
            else:
                items.append(item)
        for item in items:
            agg = _AGG_ID.get(type(item))
            if agg is not None:
                # An aggregate written first is read at the select-unit level; its
                # parenthesised argument is a whole val_unit.
                units.append((agg, self._agg_argument(item, tables)))
                continue
            if type(item) in _UNIT_ID and type(item.this) in _AGG_ID:
                raise UnsupportedSQL("arithmetic on an aggregate in SELECT")
            units.append((0, self._val_unit(item, tables)))
        if not units:
            raise UnsupportedSQL("empty SELECT list")
        return (distinct is not None, units)

    def _agg_argument(self, agg: exp.Expression, tables: list[str]) -> tuple:
        _no_extra_args(agg, {"this", "big_int"})
        arg = agg.this
        if isinstance(arg, exp.Distinct):
            _no_extra_args(arg, {"expressions"})
            if len(arg.expressions) != 1:
                raise UnsupportedSQL("DISTINCT over several expressions")
            op, first, second = self._val_unit_core(arg.expressions[0], tables)
            return (op, (first[0], first[1], True), second)
        return self._val_unit_core(arg, tables)

    def _group_by(self, group: exp.Group | None, tables: list[str]) -> list:
        if group is None:
            return []
        _no_extra_args(group, {"expressions"})
        return [self._col_unit(e, tables) for e in group.expressions]

    def _order_by(self, order: exp.Order | None, tables: list[str]) -> Any:
        if order is None:
            return []
        _no_extra_args(order, {"expressions"})
        direction = "asc"
        units = []
        for item in order.expressions:
            if not isinstance(item, exp.Ordered):
                raise UnsupportedSQL("unexpected ORDER BY item")
            _no_extra_args(item, {"this", "desc", "nulls_first"})
            units.append(self._val_unit(item.this, tables))
            desc = item.args.get("desc")
            if desc is not None:
                # One direction for the whole clause: the last ASC/DESC written.
                direction = "desc" if desc else "asc"
        return (direction, units)

    # ---- val_unit / col_unit ------------------------------------------------------------
    def _val_unit(self, node: exp.Expression, tables: list[str]) -> tuple:
        if isinstance(node, exp.Paren):
            node = node.this
        return self._val_unit_core(node, tables)

    def _val_unit_core(self, node: exp.Expression, tables: list[str]) -> tuple:
        op = _UNIT_ID.get(type(node))
        if op is not None:
            _no_extra_args(node, {"this", "expression", "typed", "safe"})
            return (op, self._col_unit(node.this, tables), self._col_unit(node.expression, tables))
        return (0, self._col_unit(node, tables), None)

    def _col_unit(self, node: exp.Expression, tables: list[str]) -> tuple:
        agg = _AGG_ID.get(type(node))
        if agg is not None:
            _no_extra_args(node, {"this", "big_int"})
            arg = node.this
            distinct = False
            if isinstance(arg, exp.Distinct):
                _no_extra_args(arg, {"expressions"})
                if len(arg.expressions) != 1:
                    raise UnsupportedSQL("DISTINCT over several expressions")
                arg, distinct = arg.expressions[0], True
            return (agg, self._column(arg, tables), distinct)
        if isinstance(node, exp.Paren):
            node = node.this
        return (0, self._column(node, tables), False)

    def _column(self, node: exp.Expression, tables: list[str]) -> str:
        if isinstance(node, exp.Star):
            return "__all__"
        if not isinstance(node, exp.Column):
            raise UnsupportedSQL(
                f"{type(node).__name__} where the official grammar expects a column"
            )
        if node.args.get("db") or node.args.get("catalog"):
            raise UnsupportedSQL("db-qualified column")
        ident = node.this
        if not isinstance(ident, exp.Identifier) or ident.quoted:
            raise UnsupportedSQL("quoted or starred column")
        name = ident.name.lower()
        qualifier = node.args.get("table")
        if qualifier is not None:
            if not isinstance(qualifier, exp.Identifier) or qualifier.quoted:
                raise UnsupportedSQL("quoted column qualifier")
            key = self._table_key(qualifier.name.lower())
            col_id = self.schema.column_id(key, name) if key else None
            if col_id is None:
                raise UnsupportedSQL(f"unknown column {qualifier.name}.{ident.name}")
            return col_id
        # Unqualified: the first table of this FROM that has the column.
        for table in tables:
            col_id = self.schema.column_id(table, name)
            if col_id is not None:
                return col_id
        raise UnsupportedSQL(f"unknown column {ident.name}")

    # ---- conditions ---------------------------------------------------------------------
    def _condition(self, node: exp.Expression, tables: list[str]) -> list:
        return self._condition_open(node, tables)[0]

    def _condition_open(self, node: exp.Expression, tables: list[str]) -> tuple[list, bool]:
        """The flat condition list, and whether it ends with an unbracketed column value
        (whose official value scan runs on past words it does not know)."""
        items = _flatten_condition(node)
        out: list = []
        open_end = False
        i = 0
        while i < len(items):
            unit, open_end = self._cond_unit(items[i], tables)
            out.append(unit)
            i += 1
            if open_end and i < len(items) and items[i] == "or":
                # The value scan after a column stops only at AND (or a clause word), so
                # "a = b OR c = 1" reads as "a = b": the OR branch is skipped unread.
                while i < len(items) and items[i] == "or":
                    if not _plain_predicate(items[i + 1]):
                        raise UnsupportedSQL(
                            "an OR after a column value the official parser misreads"
                        )
                    i += 2
            if i < len(items):
                out.append(items[i])
                i += 1
                open_end = False
        if id(node) == self.connector_target and not open_end:
            out.append(self.dangling_connector)
        self.open_ends[id(node)] = open_end
        return out, open_end

    def _cond_unit(self, node: exp.Expression, tables: list[str]) -> tuple[tuple, bool]:
        not_op = False
        if isinstance(node, exp.Not):
            node = node.this
            not_op = True
            if not isinstance(node, exp.In | exp.Like | exp.Between):
                raise UnsupportedSQL("NOT is only read before IN, LIKE or BETWEEN")
        op = _OP_ID.get(type(node))
        if op is None:
            raise UnsupportedSQL(f"{type(node).__name__} is not an official condition")
        if isinstance(node, exp.Like) and node.args.get("negate"):
            not_op = True
        lhs = self._val_unit(node.this, tables)
        if isinstance(node, exp.Between):
            _no_extra_args(node, {"this", "low", "high"})
            val1, _ = self._value(node.args["low"], tables)
            val2, open_end = self._value(node.args["high"], tables)
            return (not_op, op, lhs, val1, val2), open_end
        if isinstance(node, exp.In):
            _no_extra_args(node, {"this", "query", "expressions"})
            query = node.args.get("query")
            if query is not None:
                return (not_op, op, lhs, self._subquery(query), None), False
            values = node.expressions
            if len(values) != 1:
                raise UnsupportedSQL("IN with a list of values")
            val, _ = self._value(values[0], tables)  # bracketed: the scan stops at ")"
            return (not_op, op, lhs, val, None), False
        _no_extra_args(node, {"this", "expression", "negate"})
        val, open_end = self._value(node.expression, tables)
        return (not_op, op, lhs, val, None), open_end

    def _subquery(self, node: exp.Expression) -> dict:
        if not isinstance(node, exp.Subquery) or node.alias:
            raise UnsupportedSQL("expected a bracketed subquery")
        _no_extra_args(node, {"this"})
        return self._query(node.this)

    def _value(self, node: exp.Expression, tables: list[str]) -> tuple[Any, bool]:
        if isinstance(node, exp.Subquery):
            return self._subquery(node), False
        if isinstance(node, exp.Paren):
            inner = node.this
            if isinstance(inner, exp.Column):
                return (0, self._column(inner, tables), False), False
            if isinstance(inner, exp.Literal | exp.Neg):
                return self._literal(inner), False
            raise UnsupportedSQL("unsupported bracketed value")
        if isinstance(node, exp.Literal | exp.Neg):
            return self._literal(node), False
        if isinstance(node, exp.Column):
            return (0, self._column(node, tables), False), True
        if type(node) in _UNIT_ID:
            # The official value scan reads one column and skips the rest up to a stop
            # word, so "a = b + 1" compares a with b.
            leftmost = node
            while type(leftmost) in _UNIT_ID:
                leftmost = leftmost.this
            if not isinstance(leftmost, exp.Column) or not _plain_arithmetic(node):
                raise UnsupportedSQL("arithmetic value")
            return (0, self._column(leftmost, tables), False), True
        raise UnsupportedSQL(f"{type(node).__name__} is not an official value")

    def _literal(self, node: exp.Expression) -> Any:
        sign = ""
        if isinstance(node, exp.Neg):
            node = node.this
            sign = "-"
        if not isinstance(node, exp.Literal):
            raise UnsupportedSQL("unsupported value")
        if node.is_string:
            if sign:
                raise UnsupportedSQL("negated string")
            start, end = node.meta.get("start"), node.meta.get("end")
            raw = self.text[start : end + 1] if start is not None else f'"{node.this}"'
            return raw.replace("'", '"')
        if sign:
            start = node.meta.get("start")
            if start is None or start == 0 or self.text[start - 1] != "-":
                raise UnsupportedSQL("a minus sign apart from its number")
        try:
            return float(sign + node.this)
        except ValueError:
            raise UnsupportedSQL(f"number {node.this!r}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _last_clause(tree: exp.Expression) -> tuple[str, exp.Expression | None]:
    """The clause the top-level query ends with, and its condition when it is one."""
    node = tree.this if isinstance(tree, exp.Subquery) else tree
    mods: dict = {}
    if isinstance(node, exp.SetOperation):
        mods = {k: node.args.get(k) for k in _MODIFIERS if node.args.get(k)}
        node = _flatten_set_ops(node)[-1][1]
        node = node.this if isinstance(node, exp.Subquery) else node
    if mods.get("limit") or node.args.get("limit"):
        return "limit", None
    if mods.get("order") or node.args.get("order"):
        return "order", None
    if node.args.get("having"):
        return "having", node.args["having"].this
    if node.args.get("group"):
        return "group", None
    if node.args.get("where"):
        return "where", node.args["where"].this
    joins = node.args.get("joins") or []
    on = joins[-1].args.get("on") if joins else None
    if on is not None and not isinstance(on, exp.Boolean):
        return "on", on
    return "from", None


def _no_extra_args(node: exp.Expression, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key, value in node.args.items():
        if key not in allowed and value not in (None, False, [], ""):
            raise UnsupportedSQL(f"{type(node).__name__}.{key} is not in the official grammar")


def _flatten_set_ops(node: exp.Expression) -> list[tuple[str | None, exp.Expression]]:
    if not isinstance(node, exp.SetOperation):
        return [(None, node)]
    if node.args.get("distinct") is False:
        raise UnsupportedSQL("UNION/INTERSECT/EXCEPT ALL is not in the official grammar")
    _no_extra_args(node, {"this", "expression", "distinct", *_MODIFIERS})
    left = node.this
    if isinstance(left, exp.SetOperation) and any(left.args.get(k) for k in _MODIFIERS):
        raise UnsupportedSQL("ORDER BY / LIMIT inside a chained set operation")
    return [*_flatten_set_ops(left), (_SET_OPS[type(node)], node.expression)]


def _flatten_condition(node: exp.Expression) -> list:
    """Conditions in text order with their connectors; the official list is flat."""
    if isinstance(node, exp.And):
        return [*_flatten_condition(node.this), "and", *_flatten_condition(node.expression)]
    if isinstance(node, exp.Or):
        return [*_flatten_condition(node.this), "or", *_flatten_condition(node.expression)]
    return [node]


def _plain_arithmetic(node: exp.Expression) -> bool:
    if type(node) in _UNIT_ID:
        return _plain_arithmetic(node.this) and _plain_arithmetic(node.expression)
    return isinstance(node, exp.Column | exp.Literal)


def _plain_predicate(node: Any) -> bool:
    """A condition with no word that ends the official value scan (brackets, AND, ...)."""
    if isinstance(node, exp.Not):
        node = node.this
    if not isinstance(node, exp.EQ | exp.GT | exp.LT | exp.GTE | exp.LTE | exp.NEQ | exp.Like):
        return False
    return all(_plain_arithmetic(side) for side in (node.this, node.expression))
