"""Near-miss variants of a gold query: what a test suite must tell apart from it.

As in the paper's `fuzz/neighbor.py`, a neighbour is the gold with one token swapped for
another of its family (aggregate, comparison, ASC/DESC, arithmetic, AND/OR, LIKE/NOT LIKE,
IN/NOT IN, another column of the query's tables), a literal perturbed, or a span of tokens
dropped; only neighbours that run on the schema are kept (the caller checks that).
Queries are re-joined from sqlglot's tokens with single spaces, which SQLite reads the
same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, Tokenizer, TokenType

MAX_NEIGHBORS = 400  # per gold query: every swap, then the shortest span drops

_FAMILIES: tuple[frozenset[str], ...] = (
    frozenset({"count", "min", "max", "avg", "sum"}),
    frozenset({">", "<", ">=", "<=", "=", "!="}),
    frozenset({"asc", "desc"}),
    frozenset({"/", "+", "-", "*"}),
    frozenset({"and", "or"}),
)
_NEGATABLE = {"like": "NOT LIKE", "in": "NOT IN"}
_TOKENIZER = Tokenizer()
_COUNT_ARG = re.compile(r"count\s*\((.*?)\)", flags=re.IGNORECASE)

Piece = tuple[str, TokenType]


def _pieces(sql: str) -> list[Piece] | None:
    try:
        tokens: list[Token] = _TOKENIZER.tokenize(sql)
    except TokenError:
        return None
    return [(sql[t.start : t.end + 1], t.token_type) for t in tokens]


def _join(pieces: Iterable[Piece]) -> str:
    return " ".join(text for text, _ in pieces)


def normalized(sql: str) -> str:
    """The query as its neighbours are written (tokens joined by single spaces)."""
    pieces = _pieces(sql)
    return _join(pieces) if pieces is not None else sql


def _number_alternatives(text: str) -> list[str]:
    try:
        value = int(text)
        return [str(value + d) for d in (1, -1, 2, -2)]
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return []
    return [repr(round(number + d, 6)) for d in (0.1, -0.1)]


def _string_alternatives(text: str) -> list[str]:
    quote, inner = text[0], text[1:-1]
    variants = {inner.lower(), inner.upper(), inner.title(), inner[1:], inner[:-1], ""}
    bare = inner.replace("%", "")
    variants |= {f"%{bare}%", f"{bare}%", f"%{bare}", bare}
    variants.discard(inner)
    escaped = (v.replace(quote, quote * 2) for v in sorted(variants))
    return [f"{quote}{v}{quote}" for v in escaped]


def _alternatives(piece: Piece, columns: frozenset[str]) -> list[str]:
    text, ttype = piece
    low = text.lower()
    out: list[str] = []
    for family in _FAMILIES:
        if low in family:
            out += [alt.upper() for alt in sorted(family) if alt != low]
    if low in _NEGATABLE:
        out.append(_NEGATABLE[low])
    if ttype == TokenType.NUMBER:
        out += _number_alternatives(text)
    elif ttype == TokenType.STRING and len(text) >= 2:
        out += _string_alternatives(text)
    elif ttype == TokenType.IDENTIFIER and text.startswith('"') and low.strip('"') not in columns:
        out += _string_alternatives(text)  # a double-quoted string, as SQLite reads it
    elif ttype in (TokenType.VAR, TokenType.IDENTIFIER) and low.strip('"`[]') in columns:
        out += sorted(c for c in columns if c != low.strip('"`[]'))
    return out


def _droppable(span: list[Piece]) -> bool:
    texts = [t.lower() for t, _ in span]
    if texts in (["*"], ["as"], [";"], ["asc"], ["as", "result"]):
        return False
    # "T1 ." alone leaves a dangling column: never runs, skip the work
    return not (len(span) == 2 and texts[1] == ".")


def _count_free(sql: str) -> str:
    return _COUNT_ARG.sub("count()", sql.strip())


def neighbor_queries(sql: str, columns: Iterable[str]) -> list[str]:
    """Neighbour candidates of `sql` (not yet checked to run), deterministic in order.

    `columns` are the lower-cased column names a swapped column may become (those of
    the tables the query reads). Neighbours that differ from the gold only inside
    COUNT(...) are left out: count(*) and count(key) are usually the same query.
    """
    pieces = _pieces(sql)
    if not pieces:
        return []
    allowed = frozenset(c.lower() for c in columns)
    base = _join(pieces)
    swaps: list[str] = []
    for i, piece in enumerate(pieces):
        for alt in _alternatives(piece, allowed):
            swaps.append(_join([*pieces[:i], (alt, piece[1]), *pieces[i + 1 :]]))
    drops: list[tuple[int, int, str]] = []
    n = len(pieces)
    for start in range(n):
        for end in range(start + 1, n + 1):
            if _droppable(pieces[start:end]):
                drops.append((end - start, start, _join(pieces[:start] + pieces[end:])))
    drops.sort()
    seen = {base}
    out: list[str] = []
    base_count_free = _count_free(base)
    for candidate in [*swaps, *(q for _, _, q in drops)]:
        if candidate in seen or not candidate.strip():
            continue
        seen.add(candidate)
        if _count_free(candidate) == base_count_free:
            continue
        out.append(candidate)
        if len(out) >= MAX_NEIGHBORS:
            break
    return out
