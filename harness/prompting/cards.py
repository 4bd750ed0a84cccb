"""Input formats that a model card prescribes, for models trained on one fixed layout.

A minimal hook until prompt formats are files (issue 12, section 1): `--prompt-format
NAME` replaces the harness's messages by one user message in the card's layout.

`cssupport-t5`: the card of `cssupport/t5-small-awesome-text-to-sql` (a T5-small trained on
b-mc2/sql-create-context and Clinton/Text-to-sql-v1) builds its input as
``"tables:\\n" + <CREATE TABLE statements> + "\\n" + "query for:" + <question>``, the
statements in sql-create-context's style (``CREATE TABLE head (age INTEGER); CREATE TABLE
...``). An example that carries its CREATE TABLE text (`context`) uses it verbatim;
otherwise the database's own CREATE TABLE statements are joined with "; ".
"""

from __future__ import annotations

from harness.errors import ConfigError

DEFAULT_FORMAT = "harness"
CARDS: dict[str, str] = {"cssupport-t5": "tables:\n{schema}\nquery for:{question}"}
PROMPT_FORMATS = (DEFAULT_FORMAT, *CARDS)


def card_messages(name: str, create_tables: str, question: str) -> tuple[dict[str, str], ...]:
    try:
        layout = CARDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown prompt format {name!r}; known: {', '.join(PROMPT_FORMATS)}"
        ) from None
    content = layout.format(schema=create_tables, question=question.strip())
    return ({"role": "user", "content": content},)


def joined_ddl(ddls: list[str]) -> str:
    """CREATE TABLE statements on one line each, joined as sql-create-context joins them."""
    return "; ".join(" ".join(d.split()).rstrip(";").strip() for d in ddls if d.strip())
