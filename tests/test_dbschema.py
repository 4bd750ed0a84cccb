"""The one SQLite schema reader (harness.dbschema), the callers that read through it, and
io.atomic_path, the writer of files built in place (databases)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from harness.benchmarks.fixture import spider_entry
from harness.dbschema import (
    Column,
    ForeignKey,
    connect_readonly,
    read_db_schema,
    schema_of,
    script_schema,
)
from harness.errors import DataError
from harness.io import atomic_path
from harness.prompting.schema import read_schema, render_schema
from harness.testsuite.dbinfo import read_database
from harness.testsuite.run import Runner

# `REFERENCES parent` without columns: the parent's primary key, which is (b, a) here, so
# child.x -> parent.b and child.y -> parent.a (not a, b: column order is not key order).
UNNAMED = """
CREATE TABLE parent (a INT, b INT, label TEXT, PRIMARY KEY (b, a));
CREATE TABLE child (id INTEGER PRIMARY KEY, x INT NOT NULL, y INT,
    FOREIGN KEY (x, y) REFERENCES parent);
CREATE TABLE keyless (v TEXT);
CREATE TABLE orphan (p INT REFERENCES keyless, q INT REFERENCES absent,
    r INT REFERENCES absent(z), s INT REFERENCES parent);
CREATE TABLE sqlite1 (s TEXT);
INSERT INTO parent VALUES (1, 2, 'one-two');
"""


@pytest.fixture
def unnamed_db(tmp_path: Path) -> Path:
    path = tmp_path / "unnamed.sqlite"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(UNNAMED)
    return path


def _violations(db: Path, x: int, y: int) -> list:
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO child (x, y) VALUES (?, ?)", (x, y))
        found = conn.execute("PRAGMA foreign_key_check(child)").fetchall()
        conn.rollback()
    conn.close()
    return found


def test_unnamed_foreign_key_is_the_parents_primary_key_in_key_order(unnamed_db: Path) -> None:
    # SQLite itself: (x=2, y=1) matches parent (a=1, b=2); (x=1, y=2) does not.
    assert _violations(unnamed_db, 2, 1) == [] and _violations(unnamed_db, 1, 2) != []
    schema = read_db_schema(unnamed_db)
    assert schema.foreign_keys == (
        ForeignKey("child", "x", "parent", "b"),
        ForeignKey("child", "y", "parent", "a"),
        # a reference naming its column is kept as declared, even to a missing table;
        # one to the primary key of a table that has none, or is missing, or has a key
        # of two columns for its one, is not.
        ForeignKey("orphan", "r", "absent", "z"),
    )
    parent = schema.tables[0]
    assert parent.primary_key == ("b", "a")
    assert parent.columns[0] == Column("a", "INT", notnull=False)
    assert schema.tables[1].columns[1] == Column("x", "INT", notnull=True)


def test_every_caller_resolves_it_the_same_way(unnamed_db: Path) -> None:
    expected = {("child.x", "parent.b"), ("child.y", "parent.a")}
    # prompts (keys representation)
    keys = render_schema(read_schema("unnamed", unnamed_db), "keys")
    assert "child.x = parent.b\nchild.y = parent.a" in keys
    # the fixture's tables.json entry
    entry = spider_entry(read_db_schema(unnamed_db), "unnamed")
    names = [f"{entry['table_names_original'][t]}.{c}" for t, c in entry["column_names_original"]]
    assert {(names[a], names[b]) for a, b in entry["foreign_keys"]} == expected
    # the test-suite fuzzer
    parents = read_database(unnamed_db).parents
    got = {(f"{c[0]}.{c[1]}", f"{p[0]}.{p[1]}") for c, p in parents.items()}
    assert got == expected


def test_tables_are_user_tables_only_in_creation_order(tmp_path: Path) -> None:
    # "sqlite_%" in LIKE would also match "sqlite1": only the "sqlite_" prefix is SQLite's.
    schema = script_schema(UNNAMED + "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);", "s")
    names = [t.name for t in schema.tables]
    assert names == ["parent", "child", "keyless", "orphan", "sqlite1", "t"]
    assert schema.tables[0].ddl.startswith("CREATE TABLE parent (a INT")


def test_script_statements_share_lines_even_with_quotes() -> None:
    schema = script_schema(
        "CREATE TABLE a (x TEXT DEFAULT 'p;q'); CREATE TABLE b (y TEXT); -- b; c\n"
        "-- a comment; with a semicolon\nCREATE TABLE c (z INT)",
        "ctx",
    )
    assert [t.name for t in schema.tables] == ["a", "b", "c"]
    with pytest.raises(DataError, match=r"^ctx:3: .*syntax error"):
        script_schema("CREATE TABLE a (x);\n\nCREATE TABLE b (y,);", "ctx")
    with pytest.raises(DataError, match=r"^ctx:1: not authorized"):
        script_schema("ATTACH DATABASE ':memory:' AS other;", "ctx")


def test_read_only_and_clear_errors(unnamed_db: Path, tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connect_readonly(unnamed_db).execute("CREATE TABLE z (a)")
    with pytest.raises(DataError, match=r"missing\.sqlite: cannot open database"):
        read_db_schema(tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(DataError, match=r"junk\.sqlite: cannot read schema"):
        read_db_schema(junk)
    bad = tmp_path / "bad.sqlite"
    with sqlite3.connect(bad) as conn:
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.execute("INSERT INTO t VALUES (CAST(x'ff41' AS TEXT))")
    conn.close()
    with connect_readonly(bad) as conn:
        assert conn.execute("SELECT v FROM t").fetchone() == ("\ufffdA",)
    conn.close()
    strict = connect_readonly(bad, errors="strict")
    with pytest.raises(sqlite3.OperationalError, match="decode"):
        strict.execute("SELECT v FROM t").fetchone()
    assert [t.name for t in schema_of(strict).tables] == ["t"]
    strict.close()


def test_atomic_path_renames_on_success_and_removes_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "db" / "x.sqlite"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and ".sqlite" not in tmp.name
        with sqlite3.connect(tmp) as conn:
            conn.execute("CREATE TABLE t (a)")
        conn.close()
        assert not target.exists()
    assert [t.name for t in read_db_schema(target).tables] == ["t"]
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target, durable=False) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("build failed")
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.sqlite"]


def test_suite_runner_keeps_the_sandbox_with_reverse_scans(unnamed_db: Path) -> None:
    for runner in (Runner(unnamed_db), Runner(unnamed_db, reverse_scans=True)):
        assert runner.run("SELECT label FROM parent", 5).rows == [("one-two",)]
        # the sandbox's authorizer is back in place after the reverse-scan setting
        assert runner.run("PRAGMA reverse_unordered_selects = OFF", 5).status == "error"
        assert runner.run("DELETE FROM parent", 5).status == "error"
        runner.close()
