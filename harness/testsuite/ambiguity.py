"""Is a gold query's answer decided by the data, or by the order SQLite happens to scan it?

`ORDER BY age LIMIT 1` over two rows of the same age returns whichever comes first. Such a
gold would fail a correct prediction on that database, so a database where it happens is
not kept. The check: for each ORDER BY ... LIMIT in the query, break the ties both ways
(the output columns, by position, ascending and then descending); if the two answers
differ, the original one was the scan's choice.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError


def _width(node: exp.Expression) -> int | None:
    select = node if isinstance(node, exp.Select) else node.find(exp.Select)
    if select is None or any(isinstance(e, exp.Star) for e in select.expressions):
        return None
    return len(select.expressions)


def tie_breaking_pairs(sql: str, top_width: int | None = None) -> list[tuple[str, str]]:
    """(ties broken ascending, ties broken descending) for every limited ORDER BY.

    `top_width` is the number of result columns, used for `SELECT *` at the top level.
    """
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return []
    if tree is None:
        return []
    pairs = []
    targets = [n for n in tree.walk() if isinstance(n, exp.Query) and n.args.get("order")
               and n.args.get("limit")]  # fmt: skip
    for target in targets:
        width = _width(target) or (top_width if target is tree else None)
        if not width:
            continue
        path = next(i for i, n in enumerate(tree.walk()) if n is target)
        variants = []
        for desc in (False, True):
            copy = tree.copy()
            node = list(copy.walk())[path]
            order = node.args["order"]
            extra = [exp.Ordered(this=exp.Literal.number(i + 1), desc=desc) for i in range(width)]
            order.set("expressions", [*order.expressions, *extra])
            variants.append(copy.sql(dialect="sqlite"))
        pairs.append((variants[0], variants[1]))
    return pairs
