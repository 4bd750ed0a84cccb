"""Schema representations, templates, few-shot selection and SQL extraction."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest_models import CHAT_TEMPLATE, DATABASES, _tables_entry

from harness.errors import DataError
from harness.prompting.extract import extract_sql
from harness.prompting.fewshot import PoolItem, load_pool_file, select_shots
from harness.prompting.schema import SCHEMA_KINDS, read_schema, render_schema
from harness.prompting.templates import (
    Shot,
    build_messages,
    choose_mode,
    render,
    render_plain,
    template_sha256,
)


@pytest.fixture(scope="module")
def concert_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("db") / "concert_singer.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(DATABASES["concert_singer"])
    conn.commit()
    entry = _tables_entry("concert_singer", conn)
    conn.close()
    return path, entry


# ------------------------------------------------------------------ schema


def test_schema_kinds_grow_in_detail(concert_db: tuple[Path, dict]) -> None:
    path, entry = concert_db
    info = read_schema("concert_singer", path, entry)
    text = {kind: render_schema(info, kind, rows=2) for kind in SCHEMA_KINDS}
    assert text["minimal"].splitlines()[0] == "singer(singer_id, name, country, age)"
    assert "singer(singer_id INTEGER, name TEXT, country TEXT, age INTEGER)" in text["typed"]
    assert "Primary keys:" in text["keys"] and "singer: singer_id" in text["keys"]
    assert "concert.singer_id = singer.singer_id" in text["keys"]
    assert text["ddl"].startswith("CREATE TABLE singer (singer_id INTEGER PRIMARY KEY")
    assert "example rows" not in text["ddl"]
    # rows: the DDL plus the first rows of each table, read from the database itself
    assert text["rows"].startswith(text["ddl"].split("\n\n")[0])
    assert "2 example rows" in text["rows"] and "Joe Sharp\tNetherlands\t52" in text["rows"]
    assert "Timbaland" in text["rows"] and "Justin Brown" not in text["rows"]


def test_schema_from_tables_json_only(concert_db: tuple[Path, dict]) -> None:
    _, entry = concert_db
    info = read_schema("concert_singer", None, entry)
    assert render_schema(info, "typed").splitlines()[0] == (
        "singer(singer_id number, name text, country text, age number)"
    )
    ddl = render_schema(info, "ddl")
    assert "PRIMARY KEY (singer_id)" in ddl and "REFERENCES singer(singer_id)" in ddl
    # rows without a database degrade to the DDL rather than inventing rows
    assert render_schema(info, "rows") == ddl


def test_schema_from_ddl_context_and_quoting() -> None:
    ddl = 'CREATE TABLE "order items" ("item id" INTEGER PRIMARY KEY, "select" TEXT);'
    info = read_schema("odd", context=ddl)
    assert render_schema(info, "minimal") == '"order items"("item id", "select")'


def test_schema_missing_everything_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="no schema"):
        read_schema("ghost")


# ------------------------------------------------------------------ templates


def test_messages_and_plain_rendering() -> None:
    shots = [Shot("How many?", "SELECT count(*) FROM t", "t(a)")]
    messages = build_messages("singer(name)", "Who sings?", "singer means artist", shots)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "```sql\nSELECT count(*) FROM t\n```"
    assert "Evidence: singer means artist\nQuestion: Who sings?" in messages[3]["content"]
    plain = render_plain(messages)
    assert "t(a)\n\nQuestion: How many?\nSQL: SELECT count(*) FROM t\n\n" in plain
    assert plain.endswith("Question: Who sings?\nSQL:")


def test_chat_template_only_for_instruct_tokenizers() -> None:
    class Tok:
        chat_template = CHAT_TEMPLATE

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return "|".join(m["role"] for m in messages) + ("|gen" if add_generation_prompt else "")

    class BaseTok:
        chat_template = None

    assert choose_mode("auto", Tok(), "Qwen/Qwen2.5-Coder-7B-Instruct") == "chat"
    assert choose_mode("auto", Tok(), "Qwen/Qwen2.5-Coder-7B") == "plain"
    assert choose_mode("auto", BaseTok(), "x-instruct") == "plain"
    assert choose_mode("chat", Tok(), "Qwen/Qwen2.5-Coder-7B") == "chat"
    with pytest.raises(ValueError, match="no"):
        choose_mode("chat", BaseTok(), "base")
    messages = build_messages("t(a)", "q?")
    assert render(messages, Tok(), "chat") == "system|user|gen"
    assert render(messages, Tok(), "plain") == render_plain(messages)
    assert template_sha256("plain") != template_sha256("chat\0" + CHAT_TEMPLATE)


# ------------------------------------------------------------------ few-shot


def _pool(n: int) -> list[PoolItem]:
    return [PoolItem(str(i), f"question {i}", f"SELECT {i}") for i in range(n)]


def test_shots_deterministic_and_never_the_question_itself() -> None:
    pool = _pool(30)
    first = select_shots(pool, 4, seed=0, example_id="7", question="question 7")
    assert first == select_shots(pool, 4, seed=0, example_id="7", question="question 7")
    assert len(first) == 4 and all(p.id != "7" for p in first)
    assert select_shots(pool, 4, seed=1, example_id="7", question="question 7") != first
    # the same question text under another id is excluded too (Spider repeats questions)
    dup = [*pool, PoolItem("99", "Question   7", "SELECT 7")]
    for seed in range(20):
        picked = select_shots(dup, 29, seed, "7", "question 7")
        assert {p.id for p in picked}.isdisjoint({"7", "99"}) and len(picked) == 29
    assert select_shots(pool, 0, 0, "1", "q") == []


def test_pool_file(tmp_path: Path) -> None:
    path = tmp_path / "shots.jsonl"
    path.write_text(json.dumps({"question": "q1", "sql": "SELECT 1", "schema": "t(a)"}) + "\n")
    assert load_pool_file(path)[0].schema == "t(a)"
    path.write_text(json.dumps({"question": "q1"}) + "\n")
    with pytest.raises(DataError, match="record 1"):
        load_pool_file(path)
    # a broken line is named by its line in the file
    good = json.dumps({"question": "q", "sql": "SELECT 1"})
    path.write_text(f"{good}\n\n{good}\n{{broken\n")
    with pytest.raises(DataError, match=r"shots\.jsonl:4: invalid JSON"):
        load_pool_file(path)


# ------------------------------------------------------------------ extraction


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        ("SELECT name FROM singer", "SELECT name FROM singer"),
        (
            "```sql\nSELECT name FROM singer WHERE age > 20;\n```\nThis selects names.",
            "SELECT name FROM singer WHERE age > 20",
        ),
        ("Sure! Here's the SQL:\n```\nSELECT a FROM t\n```", "SELECT a FROM t"),
        ("```python\nprint(1)\n```\n```sql\nSELECT 1\n```", "SELECT 1"),
        (
            "Here is the query:\nSELECT count(*) FROM singer\n\nExplanation: it counts rows.",
            "SELECT count(*) FROM singer",
        ),
        (
            "We select the names from the table. The SQL is: SELECT name FROM singer ORDER BY age",
            "SELECT name FROM singer ORDER BY age",
        ),
        ("SELECT a FROM t; SELECT b FROM u;", "SELECT a FROM t"),
        (
            " SELECT name\nFROM singer\nWHERE name = 'O''Brien'\n\nDatabase schema:\nt(a)",
            "SELECT name\nFROM singer\nWHERE name = 'O''Brien'",
        ),
        ("SELECT * FROM t WHERE a = 'x;y'; -- done", "SELECT * FROM t WHERE a = 'x;y'"),
        ("WITH x AS (SELECT 1 AS a) SELECT a FROM x", "WITH x AS (SELECT 1 AS a) SELECT a FROM x"),
        (
            "SELECT a\nFROM t\n\nUNION\n\nSELECT b FROM u",
            "SELECT a\nFROM t\n\nUNION\n\nSELECT b FROM u",
        ),
        ("```sql\nSELECT name FROM singer WHERE", "SELECT name FROM singer WHERE"),  # cut off
        ("I cannot answer that.", ""),
    ],
)
def test_extract_sql(completion: str, expected: str) -> None:
    assert extract_sql(completion) == expected
