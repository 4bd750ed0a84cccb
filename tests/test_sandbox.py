"""The SQLite sandbox: hostile queries are contained, legitimate ones return what sqlite3 does.

The hostile corpus runs in `run_isolated` workers so that a limit that failed to stop
SQLite shows up as a failed assertion (the pool's hard kill), never as a hung test run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.errors import DataError
from harness.scoring.engine.pool import run_isolated
from harness.scoring.engine.sandbox import ExecResult, Limits, execute, open_readonly, readonly_uri

FAST = Limits(timeout_s=0.5)
SMALL = Limits(timeout_s=2.0, max_rows=1000, max_bytes=8 * 2**20, max_value_bytes=4 * 2**20)
HARD_TIMEOUT_S = 30.0  # the pool's kill: reached only if the in-SQLite limit failed


def build_db(path: Path) -> None:
    """A small database with every storage class, invalid UTF-8, NULLs and a view."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT, score REAL, photo BLOB);
        CREATE TABLE pets(pet_id INT PRIMARY KEY, owner_id INT REFERENCES people(id),
                          kind TEXT);
        CREATE INDEX pets_owner ON pets(owner_id);
        CREATE VIEW adults AS SELECT id, name FROM people WHERE age >= 18;
        """
    )
    conn.executemany(
        "INSERT INTO people VALUES (?, ?, ?, ?, ?)",
        [
            (i, f"person {i}", i % 70, None if i % 7 == 0 else i / 3, bytes([i % 256, 0, 255]))
            for i in range(1, 201)
        ],
    )
    conn.executemany(
        "INSERT INTO pets VALUES (?, ?, ?)",
        [(i, 1 + i % 50, ["dog", "cat", "fish"][i % 3]) for i in range(300)],
    )
    # Text that is not valid UTF-8, the case the official text_factory exists for.
    conn.execute("INSERT INTO people VALUES (999, CAST(x'ff41e9' AS TEXT), 40, 1.5, x'00')")
    conn.commit()
    conn.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(*dirs: Path) -> dict[str, list[str]]:
    return {str(d): sorted(os.listdir(d)) for d in dirs}


# --- the hostile corpus --------------------------------------------------------------------

DENIED = "authoriz"  # "not authorized" / "authorization denied": the authorizer said no

HOSTILE: list[tuple[str, str, str | None, Limits]] = [
    # (sql, expected status, substring of the error, limits)
    # writes
    ("INSERT INTO people(id, name) VALUES (5000, 'x')", "error", DENIED, FAST),
    ("UPDATE people SET name = 'x'", "error", DENIED, FAST),
    ("DELETE FROM people", "error", DENIED, FAST),
    ("REPLACE INTO pets VALUES (1, 1, 'x')", "error", DENIED, FAST),
    (
        "INSERT INTO pets VALUES (1, 1, 'x') ON CONFLICT(pet_id) DO UPDATE SET kind = 'y'",
        "error",
        DENIED,
        FAST,
    ),
    ("WITH x AS (SELECT 7) INSERT INTO people(id) SELECT * FROM x", "error", DENIED, FAST),
    # schema changes, temp objects included
    ("CREATE TABLE t(x)", "error", DENIED, FAST),
    ("CREATE TABLE t AS SELECT * FROM people", "error", DENIED, FAST),
    ("CREATE INDEX i ON people(name)", "error", DENIED, FAST),
    ("CREATE VIEW v AS SELECT 1", "error", DENIED, FAST),
    ("CREATE TRIGGER tr AFTER INSERT ON people BEGIN DELETE FROM pets; END", "error", DENIED, FAST),
    ("CREATE TEMP TABLE t(x)", "error", DENIED, FAST),
    ("CREATE TEMP VIEW v AS SELECT 1", "error", DENIED, FAST),
    ("CREATE TEMP TRIGGER tr AFTER INSERT ON people BEGIN SELECT 1; END", "error", DENIED, FAST),
    ("CREATE VIRTUAL TABLE temp.f USING fts5(x)", "error", DENIED, FAST),
    ("DROP TABLE people", "error", DENIED, FAST),
    ("DROP INDEX pets_owner", "error", DENIED, FAST),
    ("DROP VIEW adults", "error", DENIED, FAST),
    ("ALTER TABLE people RENAME TO p2", "error", DENIED, FAST),
    ("ALTER TABLE people ADD COLUMN z INT", "error", DENIED, FAST),
    ("ANALYZE", "error", DENIED, FAST),
    ("REINDEX", "error", DENIED, FAST),
    # other files
    ("ATTACH DATABASE '{other}' AS o", "error", DENIED, FAST),
    ("ATTACH DATABASE ':memory:' AS m", "error", DENIED, FAST),
    ("ATTACH DATABASE 'file:{dbdir}/created.db?mode=rwc' AS n", "error", DENIED, FAST),
    ("ATTACH DATABASE 'relative.db' AS r", "error", DENIED, FAST),
    ("DETACH DATABASE main", "error", DENIED, FAST),
    ("VACUUM", "error", DENIED, FAST),
    ("VACUUM INTO '{dbdir}/copy.db'", "error", DENIED, FAST),
    ("VACUUM INTO 'copy_in_cwd.db'", "error", DENIED, FAST),
    ("VACUUM main INTO '{tmp}/vacuumed.db'", "error", DENIED, FAST),
    # extensions
    ("SELECT load_extension('x')", "error", DENIED, FAST),
    (
        "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0', 'init')",
        "error",
        DENIED,
        FAST,
    ),
    ("SELECT fts3_tokenizer('simple')", "error", DENIED, FAST),
    # pragmas that write or change the connection
    ("PRAGMA journal_mode = WAL", "error", DENIED, FAST),
    ("PRAGMA journal_mode", "error", DENIED, FAST),
    ("PRAGMA writable_schema = 1", "error", DENIED, FAST),
    ("PRAGMA writable_schema = ON", "error", DENIED, FAST),
    ("PRAGMA user_version = 5", "error", DENIED, FAST),
    ("PRAGMA main.user_version = 5", "error", DENIED, FAST),
    ("PRAGMA application_id = 5", "error", DENIED, FAST),
    ("PRAGMA query_only = 0", "error", DENIED, FAST),
    ("PRAGMA temp_store_directory = '/tmp'", "error", DENIED, FAST),
    ("PRAGMA mmap_size = 268435456", "error", DENIED, FAST),
    ("PRAGMA locking_mode = EXCLUSIVE", "error", DENIED, FAST),
    ("PRAGMA foreign_keys = ON", "error", DENIED, FAST),
    ("PRAGMA wal_checkpoint(TRUNCATE)", "error", DENIED, FAST),
    ("PRAGMA optimize", "error", DENIED, FAST),
    ("PRAGMA integrity_check", "error", DENIED, FAST),
    # transactions
    ("BEGIN", "error", DENIED, FAST),
    ("BEGIN IMMEDIATE", "error", DENIED, FAST),
    ("COMMIT", "error", DENIED, FAST),
    ("SAVEPOINT s", "error", DENIED, FAST),
    # several statements: sqlite3's own rule, as in the official evaluator
    ("SELECT 1; SELECT 2", "error", "one statement at a time", FAST),
    ("SELECT 1; DROP TABLE people", "error", "one statement at a time", FAST),
    ("SELECT 1; ATTACH ':memory:' AS m", "error", "one statement at a time", FAST),
    # runaway queries
    (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        "timeout",
        None,
        FAST,
    ),
    (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c "
        "WHERE x < 0",
        "timeout",
        None,
        FAST,
    ),
    (
        "SELECT count(*) FROM people a, people b, people c, people d, people e, people f",
        "timeout",
        None,
        FAST,
    ),
    ("SELECT * FROM people a, people b, people c", "too_large", None, SMALL),
    (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
        "too_large",
        None,
        SMALL,
    ),
    # giant values
    ("SELECT randomblob(2e9)", "error", "too big", FAST),
    ("SELECT zeroblob(2e9)", "error", "too big", FAST),
    ("SELECT length(zeroblob(5000000))", "error", "too big", SMALL),
    (
        "WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM r) "
        "SELECT length(s) FROM r",
        "error",
        "too big",
        FAST,
    ),
    ("SELECT length(replace(hex(zeroblob(40000000)), '0', '00'))", "error", "too big", FAST),
    (
        "SELECT length(group_concat(hex(randomblob(1000)))) FROM people a, people b",
        "error",
        "too big",
        SMALL,
    ),
    # results too large in total, though each value is within the limit
    ("SELECT zeroblob(3000000) FROM people", "too_large", None, SMALL),
    ("SELECT printf('%.*c', 3000000, 'x') FROM people", "too_large", None, SMALL),
    # table-valued functions: only the read-only ones built up front run (LEGIT below);
    # any other virtual table needs a schema write to be built, and that is denied
    ("SELECT * FROM dbstat", "error", "vtable constructor failed", FAST),
    ("SELECT * FROM sqlite_stmt", "error", "vtable constructor failed", FAST),
    ("SELECT * FROM pragma_journal_mode", "error", DENIED, FAST),
    ("SELECT * FROM pragma_integrity_check", "error", DENIED, FAST),
    ("SELECT * FROM pragma_function_list", "error", DENIED, FAST),
    ("SELECT * FROM pragma_user_version(5)", "error", "too many arguments", FAST),
    ("PRAGMA table_info(people); PRAGMA user_version = 5", "error", "one statement", FAST),
    ("CREATE VIRTUAL TABLE temp.r USING rtree(id, lo, hi)", "error", DENIED, FAST),
    ("CREATE VIRTUAL TABLE temp.v USING fts4(x)", "error", DENIED, FAST),
    ("CREATE VIRTUAL TABLE temp.k USING fts3tokenize(simple)", "error", DENIED, FAST),
    ("CREATE VIRTUAL TABLE temp.j USING json_each", "error", DENIED, FAST),
    (
        "WITH j AS (SELECT value FROM json_each('[7]')) INSERT INTO people(id) SELECT * FROM j",
        "error",
        DENIED,
        FAST,
    ),
    ("SELECT * FROM json_each(load_extension('x'))", "error", DENIED, FAST),
    (
        "SELECT count(*) FROM json_tree((SELECT json_group_array(id) FROM people)) a, "
        # ~1.6 billion rows: no machine counts them within the 0.5 s limit
        "json_each((SELECT json_group_array(id) FROM people)) b, people c, people d",
        "timeout",
        None,
        FAST,
    ),
]


@dataclass(frozen=True)
class Probe:
    db: str
    sql: str
    limits: Limits
    cwd: str


def run_probe(probe: Probe) -> ExecResult:
    # Relative file names in a query resolve against the worker's cwd: make it the test's.
    os.chdir(probe.cwd)
    return execute(open_readonly(Path(probe.db)), probe.sql, probe.limits)


def pool_failed(probe: Probe, reason: str) -> ExecResult:
    return ExecResult("crash", None, f"pool: {reason}", -1.0)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("hostile")
    dbdir, cwd, otherdir = tmp / "db", tmp / "cwd", tmp / "other"
    for d in (dbdir, cwd, otherdir):
        d.mkdir()
    db = dbdir / "test.sqlite"
    build_db(db)
    other = otherdir / "other.sqlite"
    build_db(other)
    before = {
        "sha": sha256(db),
        "other": sha256(other),
        "files": listing(tmp, dbdir, cwd, otherdir),
    }
    fmt = {"other": other, "dbdir": dbdir, "tmp": tmp}
    probes = [Probe(str(db), sql.format(**fmt), limits, str(cwd)) for sql, _, _, limits in HOSTILE]
    results = dict(
        run_isolated(
            run_probe, probes, jobs=2, hard_timeout_s=HARD_TIMEOUT_S, on_failure=pool_failed
        )
    )
    after = {"sha": sha256(db), "other": sha256(other), "files": listing(tmp, dbdir, cwd, otherdir)}
    return results, before, after


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(HOSTILE)), ids=[c[0][:60] for c in HOSTILE]
)
def test_hostile_query_is_contained(hostile_run, index, case) -> None:
    results, _, _ = hostile_run
    _, status, message, _ = case
    result = results[index]
    assert result.status == status, result
    assert result.rows is None
    if message is not None:
        assert message in (result.error or ""), result.error


def test_hostile_corpus_changes_no_file(hostile_run) -> None:
    _, before, after = hostile_run
    assert after == before


def test_giant_printf_is_refused_by_sqlite_itself(tmp_path: Path) -> None:
    # SQLite's printf yields NULL rather than build a string over its length limit.
    db = tmp_path / "t.sqlite"
    build_db(db)
    result = execute(open_readonly(db), "SELECT printf('%.*c', 5000000, 'x')", SMALL)
    assert (result.status, result.rows) == ("ok", [(None,)])


def test_single_opcode_spin_is_contained_by_the_pool(tmp_path: Path) -> None:
    # SQLite 3.40's printf('%.*c', N) loops N times inside one VM instruction (~15 s for
    # N = 2e9), so the progress handler cannot fire: the pool's hard kill is the backstop,
    # and it costs only that query.
    db = tmp_path / "t.sqlite"
    build_db(db)
    probes = [
        Probe(str(db), sql, FAST, str(tmp_path))
        for sql in ["SELECT 1", "SELECT printf('%.*c', 2000000000, 'x')", "SELECT 2"]
    ]
    results = dict(
        run_isolated(
            run_probe, probes, jobs=1, hard_timeout_s=1.0, on_failure=pool_failed, chunk_size=3
        )
    )
    assert results[0].rows == [(1,)] and results[2].rows == [(2,)]
    assert results[1].status == "crash" and results[1].error.startswith("pool: timeout:")


def test_hostile_queries_on_a_real_spider_database(spider_dir: Path, tmp_path: Path) -> None:
    source = spider_dir / "database" / "concert_singer" / "concert_singer.sqlite"
    if not source.is_file():
        pytest.skip(f"{source} not present")
    db = tmp_path / "concert_singer.sqlite"
    shutil.copyfile(source, db)
    digest, files = sha256(db), listing(tmp_path)
    conn = open_readonly(db)
    for sql in [
        "DELETE FROM singer",
        "DROP TABLE concert",
        "CREATE TEMP TABLE t AS SELECT * FROM singer",
        f"ATTACH DATABASE '{tmp_path}/x.db' AS x",
        f"VACUUM INTO '{tmp_path}/x.db'",
        "PRAGMA journal_mode = WAL",
        "SELECT count(*) FROM singer a, singer b, singer c, concert d, stadium e, "
        "singer_in_concert f, singer g, singer h, singer i, singer j, singer k",
    ]:
        assert execute(conn, sql, FAST).status in {"error", "timeout"}, sql
    assert execute(conn, "SELECT count(*) FROM singer", FAST).rows == [(6,)]
    assert (sha256(db), listing(tmp_path)) == (digest, files)


# --- each layer alone still refuses writes -------------------------------------------------


def test_read_only_layers_hold_without_the_authorizer(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    digest = sha256(db)
    conn = open_readonly(db)
    conn.set_authorizer(None)  # what is left: mode=ro&immutable=1, query_only, no ATTACH
    for sql, message in [
        ("DELETE FROM people", "readonly"),
        ("CREATE TEMP TABLE t(x)", "readonly"),
        ("ATTACH DATABASE ':memory:' AS m", "too many attached"),
        (f"VACUUM INTO '{tmp_path}/copy.db'", "too many attached"),
        ("SELECT load_extension('x')", "not authorized"),
    ]:
        result = execute(conn, sql, FAST)
        assert result.status == "error" and message in (result.error or ""), (sql, result)
    assert sha256(db) == digest
    assert sorted(os.listdir(tmp_path)) == ["t.sqlite"]


# --- legitimate queries: exactly what plain sqlite3 returns --------------------------------

LEGIT = [
    "SELECT * FROM people",
    "SELECT name, age FROM people ORDER BY age DESC, id",
    "SELECT name FROM people WHERE id = 999",
    "SELECT photo, score FROM people WHERE score IS NULL OR id > 195",
    "SELECT age, count(*), avg(score), sum(score), max(name) FROM people GROUP BY age",
    "SELECT kind, count(DISTINCT owner_id) FROM pets GROUP BY kind ORDER BY 2",
    "SELECT p.name, q.kind FROM people p JOIN pets q ON p.id = q.owner_id WHERE q.pet_id < 20",
    "SELECT * FROM adults LIMIT 5",
    "SELECT 1, 1.0, '1', x'01', NULL, 2 / 3, 2.0 / 3, 1e308 * 10",
    "SELECT CAST(x'c3a9ff' AS TEXT), 'é', upper('straße')",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) SELECT sum(x) FROM c",
    "SELECT name, rank() OVER (ORDER BY score DESC) FROM people WHERE id < 10",
    "SELECT id FROM people WHERE name LIKE 'person 1%' EXCEPT SELECT owner_id FROM pets",
    "PRAGMA table_info(people)",
    "PRAGMA foreign_key_list(pets)",
    "PRAGMA index_list(pets)",
    "PRAGMA user_version",
    "SELECT name FROM sqlite_master ORDER BY name",
    # read-only table-valued functions, as the official evaluator's plain sqlite3 runs them
    "SELECT count(*) FROM json_each('[1,2,3]')",
    'SELECT key, value, type, path FROM json_tree(\'{"a": [1, 2.5, null], "b": "x"}\')',
    "SELECT p.id, j.value FROM people p, json_each('[' || p.id || ', 0]') j WHERE p.id < 4",
    "SELECT name, type, pk FROM pragma_table_info('people')",
    "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c "
    "WHERE m.type = 'table' ORDER BY 1, 2",
    "SELECT * FROM pragma_foreign_key_list('pets')",
    "SELECT name FROM pragma_index_list('pets')",
    "SELECT * FROM pragma_index_info('pets_owner')",
    "SELECT * FROM pragma_user_version",
    "SELECT * FROM pragma_table_info('people', 'main')",
    "SELECT count(*) FROM json_each('[1]') a, json_each('[1, 2]') b, json_tree('[3]') c",
    "",
    "  SELECT 1 ; ",
    "SELECT 1; -- trailing comment",
]


def plain_rows(db: Path, sql: str):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.text_factory = lambda b: b.decode(errors="ignore")  # the official evaluator's
    try:
        return conn.cursor().execute(sql).fetchall()
    finally:
        conn.close()


def typed(rows):
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


@pytest.mark.parametrize("sql", LEGIT)
def test_legitimate_query_matches_plain_sqlite3(tmp_path: Path, sql: str) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    result = execute(open_readonly(db), sql, Limits())
    assert result.status == "ok", result
    assert typed(result.rows) == typed(plain_rows(db, sql))


def test_generate_series_runs_exactly_where_sqlite_has_it(tmp_path: Path) -> None:
    # Built into some SQLite builds, an extension in others: either way, as plain sqlite3.
    db = tmp_path / "t.sqlite"
    build_db(db)
    sql = "SELECT value FROM generate_series(1, 3)"
    result = execute(open_readonly(db), sql, Limits())
    try:
        expected = plain_rows(db, sql)
    except sqlite3.OperationalError as exc:
        assert (result.status, result.error) == ("error", str(exc))
    else:
        assert (result.status, result.rows) == ("ok", expected)


def test_table_functions_work_on_every_connection_and_after_refusals(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    for _ in range(2):
        conn = open_readonly(db)
        for sql in ["SELECT * FROM dbstat", "CREATE VIRTUAL TABLE temp.v USING fts4(x)"]:
            assert execute(conn, sql, FAST).status == "error"
        again = execute(conn, "SELECT count(*) FROM json_each('[1, 2, 3]')", FAST)
        assert (again.status, again.rows) == ("ok", [(3,)])
        conn.close()


def test_invalid_utf8_is_dropped_like_the_official_text_factory(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    result = execute(open_readonly(db), "SELECT name FROM people WHERE id = 999", Limits())
    assert result.rows == [("A",)]


def test_errors_carry_sqlite_message(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    conn = open_readonly(db)
    for sql, message in [
        ("SELECT foo FROM people", "no such column: foo"),
        ("SELECT * FROM nowhere", "no such table: nowhere"),
        ("SELEC 1", 'near "SELEC": syntax error'),
        ("SELECT 1\x00", "null character"),
    ]:
        result = execute(conn, sql, Limits())
        assert (result.status, result.rows) == ("error", None)
        assert message in result.error, result.error


def test_every_spider_gold_query_matches_plain_sqlite3(spider_dir: Path) -> None:
    conns: dict[Path, sqlite3.Connection] = {}
    checked = 0
    for line in (spider_dir / "dev_gold.sql").read_text().splitlines():
        if not line.strip():
            continue
        sql, db_id = line.rsplit("\t", 1)
        db = spider_dir / "database" / db_id / f"{db_id}.sqlite"
        if not db.is_file():
            continue
        if db not in conns:
            conns[db] = open_readonly(db)
        result = execute(conns[db], sql, Limits())
        assert result.status == "ok", (sql, result.error)
        assert typed(result.rows) == typed(plain_rows(db, sql)), sql
        checked += 1
    assert checked > 500


# --- limits and connection reuse -----------------------------------------------------------


def test_row_limit_boundary(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    conn = open_readonly(db)
    exact = execute(conn, "SELECT id FROM people LIMIT 1000", Limits(max_rows=201))
    assert exact.status == "ok" and len(exact.rows) == 201
    over = execute(conn, "SELECT id FROM people", Limits(max_rows=200))
    assert (over.status, over.rows) == ("too_large", None)


def test_byte_limit_counts_text_and_blobs(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    conn = open_readonly(db)
    limits = Limits(max_bytes=2 * 2**20)
    assert execute(conn, "SELECT zeroblob(100000) FROM people LIMIT 5", limits).status == "ok"
    assert execute(conn, "SELECT zeroblob(100000) FROM people", limits).status == "too_large"
    text = "SELECT printf('%.*c', 100000, 'x') FROM people"
    assert execute(conn, text + " LIMIT 5", limits).status == "ok"
    assert execute(conn, text, limits).status == "too_large"


def test_connection_is_clean_after_hostile_queries(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    conn = open_readonly(db)
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    expected = typed(plain_rows(db, "SELECT * FROM people"))
    for sql, limits in [
        (endless, Limits(timeout_s=0.2)),
        ("SELECT * FROM people", Limits(max_rows=3)),
        ("SELECT printf('%.*c', 100000, 'x') FROM people", Limits(max_bytes=2**20)),
        ("BEGIN", FAST),
        ("CREATE TEMP TABLE t(x)", FAST),
        ("SELECT 1; SELECT 2", FAST),
    ]:
        assert execute(conn, sql, limits).status != "ok"
        again = execute(conn, "SELECT * FROM people", Limits())
        assert again.status == "ok" and typed(again.rows) == expected
        assert not conn.in_transaction
    # The handler and the counting text factory do not outlive a query.
    assert conn.execute("SELECT count(*) FROM people a, people b").fetchall() == [(201 * 201,)]
    assert conn.execute("SELECT CAST(x'ff41' AS TEXT)").fetchall() == [("A",)]
    assert conn.execute("SELECT name FROM sqlite_temp_master").fetchall() == []


def test_timeout_applies_per_query(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    build_db(db)
    conn = open_readonly(db)
    endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"
    assert execute(conn, endless, Limits(timeout_s=0.01)).status == "timeout"
    # The next query on the same connection gets its own, longer limit.
    slow = "SELECT count(*) FROM people a, people b, people c"  # 8 million rows
    result = execute(conn, slow, Limits(timeout_s=600))
    assert (result.status, result.rows) == ("ok", [(201**3,)])


def test_path_is_percent_encoded(tmp_path: Path) -> None:
    odd = tmp_path / "we?ird #dir %20 & x=1"
    odd.mkdir()
    db = odd / "t?.sqlite"
    build_db(db)
    assert "?" not in readonly_uri(db).split("?mode=")[0]
    result = execute(open_readonly(db), "SELECT count(*) FROM people", Limits())
    assert result.rows == [(201,)]
    assert sorted(os.listdir(odd)) == ["t?.sqlite"]


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        open_readonly(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


def test_execute_refuses_an_unsandboxed_connection() -> None:
    with pytest.raises(TypeError):
        execute(sqlite3.connect(":memory:"), "SELECT 1", Limits())


def test_reverse_scans_reverse_an_unordered_scan_and_keep_the_sandbox(tmp_path):
    db = tmp_path / "r.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.close()
    plain, reverse = open_readonly(db), open_readonly(db, reverse_scans=True)
    assert execute(plain, "SELECT x FROM t", Limits()).rows == [(1,), (2,), (3,)]
    assert execute(reverse, "SELECT x FROM t", Limits()).rows == [(3,), (2,), (1,)]
    assert execute(reverse, "PRAGMA reverse_unordered_selects = OFF", Limits()).status == "error"
