"""The frozen evals/ fixture: its loader, its gold queries and its two prediction files."""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from harness.benchmarks import fixture as fx
from harness.benchmarks.base import load_benchmark
from harness.errors import DataError

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "evals" / "fixture"
PREDICTIONS = REPO / "evals" / "predictions"
DOMAINS = ("clinic", "company", "library", "retail", "school")
SPIDER_KEYS = {
    "db_id",
    "table_names",
    "table_names_original",
    "column_names",
    "column_names_original",
    "column_types",
    "primary_keys",
    "foreign_keys",
}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory):
    # Build into a temporary folder so the test never writes into the checkout.
    return fx.load_fixture(build_dir=tmp_path_factory.mktemp("fixture-build"))


def _copy_fixture(dst: Path, domains: tuple[str, ...] = ("company",)) -> Path:
    (dst / "databases").mkdir(parents=True)
    for db in domains:
        shutil.copy(FIXTURE / "databases" / f"{db}.sql", dst / "databases" / f"{db}.sql")
    lines = [
        line
        for line in (FIXTURE / "dev.jsonl").read_text().splitlines()
        if json.loads(line)["db_id"] in domains
    ]
    (dst / "dev.jsonl").write_text("\n".join(lines) + "\n")
    return dst


def _write_lines(path: Path, objs: list[object]) -> Path:
    path.write_text("".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs))
    return path


def _rows(db: Path, sql: str, reverse: bool = False) -> list[tuple]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        if reverse:
            conn.execute("PRAGMA reverse_unordered_selects = ON")
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _read_predictions(name: str) -> list[dict]:
    return [json.loads(x) for x in (PREDICTIONS / f"{name}.jsonl").read_text().splitlines()]


# ------------------------------------------------------------------ loader


def test_registry_and_examples(bench) -> None:
    assert bench.name == "fixture" and bench.split == "dev"
    ids = [e.id for e in bench.examples]
    assert len(ids) == 50 == len(set(ids))
    assert Counter(e.db_id for e in bench.examples) == {db: 10 for db in DOMAINS}
    assert all(e.id.startswith(f"{e.db_id}-") for e in bench.examples)
    assert bench.missing_db_ids == [] and not bench.test_suite
    for e in bench.examples:
        assert e.question.strip() and e.gold_sql.strip()
        (db,) = e.db_paths
        assert db.name == f"{e.db_id}.sqlite" and db.parent.name == e.db_id
        assert db.parent.parent.name == "database"  # Spider layout
    names = sorted(p.name for p in bench.data_files)
    assert names == sorted(["dev.jsonl", *(f"{d}.sql" for d in DOMAINS)])
    assert set(bench.tables) == set(DOMAINS)


def test_load_benchmark_by_name(tmp_path: Path) -> None:
    data = load_benchmark("fixture", build_dir=tmp_path)
    assert len(data.examples) == 50


def test_tables_entry_shape_and_foreign_keys(bench) -> None:
    for db_id, entry in bench.tables.items():
        assert set(entry) == SPIDER_KEYS and entry["db_id"] == db_id
        cols = entry["column_names_original"]
        assert cols[0] == [-1, "*"] and entry["column_names"][0] == [-1, "*"]
        assert len(cols) == len(entry["column_names"]) == len(entry["column_types"])
        assert set(entry["column_types"]) <= {"text", "number", "time", "boolean", "others"}
        assert all(0 <= t < len(entry["table_names_original"]) for t, _ in cols[1:])
        assert all(0 < i < len(cols) for i in entry["primary_keys"])
        assert all(0 < a < len(cols) and 0 < b < len(cols) for a, b in entry["foreign_keys"])
        # every table has a primary key
        assert {cols[i][0] for i in entry["primary_keys"]} == set(
            range(len(entry["table_names_original"]))
        )

    company = bench.tables["company"]
    tables, cols = company["table_names_original"], company["column_names_original"]

    def name(i: int) -> str:
        return f"{tables[cols[i][0]]}.{cols[i][1]}"

    assert {(name(a), name(b)) for a, b in company["foreign_keys"]} == {
        ("employee.dept_id", "department.dept_id"),
        ("employee.manager_id", "employee.emp_id"),
        ("project.dept_id", "department.dept_id"),
        ("assignment.emp_id", "employee.emp_id"),
        ("assignment.project_id", "project.project_id"),
    }
    assert {name(i) for i in company["primary_keys"]} == {
        "department.dept_id",
        "employee.emp_id",
        "project.project_id",
        "assignment.emp_id",
        "assignment.project_id",
    }
    salary = next(i for i, c in enumerate(cols) if c == [1, "salary"])
    assert company["column_types"][salary] == "number"
    assert company["column_names"][salary] == [1, "salary"]


def test_default_build_dir_and_rebuild_on_change(tmp_path: Path) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    first = fx.load_fixture(data_dir)
    (db,) = first.examples[0].db_paths
    assert db == data_dir / ".build" / "database" / "company" / "company.sqlite"
    stamp = data_dir / ".build" / "stamps" / "company.sha256"
    assert stamp.read_text().strip() == fx._sha256(
        (data_dir / "databases/company.sql").read_bytes()
    )
    inode = db.stat().st_ino

    fx.load_fixture(data_dir)  # unchanged script: the file is reused, not rebuilt
    assert db.stat().st_ino == inode

    script = data_dir / "databases" / "company.sql"
    script.write_text(
        script.read_text() + "\nINSERT INTO department VALUES (8, 'Audit', 'Oslo', 1);\n"
    )
    fx.load_fixture(data_dir)
    assert db.stat().st_ino != inode
    assert _rows(db, "SELECT count(*) FROM department") == [(8,)]
    assert stamp.read_text().strip() == fx._sha256(script.read_bytes())

    stamp.unlink()  # a lost stamp means "unknown build": rebuild
    inode = db.stat().st_ino
    fx.load_fixture(data_dir)
    assert db.stat().st_ino != inode and stamp.is_file()
    leftovers = [p.name for p in db.parent.iterdir() if p.name != "company.sqlite"]
    assert leftovers == []


def test_broken_script_names_line_and_keeps_previous_database(tmp_path: Path) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    (db,) = fx.load_fixture(data_dir).examples[0].db_paths
    before = db.read_bytes()
    script = data_dir / "databases" / "company.sql"
    lines = script.read_text().splitlines()
    lines.append("INSERT INTO department VALUES (9, 'Oops', 'Nowhere');")  # 3 values for 4 cols
    script.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=rf"company\.sql:{len(lines)}: table department has 4 columns"
    ):
        fx.load_fixture(data_dir)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["company.sqlite"]


def test_foreign_key_violation_is_reported(tmp_path: Path) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    script = data_dir / "databases" / "company.sql"
    script.write_text(
        script.read_text() + "INSERT INTO project VALUES (99, 'X', 42, 1, 2024, 'x');\n"
    )
    with pytest.raises(DataError, match=r"company\.sql: foreign key violations: project"):
        fx.load_fixture(data_dir)


def test_script_cannot_attach_other_files(tmp_path: Path) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    other = tmp_path / "elsewhere.db"
    script = data_dir / "databases" / "company.sql"
    script.write_text(script.read_text() + f"ATTACH DATABASE '{other}' AS x;\n")
    with pytest.raises(DataError, match=r"company\.sql:\d+: not authorized"):
        fx.load_fixture(data_dir)
    assert not other.exists()


def _build(args: tuple[str, str]) -> str:
    script, build_dir = args
    return str(fx.build_database(Path(script), Path(build_dir)))


def test_concurrent_builds_agree(tmp_path: Path) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    script = data_dir / "databases" / "company.sql"
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    with ProcessPoolExecutor(max_workers=2) as pool:
        paths = set(pool.map(_build, [(str(script), str(build_dir))] * 6))
    (path,) = paths
    assert _rows(Path(path), "SELECT count(*) FROM employee") == [(24,)]
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["company.sqlite"]


def test_read_only_fixture_builds_into_cache(tmp_path: Path, monkeypatch) -> None:
    data_dir = _copy_fixture(tmp_path / "fx")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fx.os, "access", lambda *a, **k: False)
    (db,) = fx.load_fixture(data_dir).examples[0].db_paths
    assert db.is_relative_to(tmp_path / "cache" / "fixture-build")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "db_id": "company"', r"dev\.jsonl:2: invalid JSON"),
        ('["a", "company"]', r"dev\.jsonl:2: expected a JSON object"),
        ('{"id": "b", "db_id": "company", "question": "q"}',
         r"dev\.jsonl:2: missing field 'gold_sql'"),
        ('{"id": 7, "db_id": "company", "question": "q", "gold_sql": "SELECT 1"}',
         r"dev\.jsonl:2: field 'id' must be a string"),
        ('{"id": "c", "db_id": "", "question": "q", "gold_sql": "SELECT 1"}',
         r"dev\.jsonl:2: field 'db_id' is empty"),
        ('{"id": "company-01", "db_id": "company", "question": "q", "gold_sql": "SELECT 1"}',
         r"dev\.jsonl:2: duplicate id 'company-01' \(first on line 1\)"),
        ('{"id": "d", "db_id": "../x", "question": "q", "gold_sql": "SELECT 1"}',
         r"dev\.jsonl:2: field 'db_id' is not a plain name"),
    ],
)  # fmt: skip
def test_bad_lines_name_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    good = {"id": "company-01", "db_id": "company", "question": "q", "gold_sql": "SELECT 1"}
    _write_lines(tmp_path / "dev.jsonl", [good, line])
    with pytest.raises(DataError, match=message):
        fx.load_fixture(tmp_path)


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    good = {"id": "x", "db_id": "company", "question": "q", "gold_sql": "SELECT 1"}
    _write_lines(tmp_path / "dev.jsonl", [good, "", "{oops"])
    with pytest.raises(DataError, match=r"dev\.jsonl:3: invalid JSON"):
        fx.load_fixture(tmp_path)


def test_missing_directory_split_and_empty_split(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fx, "default_fixture_dir", lambda: tmp_path / "site-packages" / "evals")
    with pytest.raises(DataError, match=r"fixture not found .*pass --data-dir"):
        fx.load_fixture()
    with pytest.raises(DataError, match="fixture directory not found"):
        fx.load_fixture(tmp_path / "nope")
    _write_lines(tmp_path / "dev.jsonl", [])
    with pytest.raises(DataError, match="no examples"):
        fx.load_fixture(tmp_path)
    with pytest.raises(DataError, match=r"test\.jsonl: not found \(splits here: dev\)"):
        fx.load_fixture(tmp_path, split="test")


def test_context_without_database_is_loadable(tmp_path: Path) -> None:
    context = (
        "CREATE TABLE author (author_id INTEGER PRIMARY KEY, name TEXT);\n"
        "CREATE TABLE book (book_id INTEGER PRIMARY KEY, title TEXT, published DATE,\n"
        "  author_id INTEGER REFERENCES author);"
    )
    rows = [
        {"id": "q1", "db_id": "shelf", "question": "How many books?",
         "gold_sql": "SELECT count(*) FROM book", "context": context},
        {"id": "q2", "db_id": "shelf", "question": "Titles?", "gold_sql": "SELECT title FROM book",
         "context": context, "evidence": "title is the book title", "source": "hand"},
    ]  # fmt: skip
    _write_lines(tmp_path / "dev.jsonl", rows)
    data = fx.load_fixture(tmp_path)
    assert data.missing_db_ids == ["shelf"]
    assert [e.db_paths for e in data.examples] == [(), ()]
    assert data.examples[0].context == context
    assert data.examples[1].evidence == "title is the book title"
    assert data.examples[1].extra == {"source": "hand"}
    entry = data.tables["shelf"]
    assert entry["table_names_original"] == ["author", "book"]
    assert entry["column_types"] == ["text", "number", "text", "number", "text", "time", "number"]
    assert entry["foreign_keys"] == [[6, 1]]  # bare REFERENCES author -> its primary key
    assert not (tmp_path / ".build").exists()


def test_bad_context_names_its_line(tmp_path: Path) -> None:
    good = {"id": "a", "db_id": "x", "question": "q", "gold_sql": "SELECT 1"}
    bad = {**good, "id": "b", "context": "CREATE TABLE t (a INT,);"}
    _write_lines(tmp_path / "dev.jsonl", [good, bad])
    with pytest.raises(DataError, match=r"dev\.jsonl:2 \(context\):1: .*syntax error"):
        fx.load_fixture(tmp_path)


def test_db_dir_uses_spider_layout_instead_of_building(tmp_path: Path, bench) -> None:
    db_dir = tmp_path / "dbs"
    (db_dir / "company").mkdir(parents=True)
    built = next(e.db_paths[0] for e in bench.examples if e.db_id == "company")
    shutil.copy(built, db_dir / "company" / "company.sqlite")
    data_dir = _copy_fixture(tmp_path / "fx", ("company", "school"))
    data = fx.load_fixture(data_dir, db_dir=db_dir)
    assert data.missing_db_ids == ["school"]
    company = [e for e in data.examples if e.db_id == "company"]
    assert {e.db_paths for e in company} == {(db_dir / "company" / "company.sqlite",)}
    assert all(e.db_paths == () for e in data.examples if e.db_id == "school")
    assert "school" not in data.tables and "company" in data.tables
    assert not (data_dir / ".build").exists()
    with pytest.raises(DataError, match="database directory not found"):
        fx.load_fixture(data_dir, db_dir=tmp_path / "absent")


# ------------------------------------------------------------------ gold queries


def _tie_broken(sql: str) -> list[str]:
    """The query with its ORDER BY extended by every output column, ascending and descending.

    If the original order is total over the rows it returns (and its LIMIT cuts no tie),
    both variants return exactly the same list.
    """
    tree = sqlglot.parse_one(sql, read="sqlite")
    width = len(tree.expressions)
    variants = []
    for desc in (False, True):
        t = tree.copy()
        for pos in range(1, width + 1):
            t.args["order"].append(
                "expressions", exp.Ordered(this=exp.Literal.number(pos), desc=desc)
            )
        variants.append(t.sql(dialect="sqlite"))
    return variants


def _deterministic(db: Path, sql: str) -> bool:
    rows = _rows(db, sql)
    if "order by" in sql.lower():
        return all(_rows(db, v) == rows for v in _tie_broken(sql))
    # SQLite's reverse_unordered_selects flips unspecified scan orders: a bag result that
    # changes under it depends on them (a LIMIT without ORDER BY, say).
    return Counter(_rows(db, sql, reverse=True)) == Counter(rows)


def test_tie_check_catches_ties(bench) -> None:
    db = next(e.db_paths[0] for e in bench.examples if e.db_id == "company")
    # Chen Wei and Dana Novak both earn 98000; Atlas and Falcon both have 4 assignments.
    assert not _deterministic(
        db, "SELECT name FROM employee WHERE title = 'Engineer' ORDER BY salary"
    )
    assert not _deterministic(
        db,
        "SELECT T1.name FROM project AS T1 JOIN assignment AS T2 ON T1.project_id = T2.project_id "
        "GROUP BY T1.project_id ORDER BY count(*) DESC LIMIT 1",
    )
    assert _deterministic(db, "SELECT name FROM employee ORDER BY salary DESC LIMIT 3")


def test_every_gold_executes_returns_rows_and_is_deterministic(bench) -> None:
    for e in bench.examples:
        assert _rows(e.db_paths[0], e.gold_sql), f"{e.id}: gold returns no rows"
        assert _deterministic(e.db_paths[0], e.gold_sql), f"{e.id}: result depends on ties"
        assert "value" not in e.gold_sql  # the official evaluator rewrites it to 1


# ------------------------------------------------------------------ predictions


@pytest.mark.parametrize("name", ["baseline", "candidate"])
def test_prediction_files_cover_exactly_the_fixture_ids(bench, name: str) -> None:
    preds = _read_predictions(name)
    assert [p["id"] for p in preds] == [e.id for e in bench.examples]
    assert all(isinstance(p["sql"], str) for p in preds)
    assert all("value" not in p["sql"] for p in preds)


def _same(gold: list[tuple], pred: list[tuple], ordered: bool) -> bool:
    """Bag (or list) equality up to a permutation of the columns."""
    if len(gold) != len(pred):
        return False
    if not gold:
        return True
    width = len(gold[0])
    if any(len(r) != width for r in pred):
        return False
    for perm in itertools.permutations(range(width)):
        moved = [tuple(r[i] for i in perm) for r in pred]
        if (moved == gold) if ordered else (Counter(moved) == Counter(gold)):
            return True
    return False


def _simple_ex(bench, name: str) -> dict[str, int]:
    preds = {p["id"]: p["sql"] for p in _read_predictions(name)}
    out = {}
    for e in bench.examples:
        gold = _rows(e.db_paths[0], e.gold_sql)
        try:
            pred = _rows(e.db_paths[0], preds[e.id])
        except (sqlite3.Error, sqlite3.Warning):
            out[e.id] = 0
            continue
        out[e.id] = int(_same(gold, pred, "order by" in e.gold_sql.lower()))
    return out


def test_candidate_beats_baseline_on_a_plain_check(bench) -> None:
    base, cand = _simple_ex(bench, "baseline"), _simple_ex(bench, "candidate")
    acc_b, acc_c = sum(base.values()) / len(base), sum(cand.values()) / len(cand)
    assert 0.5 <= acc_b <= 0.7 and 0.75 <= acc_c <= 0.9 and acc_b < acc_c
    # a paired comparison needs discordant pairs both ways
    assert any(cand[i] and not base[i] for i in base)
    assert any(base[i] and not cand[i] for i in base)


def test_baseline_carries_the_failure_kinds_the_scorer_labels(bench) -> None:
    preds = {p["id"]: p["sql"] for p in _read_predictions("baseline")}
    errors = []
    for e in bench.examples:
        if not preds[e.id].strip():
            errors.append("empty")
            continue
        try:
            _rows(e.db_paths[0], preds[e.id])
        except sqlite3.Error as exc:
            errors.append(str(exc))
    assert "empty" in errors
    assert any("no such column" in x for x in errors)
    assert any(x.startswith(('near "Here"', "unrecognized token")) for x in errors)
    assert any(preds[i].startswith("Here is") for i in preds)
