"""The token boundaries of sqlparse's lexer, which the official plug-value code relies on.

The official evaluator's `--plug_value` (test-suite-sql-eval parse.py) rebuilds a query
from sqlparse tokens joined by single spaces, takes its quoted strings (sqlparse's
String.Single and String.Symbol tokens) as value slots, and keeps only the first
statement. What it produces therefore depends on exactly where sqlparse 0.6.1 (the
version the `official` extra pins) starts and ends each token, which literals it calls
strings, and where it splits statements. This module reproduces those three facts
without depending on sqlparse: the same ordered rules (the first that matches at a
position wins, as in sqlparse.lexer), reduced to the token kinds that matter here. Rule
order follows sqlparse/keywords.py SQL_REGEX; tests/test_official_lexer.py checks the
result against sqlparse itself when it is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    SPACE = "space"  # one whitespace character other than a line break
    NEWLINE = "newline"
    COMMENT = "comment"  # `--` or `# ` to the end of the line (not a `--+` hint)
    STRING = "string"  # '...' or "..." (sqlparse: String.Single, String.Symbol)
    WORD = "word"  # a bare word sqlparse looks up in its keyword table
    GO = "go"  # the keyword GO (optionally with a count): a statement separator
    OTHER = "other"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str


_LETTER = "A-ZÀ-Ü"  # with IGNORECASE, as sqlparse writes its name rules

# (kind, pattern) in sqlparse's order; kinds we need not tell apart are OTHER.
_RULES: list[tuple[Kind, str]] = [
    (Kind.OTHER, r"(?:--|# )\+.*?(?:\r\n|\r|\n|$)"),  # optimizer hint comment
    (Kind.COMMENT, r"(?:--|# ).*?(?:\r\n|\r|\n|$)"),
    (Kind.NEWLINE, r"\r\n|\r|\n"),
    (Kind.SPACE, r"\s"),
    (Kind.OTHER, r":=|::|\*"),
    (Kind.OTHER, r"`(?:``|[^`])*`|´(?:´´|[^´])*´"),
    (Kind.OTHER, r"\?|%(?:\(\w+\))?s|(?<!\w)[$:?]\w+|\\\w+"),
    (Kind.OTHER, r"(?:CASE|IN|VALUES|USING|FROM|AS)\b"),
    (Kind.OTHER, rf"(?:@|##|#)[{_LETTER}]\w+"),
    (Kind.OTHER, rf"[{_LETTER}]\w*(?=\s*\.(?!\d))|(?<=\.)[{_LETTER}]\w*|[{_LETTER}]\w*(?=\()"),
    (Kind.OTHER, r"-?0x[\dA-F]+|-?\d+(?:\.\d+)?E-?\d+"),
    (Kind.OTHER, rf"(?![_{_LETTER}])-?(?:\d+(?:\.\d*)|\.\d+)(?![_{_LETTER}])"),
    (Kind.OTHER, rf"(?![_{_LETTER}])-?\d+(?![_{_LETTER}])"),
    (Kind.STRING, r"'(?:''|\\'|[^'])*'"),
    (Kind.STRING, r'"(?:""|\\"|[^"])*"|(?:""|".*?[^\\]")'),
    (Kind.OTHER, r"(?<![\w\])])\[[^\]\[]+\]"),
    (
        Kind.OTHER,
        r"(?:(?:LEFT\s+|RIGHT\s+|FULL\s+)?(?:INNER\s+|OUTER\s+|STRAIGHT\s+)?"
        r"|(?:CROSS\s+|NATURAL\s+)?)?JOIN\b"
        r"|END(?:\s+IF|\s+LOOP|\s+WHILE|\s+FOR|\s+CASE)?\b"
        r"|IF\s+(?:NOT\s+)?EXISTS\b|NOT\s+NULL\b"
        r"|(?:ASC|DESC)(?:\s+NULLS\s+(?:FIRST|LAST))?\b|NULLS\s+(?:FIRST|LAST)\b"
        r"|UNION\s+ALL\b|CREATE(?:\s+OR\s+REPLACE)?\b|DOUBLE\s+PRECISION\b"
        r"|GROUP\s+BY\b|ORDER\s+BY\b|PRIMARY\s+KEY\b|HANDLER\s+FOR\b",
    ),
    (Kind.GO, r"GO\s\d+\b"),
    (
        Kind.OTHER,
        r"LATERAL\s+VIEW\s+(?:EXPLODE|INLINE|PARSE_URL_TUPLE|POSEXPLODE|STACK)\b"
        r"|(?:AT|WITH')\s+TIME\s+ZONE\s+'[^']+'"
        r"|(?:NOT\s+)?(?:LIKE|ILIKE|RLIKE)\b|(?:NOT\s+)?REGEXP(?:\s+BINARY)?\b",
    ),
    (Kind.WORD, r"\w[$#\w]*"),
    (Kind.OTHER, r"[;:()\[\],.]|->>?|#>>?|@>|<@|\?\|?|\?&|-|#-|[<>=~!]+|[+/@#%^&|^-]+"),
]
# One alternation: Python tries alternatives left to right and takes the first that
# matches at the position, which is exactly sqlparse's "first rule that matches".
_LEXER = re.compile("|".join(f"(?P<r{i}>{rx})" for i, (_, rx) in enumerate(_RULES)), re.IGNORECASE)
_KINDS = {f"r{i}": kind for i, (kind, _) in enumerate(_RULES)}
# Dollar-quoted literals and /* */ comments: sqlparse pairs an opener with the first
# matching closer after it (sqlparse.keywords.find_delimited_spans).
_DOLLAR = re.compile(rf"(?<![\w\"$])\$(?:[_{_LETTER}]\w*)?\$", re.IGNORECASE)


def _delimited(text: str, pos: int) -> int | None:
    """End of a closed /* */ comment or $tag$...$tag$ literal opening at pos."""
    if text.startswith("/*", pos):
        close = text.find("*/", pos + 2)
        return None if close < 0 else close + 2
    if text.startswith("$", pos):
        m = _DOLLAR.match(text, pos)
        if m:
            close = text.find(m.group(), m.end())
            return None if close < 0 else close + len(m.group())
    return None


def tokenize(text: str) -> list[Token]:
    """All tokens of text, as sqlparse's lexer cuts them (text is their concatenation)."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        end = _delimited(text, pos) if text[pos] in "/$" else None
        if end is not None:
            tokens.append(Token(Kind.OTHER, text[pos:end]))
            pos = end
            continue
        m = _LEXER.match(text, pos)
        if m is None or m.end() == pos:  # sqlparse: an Error token of one character
            tokens.append(Token(Kind.OTHER, text[pos]))
            pos += 1
            continue
        kind = _KINDS[m.lastgroup or ""]
        word = m.group()
        if kind is Kind.WORD and word.upper() == "GO":
            kind = Kind.GO
        tokens.append(Token(kind, word))
        pos = m.end()
    return tokens


def statements(tokens: list[Token], keywords_upper: bool = False) -> list[list[Token]]:
    """Split at GO as sqlparse's StatementSplitter does (the callers have already removed
    every `;`). It compares the keyword's first word with "GO" case-sensitively, so a
    lowercase `go` splits only once sqlparse.format has upper-cased keywords
    (keywords_upper). After the separator, spaces and `--` comments still belong to the
    statement it ends."""
    out: list[list[Token]] = []
    current: list[Token] = []
    ended = False
    for tok in tokens:
        if ended and tok.kind not in (Kind.SPACE, Kind.COMMENT):
            out.append(current)
            current, ended = [], False
        current.append(tok)
        if tok.kind is Kind.GO:
            text = tok.text.upper() if keywords_upper else tok.text
            ended = ended or text.split()[0] == "GO"
    if any(t.kind not in (Kind.SPACE, Kind.NEWLINE) for t in current):
        out.append(current)
    return out


def first_statement(text: str) -> list[Token]:
    """sqlparse.parse(text)[0].flatten(): the first statement's tokens."""
    parts = statements(tokenize(text))
    return parts[0] if parts else []
