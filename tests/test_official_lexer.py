"""official_lexer cuts and classifies tokens exactly as sqlparse 0.6.1 does.

The plug-value rules depend on sqlparse's token boundaries, its string tokens and its
statement splits; the harness reproduces them without sqlparse. These tests compare the
two on hand-picked corners, on random strings and on every Spider dev query. sqlparse
comes with the `official` extra (installed for the tests).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from harness.scoring.spider.lexer import Kind, first_statement, tokenize

sqlparse = pytest.importorskip("sqlparse", reason="sqlparse (the `official` extra) is absent")
T = sqlparse.tokens

_EXACT = {
    Kind.SPACE: (T.Whitespace,),
    Kind.NEWLINE: (T.Newline,),
    Kind.COMMENT: (T.Comment.Single,),
    Kind.STRING: (T.String.Single, T.String.Symbol),
}


def _disagreement(text: str) -> str | None:
    ref = list(sqlparse.parse(text)[0].flatten()) if text.strip() else []
    ours = first_statement(text)
    if [t.value for t in ref] != [t.text for t in ours]:
        return f"{text!r}: sqlparse {[t.value for t in ref]} vs {[t.text for t in ours]}"
    for r, o in zip(ref, ours, strict=True):
        kinds = [k for k, types in _EXACT.items() if r.ttype in types]
        expected = kinds[0] if kinds else None
        if (o.kind if o.kind in _EXACT else None) is not expected:
            return f"{text!r}: {r.value!r} is {r.ttype} in sqlparse, {o.kind} here"
        if o.kind is Kind.GO and r.ttype is not T.Keyword:
            return f"{text!r}: {r.value!r} is {r.ttype} in sqlparse, GO here"
    return None


CORNERS = [
    "SELECT T1.name FROM singer AS T1 WHERE T1.age >= -5.5 AND x<>1e5",
    "SELECT \"a\"\"b\", 'it''s', 'x\\'y', `q``r`, [col name], a[1] FROM t",
    "SELECT a FROM t -- trailing comment",
    "SELECT a /* block */ FROM t WHERE b = $$x y$$ OR c = $t$ z $t$",
    "SELECT a FROM t GROUP  BY a ORDER BY a DESC NULLS LAST LIMIT 3",
    "SELECT a FROM t LEFT OUTER JOIN u ON t.x=u.y NATURAL JOIN v",
    "SELECT a FROM t WHERE b NOT LIKE '%x%' AND c NOT  REGEXP 'y'",
    "SELECT x AT TIME ZONE 'UTC', .5, 1., 0x1F, 0xZZ, 2abc, a$b, @v, #t FROM t",
    "SELECT a FROM t GO 2 SELECT b",
    "SELECT a FROM go WHERE x = 1 GO SELECT 'y'",
    "SELECT count(*) FROM t WHERE a->>'k' = 1 OR a || 'b' = 'c'",
    "SELECT 'unterminated FROM t",
    "SELECT a FROM t WHERE b = \"x\" || 'é' AND ñame = 1",
]


@pytest.mark.parametrize("text", CORNERS)
def test_corner_cases_agree_with_sqlparse(text):
    assert _disagreement(text) is None


def test_random_strings_agree_with_sqlparse():
    rnd = random.Random(7)
    pieces = [
        *"abT1 .'\"`[]()-+*/<>=!$#_?:@%^&|~,\\\n\r\t09eExX",
        "go", "GO", "join", "left ", "order by", "/*", "*/", "--", "# ", "$$", "$a$", "é",
        "AS", "in", "distinct", "0x1f", ".5", "1.", "1e5", "at time zone 'x'", "not like",
        "end if", "select ", "from ", "where ", "count(*)", "T2.", "'", '"',
    ]  # fmt: skip
    texts = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30))) for _ in range(1500)]
    bad = [d for d in map(_disagreement, texts) if d]
    assert not bad, f"{len(bad)} of {len(texts)} disagree, first: {bad[:3]}"


def test_every_spider_dev_gold_query_agrees_with_sqlparse(spider_dir: Path):
    # (The parity corpus's predictions are covered end to end by test_parity_ex.py.)
    queries = [d["query"] for d in json.loads((spider_dir / "dev.json").read_text())]
    bad = [d for d in map(_disagreement, queries) if d]
    assert not bad, f"{len(bad)} of {len(queries)} disagree, first: {bad[:3]}"


def test_tokens_cover_the_text():
    text = "SELECT a, 'b c' FROM t /* x */ WHERE d = \"e\" -- f"
    assert "".join(t.text for t in tokenize(text)) == text
