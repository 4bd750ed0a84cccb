"""What the official Spider tokenizer sees, read from sqlglot's token stream.

The official parser (taoyds/test-suite-sql-eval, process_sql.py) reads nltk word tokens:
both quote kinds delimit string values, words split only at whitespace and a few
punctuation marks (``a=1`` is one word its grammar cannot read), and ``!``, ``<``, ``>``
followed by ``=`` are joined. A sqlglot tree cannot show any of that (how words were
spaced, whether ``NOT`` came before the column or before ``IN``, ``<>`` versus ``!=``,
whether ``AS`` was written), and the official parser silently stops reading at places
where sqlglot reads on. This module holds those rules, stated on sqlglot's tokens:

- `read_words` finds where the official parser stops early (a LIMIT without a number,
  ``;``, a comment, a clause keyword left dangling) and returns what is left to parse;
- `check_words` refuses what the official grammar cannot read but sqlglot reads or
  silently repairs;
- `check_ignorable_tail` decides whether the words after a complete top-level query are
  ones the official parser ignores or ones it fails on.

``spider_sql`` turns the tree into the official structure; it calls these three.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, Tokenizer, TokenType

from harness.scoring.spider.structure import UnsupportedSQL


class SpiderDialect(SQLite):
    """SQLite, except that "..." is a string: the official tokenizer reads both quote kinds
    as string values (it rewrites every ' to " before splitting)."""

    # The official tokenizer keeps "18_49_rating_share" as one word: a column name.
    IDENTIFIERS_CAN_START_WITH_DIGIT = True

    class Tokenizer(SQLite.Tokenizer):
        QUOTES: ClassVar = ["'", '"']
        IDENTIFIERS: ClassVar = ["`", ("[", "]")]


@functools.cache
def _spider_dialect() -> tuple[SpiderDialect, Tokenizer]:
    # One dialect and one tokenizer per process: building them (as sqlglot.parse and
    # Dialect.tokenize do on every call) was several percent of a scoring worker's time.
    # Each tokenize() call starts from a clean state, so sharing them changes nothing.
    dialect = SpiderDialect()
    return dialect, dialect.tokenizer()


def spider_tokens(sql: str) -> list[Token]:
    return _spider_dialect()[1].tokenize(sql)


def spider_parse(sql: str) -> list[exp.Expr | None]:
    """`sqlglot.parse(sql, dialect=SpiderDialect)`, with the shared dialect and tokenizer."""
    dialect, tokenizer = _spider_dialect()
    return dialect.parser().parse(tokenizer.tokenize(sql), sql)


# Characters the official tokenizer always cuts a word at (nltk's treebank rules), so a
# token next to one of them stands alone even without a space.
_SPLIT_CHARS = frozenset("()[]{}<>;@#$%&?!*,:")
# Tokens after which the official tokenizer joins a following "=" across whitespace.
_JOINS_EQUALS = ("!", "<", ">")

SET_WORDS = frozenset({"intersect", "union", "except"})
_CLAUSE_WORDS = {"select", "from", "where", "group", "order", "limit", *SET_WORDS}
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
_DIRECTIONS = (TokenType.ASC, TokenType.DESC)
_CLAUSE_RANK = {
    TokenType.WHERE: 1,
    TokenType.GROUP_BY: 2,
    TokenType.HAVING: 3,
    TokenType.ORDER_BY: 4,
    TokenType.LIMIT: 5,
}
_QUERY_STARTS = (TokenType.SELECT, TokenType.UNION, TokenType.INTERSECT, TokenType.EXCEPT)


def join_split_comparisons(sql: str) -> str:
    """``a > = 1`` as ``a >= 1``: the official tokenizer joins ``!``, ``<`` or ``>`` with a
    following ``=`` word. Found on the token stream, so string values are left alone; text
    that does not tokenize is returned as is (it is refused later anyway)."""
    try:
        tokens = spider_tokens(sql)
    except SqlglotError:
        return sql
    cuts = [
        (tok.end + 1, nxt.start)
        for tok, nxt in pairwise(tokens)
        if tok.text in _JOINS_EQUALS
        and nxt.token_type == TokenType.EQ
        and nxt.start > tok.end + 1
        and not sql[tok.end + 1 : nxt.start].strip()
    ]
    for start, end in reversed(cuts):
        sql = sql[:start] + sql[end:]
    return sql


@dataclass
class Reading:
    """The part of a query the official parser reads, and how its reading ends."""

    tokens: list[Token]
    # Words after a cut: the official parser must ignore them (see check_ignorable_tail).
    tail: list[str]
    # "LIMIT x" with a non-number x was cut off: the official LIMIT reads any word.
    after_limit: bool = False
    # A clause keyword with nothing after it ended the query (and was cut off).
    dangling_order: bool = False
    dangling_from: bool = False
    dangling_connector: str | None = None  # "and" / "or"


def read_words(text: str) -> Reading:
    """Tokenize ``text`` and cut it where the official parser stops reading early."""
    if (text.count("'") + text.count('"')) % 2:
        raise UnsupportedSQL("unbalanced quotes")
    try:
        tokens = spider_tokens(text)
    except SqlglotError as exc:
        raise UnsupportedSQL(f"cannot tokenize: {exc}") from None
    if tokens and tokens[-1].token_type == TokenType.ALIAS:
        raise UnsupportedSQL("AS at the end of the query")
    tokens, after_limit = _cut_after_limit(tokens)
    tokens = _cut_at_semicolon(tokens)
    tokens, tail = _cut_at_comment(tokens, text)
    reading = Reading(tokens, tail, after_limit=after_limit)
    if not tail and not after_limit:
        _strip_dangling_clause(reading)
    if not reading.tokens:
        raise UnsupportedSQL("empty query")
    return reading


def word(text: str, tok: Token) -> str:
    """The official (lowercased, whitespace-split) word that starts at ``tok``."""
    raw = text[tok.start : tok.end + 1].lower().split()
    return raw[0] if raw else tok.text.lower()


def _cut_after_limit(tokens: list[Token]) -> tuple[list[Token], bool]:
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
        if rest and rest[0] in SET_WORDS:
            raise UnsupportedSQL("a set operation after a LIMIT without a number")
        return tokens[:i], True
    return tokens, False


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
            if rest and rest[0].text.lower() in SET_WORDS:
                raise UnsupportedSQL("a set operation after ';'")
            return tokens[:i]
    return tokens


def _cut_at_comment(tokens: list[Token], text: str) -> tuple[list[Token], list[str]]:
    """SQL comments are plain words to the official tokenizer; cut the query where the
    first one starts and return its words (to be checked as ignorable trailing text)."""
    ends = [-1] + [tok.end for tok in tokens]
    starts = [tok.start for tok in tokens] + [len(text)]
    for i, (end, start) in enumerate(zip(ends, starts, strict=True)):
        gap = text[end + 1 : start]
        marks = [gap.find(m) for m in ("--", "/*") if m in gap]
        if marks:
            rest = text[end + 1 + min(marks) :]
            return tokens[:i], rest.lower().split()
    return tokens, []


def _strip_dangling_clause(reading: Reading) -> None:
    """A clause keyword with nothing after it, at the very end: the official parser
    reads an empty clause (no tables, no conditions, an ORDER BY with no columns)."""
    tokens = reading.tokens
    last = tokens[-1].token_type if tokens else None
    if last in (TokenType.AND, TokenType.OR):
        # "WHERE a = 1 OR" reads as the condition list [a = 1, "or"].
        reading.dangling_connector = tokens[-1].text.lower()
    elif last == TokenType.ORDER_BY:
        reading.dangling_order = True
    elif last == TokenType.FROM:
        reading.dangling_from = True
    elif last not in (TokenType.WHERE, TokenType.HAVING, TokenType.GROUP_BY):
        return  # (an empty condition / group list is the same as none)
    reading.tokens = tokens[:-1]


def second_direction_word(tokens: list[Token]) -> int | None:
    """Index of a second ASC/DESC in a row: the official ORDER BY ends at it."""
    for i in range(1, len(tokens)):
        if tokens[i].token_type in _DIRECTIONS and tokens[i - 1].token_type in _DIRECTIONS:
            return i
    return None


def error_token(exc: SqlglotError, tokens: list[Token]) -> int | None:
    """Index of the token sqlglot stopped at (its errors name the token's end line/col)."""
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return None
    line, col = errors[0].get("line"), errors[0].get("col")
    for i, tok in enumerate(tokens):
        if tok.line == line and tok.col == col:
            return i
    return None


def check_words(tokens: list[Token], parsed: int, text: str) -> None:
    """Refuse what the official word tokenizer + grammar cannot read but sqlglot reads
    (or silently repairs): visible only in the token stream, not in the tree. Only the
    first ``parsed`` tokens were read; the rest still count as what follows them."""
    why = _clause_order(tokens[:parsed])
    for i in range(parsed):
        why = why or _token_rule(tokens, i, text) or _glued_words(tokens, i, text)
    if why:
        raise UnsupportedSQL(why)


def check_ignorable_tail(
    clause: str, open_end: bool, cut_at_direction: bool, words: list[str]
) -> None:
    """Refuse unless the official parser, having read a complete top-level query that ends
    with ``clause``, stops at ``words`` without error (it ignores whatever is left).

    ``open_end``: the clause is a condition ending with an unbracketed column value,
    whose value scan reads on to the first stop word. ``cut_at_direction``: the query
    was cut at a second ASC/DESC, where the official ORDER BY ends.
    """
    if open_end:
        stop = next((i for i, w in enumerate(words) if w in _SCAN_STOP_WORDS), None)
        if stop is None:
            return
        words = words[stop:]
    first = words[0]
    if first in SET_WORDS:
        raise UnsupportedSQL("a set operation the official parser cannot finish")
    if clause == "order" and cut_at_direction:
        return
    stops = _STOPS_AFTER.get(clause)  # None: any word ends a list clause
    if (stops is None or first in stops) and first not in _READ_NEXT[clause]:
        return
    raise UnsupportedSQL(f"the official parser cannot read the words from {words[0]!r} on")


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
