"""Spider SQL in the official evaluator's structure, built from sqlglot's expression tree.

The official Spider evaluator (taoyds/test-suite-sql-eval, process_sql.py) reads a query
with a hand-written grammar over nltk word tokens and turns it into nested dicts and
tuples; exact set match and the hardness levels are defined on that structure. This
module builds the same structure from sqlglot's tree, and refuses (``UnsupportedSQL``)
every query that grammar refuses, so a prediction the official evaluator cannot parse
scores em=0 here too.

The structure (kept identical so that equality behaves exactly as the official one)::

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

What the tree cannot show -- how words were spaced, whether ``NOT`` came before the column
or before ``IN``, ``<>`` versus ``!=``, whether ``AS`` was written -- comes from sqlglot's
token stream: the official tokenizer splits on whitespace and a few punctuation marks
only, so ``a=1`` is one word its grammar cannot read.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType

from harness.errors import DataError, HarnessError

AGG_OPS = ("none", "max", "min", "count", "sum", "avg")
UNIT_OPS = ("none", "-", "+", "*", "/")
WHERE_OPS = ("not", "between", "=", ">", "<", ">=", "<=", "!=", "in", "like", "is", "exists")

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
# Characters the official tokenizer always cuts a word at (nltk's treebank rules), so a
# token next to one of them stands alone even without a space.
_SPLIT_CHARS = frozenset("()[]{}<>;@#$%&?!*,:")
# Join words the official grammar skips when they follow a column-valued ON condition: its
# value scan reads on to the next JOIN, so `ON a.x = b.y INNER JOIN c` parses as a JOIN.
_SWALLOWED_JOIN_WORDS = {"INNER", "LEFT", "RIGHT", "OUTER", "FULL", "CROSS", "NATURAL"}


class _DropCommandFallbackWarning(logging.Filter):
    """sqlglot warns when it reads an unknown statement as an opaque Command; such a
    statement is refused here anyway, so the warning is only noise in a scoring run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_DropCommandFallbackWarning())


class UnsupportedSQL(HarnessError):
    """The official Spider grammar could not parse this query (its evaluator's parse fails)."""


class _SpiderDialect(SQLite):
    """SQLite, except that "..." is a string: the official tokenizer reads both quote kinds
    as string values (it rewrites every ' to " before splitting)."""

    # The official tokenizer keeps "18_49_rating_share" as one word: a column name.
    IDENTIFIERS_CAN_START_WITH_DIGIT = True

    class Tokenizer(SQLite.Tokenizer):
        QUOTES: ClassVar = ["'", '"']
        IDENTIFIERS: ClassVar = ["`", ("[", "]")]


@dataclass(eq=False)
class SpiderSchema:
    """Table -> column names, lowercased, as the official ``get_schema`` reads them."""

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


def _refuse(why: str) -> UnsupportedSQL:
    return UnsupportedSQL(why)


# Whitespace between a comparison sign and "=" is joined by the official tokenizer.
_SPLIT_COMPARISON = re.compile(r"([!<>])\s+=")


class _Converter:
    def __init__(self, sql: str, schema: SpiderSchema) -> None:
        self.schema = schema
        self.text = _SPLIT_COMPARISON.sub(r"\1=", sql)
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
        text = self.text
        if (text.count("'") + text.count('"')) % 2:
            raise _refuse("unbalanced quotes")
        try:
            tokens = _SpiderDialect().tokenize(text)
        except SqlglotError as exc:
            raise _refuse(f"cannot tokenize: {exc}") from None
        if tokens and tokens[-1].token_type == TokenType.ALIAS:
            raise _refuse("AS at the end of the query")
        # Where the official parser stops reading early, cut the text there; the words
        # after the cut (``tail``) must be ones it would silently ignore.
        tokens, after_limit = self._cut_after_limit(tokens)
        tokens = _cut_at_semicolon(tokens)
        tokens, tail = self._cut_at_comment(tokens)
        if not tail and not after_limit:
            tokens = self._strip_dangling_clause(tokens)
        if not tokens:
            raise _refuse("empty query")
        tree, unparsed = self._parse_prefix(tokens)
        if unparsed and after_limit:
            # The official parser stopped before reaching that LIMIT.
            self.dangling_limit = False
            tail.insert(0, "limit")
        tail = [self._word(tok) for tok in unparsed] + tail
        self._check_words(tokens, len(tokens) - len(unparsed))
        self._scan_aliases(tree, tokens)
        if self.dangling_connector:
            condition = _last_clause(tree)[1]
            if condition is None:
                tail.insert(0, self.dangling_connector)  # e.g. after GROUP BY: ignored
            else:
                self.connector_target = id(condition)
        sql = self._query(tree, trailing_ok=True)
        if tail:
            self._check_ignorable(tree, tail)
        return sql

    def _word(self, tok: Token) -> str:
        raw = self.text[tok.start : tok.end + 1].lower().split()
        return raw[0] if raw else tok.text.lower()

    def _cut_after_limit(self, tokens: list[Token]) -> tuple[list[Token], bool]:
        """The official LIMIT takes whatever word follows it as its count (it stores 1) and
        the top-level parser ignores the rest; sqlglot wants a number there."""
        depth = 0
        for i, tok in enumerate(tokens):
            depth += (tok.token_type == TokenType.L_PAREN) - (tok.token_type == TokenType.R_PAREN)
            if tok.token_type != TokenType.LIMIT or depth or i + 1 >= len(tokens):
                continue
            if tokens[i + 1].token_type == TokenType.NUMBER:
                return tokens, False
            rest = [t.text.lower() for t in tokens[i + 2 :] if t.token_type != TokenType.SEMICOLON]
            if rest and rest[0] in _SET_WORDS:
                raise _refuse("a set operation after a LIMIT without a number")
            self.dangling_limit = True
            return tokens[:i], True
        return tokens, False

    def _cut_at_comment(self, tokens: list[Token]) -> tuple[list[Token], list[str]]:
        """SQL comments are plain words to the official tokenizer; cut the query where the
        first one starts and return its words (to be checked as ignorable trailing text)."""
        ends = [-1] + [tok.end for tok in tokens]
        starts = [tok.start for tok in tokens] + [len(self.text)]
        for i, (end, start) in enumerate(zip(ends, starts, strict=True)):
            gap = self.text[end + 1 : start]
            marks = [gap.find(m) for m in ("--", "/*") if m in gap]
            if marks:
                rest = self.text[end + 1 + min(marks) :]
                return tokens[:i], rest.lower().split()
        return tokens, []

    def _strip_dangling_clause(self, tokens: list[Token]) -> list[Token]:
        """A clause keyword with nothing after it, at the very end: the official parser
        reads an empty clause (no tables, no conditions, an ORDER BY with no columns)."""
        last = tokens[-1].token_type if tokens else None
        if last in (TokenType.AND, TokenType.OR):
            # "WHERE a = 1 OR" reads as the condition list [a = 1, "or"].
            self.dangling_connector = tokens[-1].text.lower()
            return tokens[:-1]
        if last in (TokenType.WHERE, TokenType.HAVING, TokenType.GROUP_BY):
            return tokens[:-1]  # an empty condition / group list is the same as none
        if last == TokenType.ORDER_BY:
            self.dangling_order = True
            return tokens[:-1]
        if last == TokenType.FROM:
            self.dangling_from = True
            return tokens[:-1]
        return tokens

    def _parse_prefix(self, tokens: list[Token]) -> tuple[exp.Expression, list[Token]]:
        """sqlglot's tree of the query, or of the prefix the official parser reads when it
        stops early: it ignores what follows a complete top-level query (checked by
        _check_ignorable once the prefix is converted)."""
        cut = _second_direction_word(tokens)
        if cut is not None:
            # "ORDER BY a ASC DESC ...": the official ORDER BY ends at the second word.
            self.cut_at_direction = True
            try:
                return self._parse_tokens(tokens[:cut]), tokens[cut:]
            except SqlglotError as exc:
                raise _refuse(f"sqlglot cannot parse: {_first_line(exc)}") from None
        try:
            return self._parse_tokens(tokens), []
        except SqlglotError as exc:
            cut = _error_token(exc, tokens)
            if not cut:
                raise _refuse(f"sqlglot cannot parse: {_first_line(exc)}") from None
            try:
                return self._parse_tokens(tokens[:cut]), tokens[cut:]
            except SqlglotError:
                raise _refuse(f"sqlglot cannot parse: {_first_line(exc)}") from None

    def _parse_tokens(self, tokens: list[Token]) -> exp.Expression:
        trees = sqlglot.parse(self.text[: tokens[-1].end + 1], dialect=_SpiderDialect)
        tree = next((t for t in trees if t is not None), None)
        if tree is None:
            raise _refuse("empty query")
        return tree

    def _check_ignorable(self, tree: exp.Expression, words: list[str]) -> None:
        """Refuse unless the official parser, having read the prefix, stops at ``words``
        without error (it silently ignores whatever is left after a top-level query)."""
        clause, condition = _last_clause(tree)
        if condition is not None and self.open_ends.get(id(condition)):
            # The value scan after a column reads on to the first stop word.
            stop = next((i for i, w in enumerate(words) if w in _SCAN_STOP_WORDS), None)
            if stop is None:
                return
            words = words[stop:]
        first = words[0]
        if first in _SET_WORDS:
            raise _refuse("a set operation the official parser cannot finish")
        if clause == "order" and self.cut_at_direction:
            return
        stops = _STOPS_AFTER.get(clause)  # None: any word ends a list clause
        if (stops is None or first in stops) and first not in _READ_NEXT[clause]:
            return
        raise _refuse(f"the official parser cannot read the words from {words[0]!r} on")

    def _check_words(self, tokens: list[Token], parsed: int) -> None:
        """Refuse what the official word tokenizer + grammar cannot read but sqlglot reads
        (or silently repairs): visible only in the token stream, not in the tree. Only the
        first ``parsed`` tokens were read; the rest still count as what follows them."""
        why = _clause_order(tokens[:parsed])
        for i in range(parsed):
            why = why or _token_rule(tokens, i, self.text) or _glued_words(tokens, i, self.text)
        if why:
            raise _refuse(why)

    def _scan_aliases(self, tree: exp.Expression, tokens: list[Token]) -> None:
        """Table aliases are global in the official grammar: every ``X AS Y`` of the whole
        query, the last one winning, and none may equal a table name."""
        by_start = {tok.start: i for i, tok in enumerate(tokens)}
        found: list[tuple[int, str, str]] = []
        for node in tree.find_all(exp.Alias, exp.TableAlias):
            if isinstance(node, exp.Alias):
                if not (isinstance(node.parent, exp.Select) and node.arg_key == "expressions"):
                    raise _refuse("aliases are only read after tables in the official grammar")
                ident = node.args.get("alias")
                start = ident.meta.get("start") if isinstance(ident, exp.Identifier) else None
                idx = by_start.get(start) if start is not None else None
                if not idx or ident.quoted or tokens[idx - 1].token_type == TokenType.ALIAS:
                    raise _refuse("column aliases are not in the official grammar")
                self.bare_select_aliases.add(id(node))
                continue
            parent = node.parent
            if not isinstance(parent, exp.Table):
                raise _refuse("only tables may have an alias in the official grammar")
            if node.args.get("columns"):
                raise _refuse("alias column lists are not in the official grammar")
            ident = node.this
            if not isinstance(ident, exp.Identifier) or ident.quoted:
                raise _refuse("quoted alias")
            start = ident.meta.get("start")
            idx = by_start.get(start) if start is not None else None
            if idx is None:
                raise _refuse("alias position unknown")
            alias = ident.name.lower()
            if idx == 0 or tokens[idx - 1].token_type != TokenType.ALIAS:
                self.bare_aliases[id(parent)] = alias
                continue
            if alias in self.schema.tables:
                raise _refuse(f"alias {alias} is also a table name")
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
        raise _refuse(f"{type(node).__name__} is not a query the official grammar reads")

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
                raise _refuse("a set operation operand must be a plain SELECT")
            parts.append(self._select(operand, modifiers if last else {}, trailing_ok and last))
        for i in range(len(parts) - 2, -1, -1):
            parts[i][chain[i + 1][0]] = parts[i + 1]
        return parts[0]

    def _select(self, node: exp.Select, modifiers: dict, trailing_ok: bool) -> dict:
        extra = {k for k, v in node.args.items() if v and k not in _SELECT_ARGS}
        own = {k: node.args[k] for k in _MODIFIERS if node.args.get(k)}
        if modifiers and own:
            raise _refuse("ORDER BY / LIMIT on both a SELECT and its set operation")
        mods = modifiers or own
        if extra - set(_MODIFIERS):
            raise _refuse(f"unsupported clause(s): {', '.join(sorted(extra - set(_MODIFIERS)))}")

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
                raise _refuse("two LIMIT clauses")
            limit = exp.Limit()
        offset = mods.get("offset")
        if limit is not None and limit.args.get("offset") is not None:
            offset = limit.args["offset"]
        if offset is not None and not (trailing_ok and limit is not None):
            # Text after "LIMIT n" is ignored only at the very end of the whole query.
            raise _refuse("OFFSET is not in the official grammar")
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
            raise _refuse("'from' not found")
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
                    raise _refuse("a FROM subquery cannot have an alias in the official grammar")
                table_units.append(("sql", self._query(source.this)))
            else:
                raise _refuse(f"{type(source).__name__} in FROM")
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
        raise _refuse(f"{' '.join(sorted(words))} JOIN is not in the official grammar")

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
            raise _refuse("quoted or computed table name")
        return self._table_id(ident.name.lower(), tables)

    def _table_id(self, name: str, tables: list[str]) -> str:
        key = self._table_key(name)
        table_id = self.schema.table_id(key) if key else None
        if table_id is None:
            raise _refuse(f"unknown table {name}")
        tables.append(key)  # type: ignore[arg-type]
        return table_id

    # ---- select / group / order ---------------------------------------------------------
    def _select_list(self, node: exp.Select, tables: list[str]) -> tuple:
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise _refuse("DISTINCT ON")
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
                raise _refuse("arithmetic on an aggregate in SELECT")
            units.append((0, self._val_unit(item, tables)))
        if not units:
            raise _refuse("empty SELECT list")
        return (distinct is not None, units)

    def _agg_argument(self, agg: exp.Expression, tables: list[str]) -> tuple:
        _no_extra_args(agg, {"this", "big_int"})
        arg = agg.this
        if isinstance(arg, exp.Distinct):
            _no_extra_args(arg, {"expressions"})
            if len(arg.expressions) != 1:
                raise _refuse("DISTINCT over several expressions")
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
                raise _refuse("unexpected ORDER BY item")
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
                    raise _refuse("DISTINCT over several expressions")
                arg, distinct = arg.expressions[0], True
            return (agg, self._column(arg, tables), distinct)
        if isinstance(node, exp.Paren):
            node = node.this
        return (0, self._column(node, tables), False)

    def _column(self, node: exp.Expression, tables: list[str]) -> str:
        if isinstance(node, exp.Star):
            return "__all__"
        if not isinstance(node, exp.Column):
            raise _refuse(f"{type(node).__name__} where the official grammar expects a column")
        if node.args.get("db") or node.args.get("catalog"):
            raise _refuse("db-qualified column")
        ident = node.this
        if not isinstance(ident, exp.Identifier) or ident.quoted:
            raise _refuse("quoted or starred column")
        name = ident.name.lower()
        qualifier = node.args.get("table")
        if qualifier is not None:
            if not isinstance(qualifier, exp.Identifier) or qualifier.quoted:
                raise _refuse("quoted column qualifier")
            key = self._table_key(qualifier.name.lower())
            col_id = self.schema.column_id(key, name) if key else None
            if col_id is None:
                raise _refuse(f"unknown column {qualifier.name}.{ident.name}")
            return col_id
        # Unqualified: the first table of this FROM that has the column.
        for table in tables:
            col_id = self.schema.column_id(table, name)
            if col_id is not None:
                return col_id
        raise _refuse(f"unknown column {ident.name}")

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
                        raise _refuse("an OR after a column value the official parser misreads")
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
                raise _refuse("NOT is only read before IN, LIKE or BETWEEN")
        op = _OP_ID.get(type(node))
        if op is None:
            raise _refuse(f"{type(node).__name__} is not an official condition")
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
                raise _refuse("IN with a list of values")
            val, _ = self._value(values[0], tables)  # bracketed: the scan stops at ")"
            return (not_op, op, lhs, val, None), False
        _no_extra_args(node, {"this", "expression", "negate"})
        val, open_end = self._value(node.expression, tables)
        return (not_op, op, lhs, val, None), open_end

    def _subquery(self, node: exp.Expression) -> dict:
        if not isinstance(node, exp.Subquery) or node.alias:
            raise _refuse("expected a bracketed subquery")
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
            raise _refuse("unsupported bracketed value")
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
                raise _refuse("arithmetic value")
            return (0, self._column(leftmost, tables), False), True
        raise _refuse(f"{type(node).__name__} is not an official value")

    def _literal(self, node: exp.Expression) -> Any:
        sign = ""
        if isinstance(node, exp.Neg):
            node = node.this
            sign = "-"
        if not isinstance(node, exp.Literal):
            raise _refuse("unsupported value")
        if node.is_string:
            if sign:
                raise _refuse("negated string")
            start, end = node.meta.get("start"), node.meta.get("end")
            raw = self.text[start : end + 1] if start is not None else f'"{node.this}"'
            return raw.replace("'", '"')
        if sign:
            start = node.meta.get("start")
            if start is None or start == 0 or self.text[start - 1] != "-":
                raise _refuse("a minus sign apart from its number")
        try:
            return float(sign + node.this)
        except ValueError:
            raise _refuse(f"number {node.this!r}") from None


_CLAUSE_WORDS = {"select", "from", "where", "group", "order", "limit", *_SET_OPS.values()}
_SET_WORDS = set(_SET_OPS.values())
# Words that end the official value scan after a column value.
_SCAN_STOP_WORDS = {",", ")", "and", "join", "on", "as", *_CLAUSE_WORDS}
# Where the official parser stops after the last clause of a top-level query, which next
# words end that clause's loop (_STOPS_AFTER; any word for list clauses) and which of
# those a later clause would then try to read (_READ_NEXT), failing where sqlglot did.
_STOPS_AFTER: dict[str, set[str]] = {
    "from": {"select", "from", "where", "group", "order", "limit", ")"},
    "on": {"select", "from", "where", "group", "order", "limit", ")", "join", "on", "as"},
    "where": {"select", "from", "where", "group", "order", "limit", ")", "join", "on", "as"},
    "having": {"select", "from", "where", "group", "order", "limit", ")", "join", "on", "as"},
}
_READ_NEXT: dict[str, set[str]] = {
    "from": {"where", "group", "order", "limit"},
    "on": {"where", "group", "order", "limit", "join", "on", "as"},
    "where": {"group", "order", "limit"},
    "having": {"order", "limit"},
    "group": {",", "having", "order", "limit"},
    "order": {",", "asc", "desc", "limit"},
    "limit": set(),
}


def _cut_at_semicolon(tokens: list[Token]) -> list[Token]:
    """The official parser stops at the first top-level ';' (unless a set operation follows)."""
    depth = 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
        elif tok.token_type == TokenType.SEMICOLON and depth == 0:
            rest = [t for t in tokens[i:] if t.token_type != TokenType.SEMICOLON]
            if rest and rest[0].text.lower() in _SET_WORDS:
                raise _refuse("a set operation after ';'")
            return tokens[:i]
    return tokens


_STRUCTURAL = frozenset(
    {
        TokenType.SELECT,
        TokenType.DISTINCT,
        TokenType.COMMA,
        TokenType.L_PAREN,
        TokenType.FROM,
        TokenType.JOIN,
        TokenType.ON,
        TokenType.WHERE,
        TokenType.HAVING,
        TokenType.GROUP_BY,
        TokenType.ORDER_BY,
        TokenType.LIMIT,
        TokenType.AND,
        TokenType.OR,
        TokenType.ALIAS,
        TokenType.UNION,
        TokenType.INTERSECT,
        TokenType.EXCEPT,
        TokenType.SEMICOLON,
        TokenType.DOT,
    }
)
_CLAUSE_HEADS = frozenset(
    {
        TokenType.FROM,
        TokenType.JOIN,
        TokenType.ON,
        TokenType.WHERE,
        TokenType.GROUP_BY,
        TokenType.HAVING,
        TokenType.ORDER_BY,
    }
)
_AFTER_NOT = (TokenType.IN, TokenType.LIKE, TokenType.BETWEEN)
_NOT_AFTER_CLAUSE_HEAD = _STRUCTURAL - {TokenType.L_PAREN} | {TokenType.HAVING}
# A trailing comma before FROM is read fine ("SELECT a, FROM t"); so is "a, (b)".
_AFTER_COMMA = (TokenType.FROM, TokenType.L_PAREN, TokenType.DISTINCT)
_NOT_AFTER_COMMA = _STRUCTURAL - set(_AFTER_COMMA) | {TokenType.R_PAREN}
_SIMPLE_VALUES = (TokenType.NUMBER, TokenType.STRING)


def _and_after_low_value(tokens: list[Token], j: int) -> bool:
    """Whether the word after BETWEEN's first value is AND (sqlglot tolerates its absence)."""
    if j < len(tokens) and tokens[j].token_type in (TokenType.DASH, TokenType.PLUS):
        j += 1
    if j >= len(tokens):
        return False
    if tokens[j].token_type in _SIMPLE_VALUES:
        j += 1
    elif tokens[j].token_type == TokenType.VAR:
        j += 1
        while j + 1 < len(tokens) and tokens[j].token_type == TokenType.DOT:
            j += 2
    else:
        return True  # a bracketed or unusual value: left to the tree checks
    return j < len(tokens) and tokens[j].token_type == TokenType.AND


def _second_direction_word(tokens: list[Token]) -> int | None:
    for i in range(1, len(tokens)):
        if tokens[i].token_type in _DIRECTIONS and tokens[i - 1].token_type in _DIRECTIONS:
            return i
    return None


_DIRECTIONS = (TokenType.ASC, TokenType.DESC)


def _error_token(exc: SqlglotError, tokens: list[Token]) -> int | None:
    """Index of the token sqlglot stopped at (its errors name the token's end line/col)."""
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return None
    line, col = errors[0].get("line"), errors[0].get("col")
    for i, tok in enumerate(tokens):
        if tok.line == line and tok.col == col:
            return i
    return None


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


_CLAUSE_RANK = {
    TokenType.WHERE: 1,
    TokenType.GROUP_BY: 2,
    TokenType.HAVING: 3,
    TokenType.ORDER_BY: 4,
    TokenType.LIMIT: 5,
}
_QUERY_STARTS = (TokenType.SELECT, TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT)


def _clause_order(tokens: list[Token]) -> str | None:
    """The official parser reads WHERE, GROUP BY, HAVING, ORDER BY, LIMIT in that order
    only; sqlglot accepts them in any order."""
    ranks = [0]  # per bracket depth: the last clause seen in the current query
    for tok in tokens:
        kind = tok.token_type
        if kind == TokenType.L_PAREN:
            ranks.append(0)
        elif kind == TokenType.R_PAREN and len(ranks) > 1:
            ranks.pop()
        elif kind in _QUERY_STARTS:
            ranks[-1] = 0
        elif kind in _CLAUSE_RANK:
            if _CLAUSE_RANK[kind] < ranks[-1]:
                return f"{tok.text} after a later clause"
            ranks[-1] = _CLAUSE_RANK[kind]
    return None


def _token_rule(tokens: list[Token], i: int, text: str) -> str | None:
    tok = tokens[i]
    kind = tok.token_type
    before = tokens[i - 1].token_type if i else TokenType.SELECT
    after = tokens[i + 1].token_type if i + 1 < len(tokens) else TokenType.SEMICOLON
    if kind == TokenType.STRING and any(q in text[tok.start + 1 : tok.end] for q in "'\""):
        return "a quote inside a string: the official tokenizer pairs quotes naively"
    if kind == TokenType.NEQ and tok.text == "<>":
        return "'<>' is not an official operator"
    if kind in (TokenType.TRUE, TokenType.FALSE, TokenType.NULL):
        return f"{tok.text} is not a value the official grammar reads"
    if kind == TokenType.NOT and (tok.text.lower() != "not" or after not in _AFTER_NOT):
        return "NOT is only read as a word right before IN, LIKE or BETWEEN"
    if kind == TokenType.COMMA and (before in _STRUCTURAL or after in _NOT_AFTER_COMMA):
        return "a comma the official grammar does not read (sqlglot skips it)"
    if kind == TokenType.ALIAS and (before in _STRUCTURAL or after in _STRUCTURAL):
        return "AS is only read between a table and its alias"
    if kind in _CLAUSE_HEADS and i + 1 < len(tokens) and after in _NOT_AFTER_CLAUSE_HEAD:
        return f"nothing is read after {tok.text!r}"
    if kind == TokenType.BETWEEN and not _and_after_low_value(tokens, i + 1):
        return "BETWEEN without AND"
    if kind == TokenType.DOT:
        joined_before = i > 0 and tokens[i - 1].end + 1 == tok.start
        joined_after = i + 1 < len(tokens) and tokens[i + 1].start == tok.end + 1
        if not (joined_before and joined_after):
            return "a qualified column must be written without spaces"
    return None


def _glued_words(tokens: list[Token], i: int, text: str) -> str | None:
    """Two sqlglot tokens with nothing between them form one word for the official
    tokenizer unless one side is a character it always splits at (``a=1`` is one word)."""
    if i == 0:
        return None
    prev, tok = tokens[i - 1], tokens[i]
    if prev.end + 1 != tok.start:
        return None  # separated by whitespace
    if text[prev.end] in _SPLIT_CHARS or text[tok.start] in _SPLIT_CHARS:
        return None
    if TokenType.DOT in (prev.token_type, tok.token_type):
        return None  # t1.name is one word, as intended
    signed_number = (
        prev.token_type in (TokenType.DASH, TokenType.PLUS)
        and tok.token_type == TokenType.NUMBER
        and (i < 2 or tokens[i - 2].end + 1 != prev.start or _split_at(text, prev.start))
    )
    if signed_number:
        return None  # -1 is one word: a signed number
    return f"{prev.text!r} and {tok.text!r} are one word to the official tokenizer"


def _split_at(text: str, pos: int) -> bool:
    return pos == 0 or text[pos - 1] in _SPLIT_CHARS or text[pos - 1].isspace()


def _no_extra_args(node: exp.Expression, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for key, value in node.args.items():
        if key not in allowed and value not in (None, False, [], ""):
            raise _refuse(f"{type(node).__name__}.{key} is not in the official grammar")


def _flatten_set_ops(node: exp.Expression) -> list[tuple[str | None, exp.Expression]]:
    if not isinstance(node, exp.SetOperation):
        return [(None, node)]
    if node.args.get("distinct") is False:
        raise _refuse("UNION/INTERSECT/EXCEPT ALL is not in the official grammar")
    _no_extra_args(node, {"this", "expression", "distinct", *_MODIFIERS})
    left = node.this
    if isinstance(left, exp.SetOperation) and any(left.args.get(k) for k in _MODIFIERS):
        raise _refuse("ORDER BY / LIMIT inside a chained set operation")
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
