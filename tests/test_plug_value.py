"""`--plug-value` as the official evaluator does it (parse.py get_all_preds_for_execution).

The unit cases pin the official rules found on the parity corpus; the end-to-end ones
score a tiny database through the real scorer. Full agreement on the 5,868-row corpus is
tests/test_parity_ex.py.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from harness.benchmarks.spider import load_spider
from harness.predictions import read_predictions
from harness.scoring.scorer import ScoreOptions, score_benchmark
from harness.scoring.spider.plug_value import count_alternatives, plugged_predictions, query_values


def test_plugging_needs_neither_sqlparse_nor_nltk():
    # They belong to the `official` extra; the native scorer must run without them.
    code = (
        "import sys, harness.scoring.spider.plug_value, harness.scoring.spider.judge\n"
        "bad = [m for m in ('sqlparse', 'nltk') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def plugged(gold: str, pred: str) -> list[str]:
    return sorted(plugged_predictions(gold, pred))


def test_double_quoted_string_is_a_slot_for_the_gold_literal():
    # Spider dev id 180: sqlparse calls "..." a string (String.Symbol), so it is a slot.
    gold = 'SELECT Country FROM AIRLINES WHERE Airline  =  "JetBlue Airways"'
    pred = 'SELECT Country FROM AIRLINES WHERE Airline = "Jetblue Airways"'
    assert plugged(gold, pred) == ['select country from airlines where airline = "JetBlue Airways"']


def test_single_and_double_quoted_gold_values_stay_distinct():
    gold = "SELECT a FROM t WHERE b = 'x' OR c = \"x\" OR d = 'x'"
    assert query_values(gold)[1] == {"'x'", '"x"'}


def test_alias_rewritten_to_1_is_a_slot_and_stays_an_alias():
    # `AS value` arrives as `AS 1` (the official value->1 rewrite); `1` is a number slot,
    # so every plugged query keeps a syntax error when the gold's values are numbers.
    gold = "SELECT name FROM singer ORDER BY age LIMIT 1"
    pred = "SELECT name AS 1 FROM singer ORDER BY age LIMIT 1"
    assert plugged(gold, pred) == ["select name as 1 from singer order by age limit 1"]


def test_table_alias_digits_are_not_slots_but_limit_and_floats_are():
    words, values = query_values(
        "SELECT T1.name FROM singer AS T1 WHERE T1.score > 2.5 ORDER BY T1.age LIMIT 3"
    )
    assert " ".join(words) == (
        "select t1 . name from singer as t1 where t1 . score > valuerare "
        "order by t1 . age limit valuerare"
    )
    assert values == {"2.5", "3"}


def test_a_word_matching_the_integer_pattern_is_a_slot():
    # The official integer pattern is [^tT]\d+: a column named `a1` is a value slot too.
    assert query_values("SELECT a1 FROM t")[0] == ["select", "valuerare", "from", "t"]


def test_every_assignment_of_the_gold_value_set_is_tried():
    gold = "SELECT name FROM singer WHERE age > 30 AND name != 'Ann' AND age < 30"
    pred = "SELECT name FROM singer WHERE age > 31 AND name = 'Bob'"
    assert count_alternatives(gold, pred) == 4
    assert plugged(gold, pred) == [
        "select name from singer where age > 'Ann' and name = 'Ann'",
        "select name from singer where age > 'Ann' and name = 30",
        "select name from singer where age > 30 and name = 'Ann'",
        "select name from singer where age > 30 and name = 30",
    ]


def test_no_slots_yields_the_rebuilt_query_once_and_no_gold_values_none():
    assert plugged("SELECT count(*) FROM singer", "SELECT count(*) FROM singer") == [
        "select count ( * ) from singer"
    ]
    assert plugged("SELECT count(*) FROM singer", "SELECT name FROM singer LIMIT 1") == []


def test_semicolons_and_tabs_are_deleted_everywhere():
    assert query_values("SELECT a FROM t WHERE b = 'x;y\tz';")[1] == {"'xyz'"}


def test_every_occurrence_of_a_string_value_becomes_a_slot():
    words, values = query_values("SELECT 'a' FROM t WHERE x = 'a'")
    assert words.count("valuerare") == 2
    assert values == {"'a'"}


def test_statements_end_at_go_as_in_sqlparse():
    # sqlparse ends a statement at the keyword GO (compared case-sensitively) and the
    # official code keeps the first one; a lowercase `go` is upper-cased by
    # sqlparse.format, which then glues the statements together without a space.
    upper = query_values("SELECT a FROM t WHERE b = 'x' GO SELECT 'y'")
    assert upper == (["select", "a", "from", "t", "where", "b", "=", "valuerare", "go"], {"'x'"})
    lower = query_values("SELECT a FROM t WHERE b = 'x' go SELECT 'y'")
    assert lower[0][-2:] == ["goselect", "valuerare"]
    assert lower[1] == {"'x'", "'y'"}


AIRLINES = [
    ('SELECT Country FROM AIRLINES WHERE Airline  =  "JetBlue Airways"', "flights"),
    ("SELECT Airline FROM AIRLINES ORDER BY uid LIMIT 1", "flights"),
]


def _bench(tmp_path: Path):
    db = tmp_path / "database" / "flights" / "flights.sqlite"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.executescript(
            """
            CREATE TABLE airlines (uid INTEGER PRIMARY KEY, Airline TEXT, Country TEXT);
            INSERT INTO airlines VALUES (1, 'JetBlue Airways', 'USA'), (2, 'Air Ii', 'FR');
            """
        )
    tables = {
        "db_id": "flights",
        "table_names_original": ["airlines"],
        "table_names": ["airlines"],
        "column_names_original": [[-1, "*"], [0, "uid"], [0, "Airline"], [0, "Country"]],
        "column_names": [[-1, "*"], [0, "uid"], [0, "airline"], [0, "country"]],
        "column_types": ["text", "number", "text", "text"],
        "primary_keys": [1],
        "foreign_keys": [],
    }
    (tmp_path / "tables.json").write_text(json.dumps([tables]))
    gold = tmp_path / "gold.sql"
    gold.write_text("".join(f"{sql}\t{db_id}\n" for sql, db_id in AIRLINES))
    return load_spider(
        gold_path=gold, db_dir=tmp_path / "database", tables_path=tmp_path / "tables.json"
    )


@pytest.mark.parametrize(("plug_value", "expected"), [(False, [0, 0]), (True, [1, 0])])
def test_scorer_plugs_as_the_official_evaluator(tmp_path, plug_value, expected):
    bench = _bench(tmp_path)
    pred = tmp_path / "pred.sql"
    pred.write_text(
        'SELECT Country FROM AIRLINES WHERE Airline = "Jetblue Airways"\n'
        "SELECT Airline AS value FROM AIRLINES ORDER BY uid LIMIT 1\n"
    )
    # As written, the wrongly cased name finds no row, and the alias `value` becomes
    # `AS 1`, a syntax error. Plugging fixes the first (the gold's literal goes in) and
    # not the second (the gold's only value, 1, goes into both slots, `AS 1` included).
    out = tmp_path / ("plug" if plug_value else "plain")
    opts = ScoreOptions(plug_value=plug_value, jobs=1, resamples=50, no_cache=True, em=False)
    score_benchmark(bench, read_predictions(pred, bench.examples), out, opts)
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    assert [r["ex"] for r in rows] == expected
