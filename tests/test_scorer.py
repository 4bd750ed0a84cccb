"""`harness score` end to end on a small Spider-layout benchmark built here."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.benchmarks.spider import load_spider
from harness.cli import main
from harness.errors import MissingDatabaseError
from harness.hashing import sha256_file
from harness.pipeline.score import score_files
from harness.predictions import read_predictions
from harness.scoring.scorer import ScoreOptions, score_benchmark

GOLD = [
    ("SELECT count(*) FROM singer", "music"),
    ("SELECT name FROM singer WHERE age > 30", "music"),
    ("SELECT name FROM singer ORDER BY age DESC", "music"),
    (
        "SELECT T1.name FROM singer AS T1 JOIN concert AS T2 ON T1.singer_id = T2.singer_id "
        "WHERE T2.year = 2014",
        "music",
    ),
    ("SELECT count(*) FROM player", "sport"),
]


def build(tmp_path: Path, with_sport: bool = True) -> Path:
    root = tmp_path / "spider"
    db = root / "database" / "music" / "music.sqlite"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.executescript(
            """
            CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
            CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, singer_id INTEGER
                REFERENCES singer(singer_id), year INTEGER);
            INSERT INTO singer VALUES (1, 'Ann', 25), (2, 'Bob', 41), (3, 'Cy', 35);
            INSERT INTO concert VALUES (1, 1, 2014), (2, 2, 2015), (3, 3, 2014);
            """
        )
    tables = [
        {
            "db_id": "music",
            "table_names_original": ["singer", "concert"],
            "table_names": ["singer", "concert"],
            "column_names_original": [
                [-1, "*"],
                [0, "singer_id"],
                [0, "name"],
                [0, "age"],
                [1, "concert_id"],
                [1, "singer_id"],
                [1, "year"],
            ],
            "column_names": [
                [-1, "*"],
                [0, "singer id"],
                [0, "name"],
                [0, "age"],
                [1, "concert id"],
                [1, "singer id"],
                [1, "year"],
            ],
            "column_types": ["text", "number", "text", "number", "number", "number", "number"],
            "primary_keys": [1, 4],
            "foreign_keys": [[5, 1]],
        },
        {
            "db_id": "sport",
            "table_names_original": ["player"],
            "table_names": ["player"],
            "column_names_original": [[-1, "*"], [0, "id"]],
            "column_names": [[-1, "*"], [0, "id"]],
            "column_types": ["text", "number"],
            "primary_keys": [1],
            "foreign_keys": [],
        },
    ]
    if with_sport:
        sport = root / "database" / "sport" / "sport.sqlite"
        sport.parent.mkdir(parents=True)
        with sqlite3.connect(sport) as conn:
            conn.executescript("CREATE TABLE player (id INTEGER); INSERT INTO player VALUES (1);")
    (root / "tables.json").write_text(json.dumps(tables))
    (root / "dev.json").write_text(
        json.dumps(
            [
                {"db_id": db_id, "question": f"q{i}", "query": sql}
                for i, (sql, db_id) in enumerate(GOLD)
            ]
        )
    )
    (root / "dev_gold.sql").write_text("".join(f"{sql}\t{db_id}\n" for sql, db_id in GOLD))
    return root


def write_preds(path: Path, sqls: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "sql": s}) + "\n" for i, s in enumerate(sqls)))
    return path


def rows_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]


OPTS = ScoreOptions(jobs=1, resamples=200, no_cache=True, timeout_s=2.0)


def test_scores_rows_and_summary(tmp_path):
    root = build(tmp_path)
    preds = write_preds(
        tmp_path / "p.jsonl",
        [
            "SELECT count(*) FROM singer",  # right
            "Here is the query: SELECT name FROM singer",  # prose
            "SELECT name FROM singer ORDER BY age",  # wrong order
            "SELECT nme FROM singer",  # unknown column
            "",  # empty
        ],
    )
    summary = score_files("spider", root, "dev", preds, tmp_path / "run", options=OPTS)
    rows = rows_of(tmp_path / "run")
    assert [r["ex"] for r in rows] == [1, 0, 0, 0, 0]
    assert [r["failure"] for r in rows] == [
        None,
        "prose_wrapped",
        "wrong_order",
        "wrong_schema",
        "no_select",
    ]
    assert rows[3]["error"] == "no such column: nme"
    assert rows[2]["mismatch"]["first_order_difference"]["index"] == 0
    assert summary["n"] == 5 and summary["complete"]
    assert summary["metrics"]["ex"]["mean"] == pytest.approx(0.2)
    assert summary["failures"]["no_select"] == 1
    assert set(summary["data"]["databases"]) == {"music", "sport"}
    assert summary["bootstrap"]["resamples"] == 200


def test_missing_database_refused_then_allowed(tmp_path):
    root = build(tmp_path, with_sport=False)
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    with pytest.raises(MissingDatabaseError, match=r"sport \(1 examples\)"):
        score_files("spider", root, "dev", preds, tmp_path / "run", options=OPTS)
    opts = ScoreOptions(jobs=1, resamples=200, no_cache=True, allow_missing_db=True)
    summary = score_files("spider", root, "dev", preds, tmp_path / "run", options=opts)
    assert summary["n"] == 4 and summary["n_total"] == 5 and not summary["complete"]
    assert summary["excluded"] == {
        "count": 1,
        "reasons": {"missing_database": 1, "outage": 0, "missing_prediction": 0, "limit": 0},
        "db_ids": ["sport"],
        "ids": ["4"],
    }


def test_outage_rows_excluded_not_scored_wrong(tmp_path):
    root = build(tmp_path)
    lines = [{"id": i, "sql": s} for i, (s, _) in enumerate(GOLD)]
    lines[1] = {"id": 1, "sql": "", "outage": True}
    pred = tmp_path / "p.jsonl"
    pred.write_text("".join(json.dumps(x) + "\n" for x in lines))
    summary = score_files("spider", root, "dev", pred, tmp_path / "run", options=OPTS)
    assert summary["n"] == 4
    assert summary["excluded"]["reasons"]["outage"] == 1
    assert summary["metrics"]["ex"]["mean"] == 1.0


def test_hostile_prediction_costs_one_row_and_leaves_db_intact(tmp_path):
    root = build(tmp_path)
    db = root / "database" / "music" / "music.sqlite"
    before = sha256_file(db)
    files_before = sorted(p.name for p in db.parent.iterdir())
    preds = write_preds(
        tmp_path / "p.jsonl",
        [
            "DELETE FROM singer",
            "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
            "SELECT count(*) FROM r",
            "SELECT name FROM singer ORDER BY age DESC",
            "ATTACH DATABASE 'x.db' AS x",
            "SELECT count(*) FROM player",
        ],
    )
    score_files("spider", root, "dev", preds, tmp_path / "run", options=OPTS)
    rows = rows_of(tmp_path / "run")
    assert [r["ex"] for r in rows] == [0, 0, 1, 0, 1]
    assert rows[1]["failure"] == "timeout"
    assert sha256_file(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == files_before


def test_test_suite_variants_need_every_database(tmp_path):
    root = build(tmp_path)
    variant = root / "database" / "music" / "music_v2.sqlite"
    with sqlite3.connect(variant) as conn:
        conn.executescript(
            """
            CREATE TABLE singer (singer_id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
            CREATE TABLE concert (concert_id INTEGER PRIMARY KEY, singer_id INTEGER, year INT);
            INSERT INTO singer VALUES (1, 'Ann', 25), (2, 'Bob', 41), (3, 'Cy', 31);
            """
        )
    bench = load_spider(data_dir=root)
    assert bench.test_suite
    pred = write_preds(
        tmp_path / "p.jsonl",
        [
            "SELECT count(*) FROM singer",
            "SELECT name FROM singer WHERE age > 34",  # same rows on the original only
            "SELECT name FROM singer ORDER BY age DESC",
            "SELECT name FROM singer WHERE singer_id = 2",  # wrong everywhere
            "SELECT count(*) FROM player",
        ],
    )
    preds = read_predictions(pred, bench.examples)
    score_benchmark(bench, preds, tmp_path / "run", OPTS)
    rows = rows_of(tmp_path / "run")
    assert [(r["ex"], r["ts"]) for r in rows[:4]] == [(1, 1), (1, 0), (1, 1), (0, 0)]
    assert rows[4]["ts"] is None


def test_cli_one_line_error_and_table(tmp_path, capsys):
    root = build(tmp_path, with_sport=False)
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    code = main(
        [
            "score",
            "--bench",
            "spider",
            "--data-dir",
            str(root),
            "--pred",
            str(preds),
            "--out",
            str(tmp_path / "run"),
            "--jobs",
            "1",
            "--no-cache",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "sport" in err and "--allow-partial" in err
    code = main(
        [
            "score",
            "--bench",
            "spider",
            "--data-dir",
            str(root),
            "--pred",
            str(preds),
            "--out",
            str(tmp_path / "run"),
            "--jobs",
            "1",
            "--no-cache",
            "--allow-partial",
            "--resamples",
            "100",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "PARTIAL: 1 of 5 examples not scored" in out and "| EX" in out


def _forget_verdicts(cache: Path) -> None:
    # Stored verdicts would let a re-score skip the gold queries altogether.
    with sqlite3.connect(cache / "gold-results.sqlite") as conn:
        conn.execute("DELETE FROM verdicts")


def test_gold_cache_is_reused(tmp_path):
    root = build(tmp_path)
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    opts = ScoreOptions(jobs=1, resamples=100, cache_dir=tmp_path / "cache")
    first = score_files("spider", root, "dev", preds, tmp_path / "a", options=opts)
    assert (tmp_path / "cache" / "gold-results.sqlite").is_file()
    _forget_verdicts(tmp_path / "cache")
    second = score_files("spider", root, "dev", preds, tmp_path / "b", options=opts)
    assert first["metrics"]["ex"]["mean"] == second["metrics"]["ex"]["mean"] == 1.0
    assert rows_of(tmp_path / "a") == rows_of(tmp_path / "b")
    # The second run found every gold result in the cache and ran none of them...
    assert first["timing"]["gold_cache"] == {"hits": 0, "misses": len(GOLD)}
    assert second["timing"]["gold_cache"] == {"hits": len(GOLD), "misses": 0}
    # ...and used what it found: a stored gold result decides the verdict (here a
    # doctored one makes the correct first prediction wrong).
    import pickle

    _forget_verdicts(tmp_path / "cache")
    with sqlite3.connect(tmp_path / "cache" / "gold-results.sqlite") as conn:
        conn.execute("UPDATE gold SET payload = ?", (pickle.dumps(("ok", [(999,)], None, 0.0)),))
    third = score_files("spider", root, "dev", preds, tmp_path / "c", options=opts)
    assert third["metrics"]["ex"]["mean"] == 0.0


def test_a_row_whose_worker_crashed_still_gets_its_hardness_and_em():
    from harness.benchmarks.fixture import load_fixture
    from harness.scoring.engine.dispatch import failed_row
    from harness.scoring.engine.worker import JudgeTask, WorkerContext
    from harness.scoring.families import FAMILIES
    from harness.scoring.scorer import fill_unjudged

    data = load_fixture()
    example = data.examples[0]
    task = JudgeTask(example, example.gold_sql, ScoreOptions())
    context = WorkerContext(limits=ScoreOptions().limits(), db_sha256={}, tables=data.tables)
    rows = [failed_row(task, "crash: worker process was killed by SIGSEGV")]
    fill_unjudged(FAMILIES["fixture"], [task], rows, context)
    assert rows[0]["hardness"] in ("easy", "medium", "hard", "extra") and rows[0]["em"] == 1
    assert rows[0]["ex"] == 0 and rows[0]["failure"] == "resource_limit"


FIXTURE_PREDS = Path(__file__).resolve().parent.parent / "evals" / "predictions" / "candidate.jsonl"


def test_the_scoring_process_never_imports_the_judge_or_sqlglot(tmp_path):
    # The judges (and sqlglot, a few tenths of a second) load in the worker server only.
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from harness.pipeline.score import score_files\n"
        "from harness.scoring.options import ScoreOptions\n"
        "if __name__ == '__main__':\n"
        f"    score_files('fixture', None, 'dev', Path({str(FIXTURE_PREDS)!r}),\n"
        f"                Path({str(tmp_path / 'out')!r}), options=ScoreOptions(no_cache=True))\n"
        "    print(sorted(m for m in sys.modules if m == 'sqlglot' or m.endswith('.judge')))\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(probe)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
