"""`harness testsuite build`: random databases, neighbour queries, distillation, layout."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest
from test_bird_metrics import CASES, build_bird_dir

from harness.benchmarks.base import load_benchmark
from harness.cli import main
from harness.records import PredictionSet
from harness.scoring.scorer import ScoreOptions, score_benchmark
from harness.testsuite.build import BuildRequest, build_testsuite
from harness.testsuite.dbinfo import read_database
from harness.testsuite.distill import Budget, distill_database
from harness.testsuite.fuzz import fuzz_tables
from harness.testsuite.neighbors import neighbor_queries
from harness.testsuite.run import Runner

FAMILY = """
CREATE TABLE club (club_id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, city TEXT);
CREATE TABLE player (
    player_id INTEGER PRIMARY KEY,
    club_id INTEGER REFERENCES club(club_id),
    name TEXT,
    age INT,
    mentor_id INTEGER REFERENCES player(player_id)
);
CREATE TABLE award (player_id INTEGER, year INT, title TEXT,
    PRIMARY KEY (player_id, year), FOREIGN KEY (player_id) REFERENCES player(player_id));
INSERT INTO club VALUES (1, 'Lions', 'Paris'), (2, 'Tigers', 'Rome');
INSERT INTO player VALUES (1, 1, 'Ann', 40, NULL), (2, 2, 'Bob', 20, 1), (3, 1, 'Cid', 45, 1);
INSERT INTO award VALUES (1, 2001, 'MVP'), (3, 2003, 'Rookie');
"""


@pytest.fixture
def family_db(tmp_path: Path) -> Path:
    path = tmp_path / "family.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(FAMILY)
    conn.close()
    return path


def test_child_keys_come_from_the_generated_parents_and_keys_stay_unique(family_db):
    info = read_database(family_db)
    assert info.parents[("player", "club_id")] == ("club", "club_id")
    assert info.table_order().index("club") < info.table_order().index("player")
    for seed in range(20):
        tables = fuzz_tables(info, {}, random.Random(seed))
        clubs = {r[0] for r in tables["club"]}
        players = {r[0] for r in tables["player"]}
        assert {r[1] for r in tables["player"]} <= clubs
        assert {r[4] for r in tables["player"]} <= players  # a reference inside the table
        assert len(clubs) == len(tables["club"])  # primary key
        names = [r[1] for r in tables["club"]]
        assert len(set(names)) == len(names) and None not in names  # UNIQUE NOT NULL
        keys = [(r[0], r[1]) for r in tables["award"]]
        assert len(set(keys)) == len(keys)  # composite primary key


def test_gold_literals_reach_the_random_databases(family_db):
    info = read_database(family_db)
    from harness.testsuite.literals import typed_literals

    literals = typed_literals(
        ["SELECT T1.name FROM player AS T1 JOIN club AS T2 ON T1.club_id = T2.club_id "
         "WHERE T2.city = 'Oslo' AND T1.age > 33"], info)  # fmt: skip
    assert literals == {("club", "city"): ["Oslo"], ("player", "age"): [33]}
    seen = set()
    for seed in range(10):
        seen |= {r[2] for r in fuzz_tables(info, literals, random.Random(seed))["club"]}
    assert "Oslo" in seen


def test_neighbours_cover_the_families_of_the_paper():
    found = neighbor_queries(
        "SELECT max(age) FROM player WHERE age > 30 AND name LIKE 'A%' ORDER BY age DESC",
        ["age", "name", "player_id"],
    )
    assert "SELECT min ( age ) FROM player WHERE age > 30 AND name LIKE 'A%' ORDER BY age DESC" \
        .replace("min", "MIN") in found  # fmt: skip
    for expected in ("age >= 30", "age > 31", " OR ", "NOT LIKE", "ORDER BY age ASC",
                     "max ( player_id )", "'a%'"):  # fmt: skip
        assert any(expected in q for q in found), expected
    assert any("WHERE" not in q for q in found)  # a dropped span
    # count(*) and count(col) are usually the same query: not a neighbour
    counted = neighbor_queries("SELECT count(*) FROM player", ["age", "player_id"])
    assert "SELECT count ( player_id ) FROM player" not in counted
    assert "SELECT count ( * ) FROM player" not in counted


def test_distillation_keeps_what_tells_a_neighbour_apart(family_db, tmp_path):
    # The original's ages are 20, 40 and 45: it cannot tell `age > 41` from `age >= 41`.
    gold = "SELECT name FROM player WHERE age > 41"
    report = distill_database("family", family_db, [gold], tmp_path / "ts", 0, Budget())
    left = {item["neighbor"] for item in report.undistinguished_sample}
    assert "SELECT name FROM player WHERE age >= 41" not in left
    assert report.told_apart_by_original > 0 and report.files
    assert all(f["distinguishes"] > 0 for f in report.files)
    assert (tmp_path / "ts" / "family.sqlite").read_bytes() == family_db.read_bytes()
    # every kept database runs the gold the same way
    for f in report.files:
        a = Runner(tmp_path / "ts" / str(f["name"])).run(gold, 5)
        assert a.status == "ok"


def test_a_database_where_gold_depends_on_scan_order_is_not_kept(family_db, tmp_path):
    from harness.testsuite.distill import _gold_results

    gold = "SELECT name FROM player ORDER BY age LIMIT 1"
    assert _gold_results(family_db, [gold], Budget()) is not None  # ages 20, 40, 45
    tied = tmp_path / "tied.sqlite"
    tied.write_bytes(family_db.read_bytes())
    with sqlite3.connect(tied) as conn:
        conn.execute("UPDATE player SET age = 20")  # a tie: the answer is the scan's choice
    conn.close()
    assert _gold_results(tied, [gold], Budget()) is None
    assert _gold_results(tied, ["SELECT name FROM player ORDER BY age, name LIMIT 1"],
                         Budget()) is not None  # fmt: skip
    # and distillation keeps only databases where the gold is unambiguous
    report = distill_database("family", family_db, [gold], tmp_path / "ts", 3, Budget())
    for f in report.files:
        path = tmp_path / "ts" / str(f["name"])
        forward = Runner(path).run(gold, 5).rows
        backward = Runner(path, reverse_scans=True).run(gold, 5).rows
        assert forward == backward


def _fixture_request(out: Path, seed: int = 0) -> BuildRequest:
    return BuildRequest(bench="fixture", data_dir=None, split="dev", out=out, seed=seed,
                        jobs=1, db_ids=("clinic",))  # fmt: skip


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = build_testsuite(_fixture_request(tmp_path / "a"))
    b = build_testsuite(_fixture_request(tmp_path / "b"))
    c = build_testsuite(_fixture_request(tmp_path / "c", seed=1))
    names = sorted(p.name for p in (tmp_path / "a" / "clinic").glob("*.sqlite"))
    assert len(names) >= 2
    for name in names:
        assert (tmp_path / "a/clinic" / name).read_bytes() == (
            tmp_path / "b/clinic" / name
        ).read_bytes()
    assert _without_time(a) == _without_time(b)
    files_a = [f["sha256"] for f in a["databases"]["clinic"]["files"]]
    files_c = [f["sha256"] for f in c["databases"]["clinic"]["files"]]
    assert files_a != files_c


def _without_time(manifest: dict) -> dict:
    out = json.loads(json.dumps(manifest))
    for record in out["databases"].values():
        record.pop("seconds")
    return out


def test_manifest_names_every_file_and_its_hash(tmp_path):
    from harness.hashing import sha256_file

    manifest = build_testsuite(_fixture_request(tmp_path))
    record = manifest["databases"]["clinic"]
    for f in record["files"]:
        assert sha256_file(tmp_path / "clinic" / f["name"]) == f["sha256"]
    assert manifest["databases_per_schema"]["clinic"] == 1 + len(record["files"])
    assert manifest["seed"] == 0 and manifest["algorithm"].startswith("harness-testsuite/")
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk["size_bytes"] == manifest["size_bytes"] > 0


def test_rerun_skips_finished_databases_and_redoes_changed_ones(tmp_path):
    build_testsuite(_fixture_request(tmp_path))
    stamp = (tmp_path / "clinic" / "clinic_ts001.sqlite").stat().st_mtime_ns
    events: list[tuple[str, bool]] = []
    totals: list[int] = []
    build_testsuite(_fixture_request(tmp_path), on_done=lambda d, s: events.append((d, s)),
                    on_total=totals.append)  # fmt: skip
    assert events == [("clinic", True)] and totals == [1]
    assert (tmp_path / "clinic" / "clinic_ts001.sqlite").stat().st_mtime_ns == stamp
    events.clear()
    build_testsuite(_fixture_request(tmp_path, seed=5), on_done=lambda d, s: events.append((d, s)))
    assert events == [("clinic", False)]
    record = tmp_path / "clinic" / "testsuite.json"
    for broken in (record.read_text()[:20], "[]"):  # torn, or not a record: redone
        record.write_text(broken)
        events.clear()
        build_testsuite(
            _fixture_request(tmp_path, seed=5), on_done=lambda d, s: events.append((d, s))
        )
        assert events == [("clinic", False)]


def test_every_gold_matches_itself_on_the_suite_and_scoring_reads_it(tmp_path):
    build_testsuite(_fixture_request(tmp_path))
    bench = load_benchmark("fixture", db_dir=tmp_path)
    bench.examples = [e for e in bench.examples if e.db_id == "clinic"]
    bench.missing_db_ids = []
    assert bench.test_suite
    preds = PredictionSet(sql={e.id: e.gold_sql for e in bench.examples})
    summary = score_benchmark(bench, preds, tmp_path / "run", ScoreOptions(jobs=1))
    assert summary["metrics"]["ts"]["mean"] == 1.0


def test_cli_builds_and_reports_in_one_line(tmp_path, capsys):
    code = main(["testsuite", "build", "--bench", "fixture", "--out", str(tmp_path),
                 "--db-id", "clinic", "--jobs", "1", "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "1 schemas" in out and "manifest.json" in out
    assert main(["testsuite", "build", "--bench", "fixture", "--out", str(tmp_path),
                 "--db-id", "nope"]) == 2  # fmt: skip
    assert "--db-id not in fixture/dev: nope" in capsys.readouterr().err


def test_bird_gets_a_suite_and_ts_beside_ex(tmp_path):
    root = build_bird_dir(tmp_path / "bird", CASES)
    suite = tmp_path / "suite"
    request = BuildRequest(bench="bird", data_dir=root, split="dev", out=suite, jobs=1)
    manifest = build_testsuite(request)
    assert manifest["databases_per_schema"]["shop"] >= 2
    bench = load_benchmark("bird", data_dir=root, split="dev", db_dir=suite)
    assert bench.test_suite
    ok = [e for e in bench.examples if Runner(e.db_paths[0]).run(e.gold_sql, 5).status == "ok"]
    bench.examples = ok
    gold = PredictionSet(sql={e.id: e.gold_sql for e in ok})
    summary = score_benchmark(bench, gold, tmp_path / "gold", ScoreOptions(jobs=1))
    assert summary["metrics"]["ts"]["mean"] == 1.0
    assert "ex" in summary["metrics"] and "ex_strict" in summary["metrics"]
    # An always-empty answer is right on the original only where gold is empty there too.
    empty = PredictionSet(sql={e.id: "SELECT 1 WHERE 0" for e in ok})
    wrong = score_benchmark(bench, empty, tmp_path / "empty", ScoreOptions(jobs=1))
    assert wrong["metrics"]["ts"]["mean"] <= wrong["metrics"]["ex"]["mean"]


def test_real_spider_database_suite(spider_dir, tmp_path):
    request = BuildRequest(bench="spider", data_dir=spider_dir, split="dev", out=tmp_path,
                           jobs=1, db_ids=("concert_singer",))  # fmt: skip
    manifest = build_testsuite(request)
    record = manifest["databases"]["concert_singer"]
    assert 2 <= manifest["databases_per_schema"]["concert_singer"] <= 101
    assert record["undistinguished"] < record["neighbors"] * 0.05
    bench = load_benchmark("spider", data_dir=spider_dir, split="dev", db_dir=tmp_path)
    bench.examples = [e for e in bench.examples if e.db_id == "concert_singer"]
    bench.missing_db_ids = []
    preds = PredictionSet(sql={e.id: e.gold_sql for e in bench.examples})
    summary = score_benchmark(bench, preds, tmp_path / "run", ScoreOptions(jobs=1, em=False))
    assert summary["metrics"]["ts"]["mean"] == 1.0


def test_double_quoted_strings_are_literals_as_sqlite_reads_them(family_db):
    from harness.testsuite.literals import typed_literals

    info = read_database(family_db)
    literals = typed_literals(['SELECT name FROM club WHERE city = "Oslo"'], info)
    assert literals == {("club", "city"): ["Oslo"]}
    found = neighbor_queries('SELECT name FROM club WHERE city = "Oslo"', ["name", "city"])
    assert 'SELECT name FROM club WHERE city = "oslo"' in found
