"""BIRD metrics and judge on a small BIRD-format database built here.

Every expected value is worked by hand in the comment beside it; the database rows are
listed once below so the hand-working can be checked.

customers(id, name, city, segment)       orders(id, customer_id, amount, status, created)
  1 Ann Oslo   SME                         10 1 100.0 C 2024-01-05
  2 Bob Oslo   LAM                         11 1  50.0 D 2024-02-10
  3 Cid Bergen NULL                        12 2 100.0 C 2024-01-20
  4 Dee NULL   SME                         13 3  NULL C 2024-03-01
                                           14 4  75.0 C 2023-12-31
items(order_id, sku, qty): (10 A 2) (10 B 1) (11 A 1) (12 C 5) (14 A 3)
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.benchmarks.bird import load_bird
from harness.errors import DataError
from harness.hashing import sha256_file
from harness.pipeline.score import BenchmarkSource
from harness.pipeline.selftest import selftest
from harness.scoring.bird import metrics as bm
from harness.scoring.bird import references as bird_references
from harness.scoring.bird.judge import (
    gold_orders_rows,
    has_statement,
    judge_bird,
    prediction_budget,
)
from harness.scoring.bird.references import reference_report
from harness.scoring.bird.selftest import selftest_failures
from harness.scoring.engine.sandbox import Limits
from harness.scoring.engine.worker import JudgeTask, WorkerContext
from harness.scoring.scorer import ScoreOptions

SCHEMA = """
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, segment TEXT);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                    amount REAL, status TEXT, created TEXT);
CREATE TABLE items(order_id INTEGER REFERENCES orders(id), sku TEXT, qty INTEGER);
INSERT INTO customers VALUES (1,'Ann','Oslo','SME'), (2,'Bob','Oslo','LAM'),
                             (3,'Cid','Bergen',NULL), (4,'Dee',NULL,'SME');
INSERT INTO orders VALUES (10,1,100.0,'C','2024-01-05'), (11,1,50.0,'D','2024-02-10'),
                          (12,2,100.0,'C','2024-01-20'), (13,3,NULL,'C','2024-03-01'),
                          (14,4,75.0,'C','2023-12-31');
INSERT INTO items VALUES (10,'A',2), (10,'B',1), (11,'A',1), (12,'C',5), (14,'A',3);
"""
RUNAWAY = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"


@dataclass(frozen=True)
class Case:
    qid: int
    gold: str
    pred: str
    ex: int
    ex_strict: int
    soft_f1: float
    question: str = "a question"
    evidence: str = ""
    difficulty: str = "simple"


RUNNING = "running contract refers to status = 'C'"
OSLO_GOLD = (
    "SELECT COUNT(*) FROM orders AS o JOIN customers AS c ON o.customer_id = c.id "
    "WHERE c.city = 'Oslo' AND o.status = 'C'"
)

# fmt: off
CASES = [
    # Evidence needed: "running contract" means status 'C'. Oslo customers 1, 2 have
    # running orders 10 and 12 -> 2.
    Case(0, OSLO_GOLD,
         "SELECT COUNT(o.id) FROM customers AS c JOIN orders AS o ON o.customer_id = c.id "
         "WHERE c.city = 'Oslo' AND o.status = 'C'",
         1, 1, 1.0, "How many running contracts do Oslo customers have?", RUNNING),
    # Same question, the prediction ignores the evidence: (0) vs (2), no cell matches.
    Case(1, OSLO_GOLD, OSLO_GOLD.replace("'C'", "'running'"),
         0, 0, 0.0, "How many running contracts do Oslo customers have?", RUNNING),
    # Duplicates, prediction has them: gold [1,2,3,4], pred [1,1,2,3,4]. Sets equal -> ex 1;
    # bags differ -> ex_strict 0; Soft-F1 de-duplicates pred to [1,2,3,4] -> 1.0.
    Case(2, "SELECT DISTINCT customer_id FROM orders", "SELECT customer_id FROM orders",
         1, 0, 1.0),
    # Duplicates, gold has them (one row per order): the mirror case, same verdicts.
    Case(3, "SELECT customer_id FROM orders", "SELECT DISTINCT customer_id FROM orders",
         1, 0, 1.0),
    # ORDER BY reversed: gold [14,10,12,11,13], pred [13,11,12,10,14]. Sets equal -> ex 1;
    # gold orders -> list compare -> ex_strict 0. Soft-F1 pairs by position: only the
    # middle pair (12,12) matches: tp 1, fp 4, fn 4 -> P = R = 1/5 -> F1 0.2.
    Case(4, "SELECT id FROM orders ORDER BY created",
         "SELECT id FROM orders ORDER BY created DESC", 1, 0, 0.2, difficulty="moderate"),
    # Gold orders, the prediction does not but happens to return the same order -> all 1.
    Case(5, "SELECT id FROM orders ORDER BY id", "SELECT id FROM orders", 1, 1, 1.0),
    # ORDER BY only inside the gold's subquery: the outer query orders nothing, so strict
    # compares bags -> 1. Soft-F1 still pairs by position: gold comes back as
    # [14,10,12,11,13], pred [10,11,12,13,14]: only (12,12) pairs -> 0.2.
    Case(6, "SELECT id FROM (SELECT id FROM orders ORDER BY created)",
         "SELECT id FROM orders", 1, 1, 0.2, difficulty="moderate"),
    # Tie on the sort key: gold [(1,100),(2,100),(4,75),(1,50)], pred breaks the tie the
    # other way [(2,100),(1,100),...]. ex 1; ex_strict 0 (a tie the gold leaves open still
    # counts against strict: documented limitation). Soft-F1: the two tied pairs each
    # match 1 of 2 cells (0.5 tp, 0.5 fp, 0.5 fn), the other two fully:
    # tp 3, fp 1, fn 1 -> 0.75.
    Case(7, "SELECT customer_id, amount FROM orders WHERE amount IS NOT NULL "
            "ORDER BY amount DESC",
         "SELECT customer_id, amount FROM orders WHERE amount IS NOT NULL "
         "ORDER BY amount DESC, customer_id DESC", 1, 0, 0.75, difficulty="moderate"),
    # Tie cut by LIMIT: gold picks one of two orders of 100.0 (customer 1); pred returns
    # both tied customers [1,2]: sets differ -> 0, 0. Soft-F1: (1,1) pairs, one extra
    # pred row: tp 1, fp 1, fn 0 -> P 1/2, R 1 -> F1 2/3.
    Case(8, "SELECT customer_id FROM orders ORDER BY amount DESC LIMIT 1",
         "SELECT customer_id FROM orders WHERE amount = (SELECT MAX(amount) FROM orders)",
         0, 0, 2 / 3, difficulty="challenging"),
    # NULL = NULL in results: gold [Oslo, Oslo, Bergen, NULL] with ORDER BY id; pred in
    # rowid order is the same list -> 1, 1; Soft-F1 de-duplicates both to 3 rows -> 1.0.
    Case(9, "SELECT city FROM customers ORDER BY id", "SELECT city FROM customers",
         1, 1, 1.0),
    # NULL in a filter: `= NULL` is never true -> pred []; gold [('Bergen',)] -> F1 0.
    Case(10, "SELECT city FROM customers WHERE segment IS NULL",
         "SELECT city FROM customers WHERE segment = NULL", 0, 0, 0.0),
    # COUNT(column) skips NULLs: gold 4, pred COUNT(*) 5 -> all 0.
    Case(11, "SELECT COUNT(amount) FROM orders", "SELECT COUNT(*) FROM orders", 0, 0, 0.0),
    # Column order: gold ('Ann','Oslo'), pred ('Oslo','Ann'). Tuples differ -> ex 0 and
    # ex_strict 0; Soft-F1 matches cells by membership in the gold row -> 1.0.
    Case(12, "SELECT name, city FROM customers WHERE id = 1",
         "SELECT city, name FROM customers WHERE id = 1", 0, 0, 1.0),
    # Membership quirk: pred ('Ann','Ann') vs gold ('Ann','Oslo'): both pred cells are in
    # the gold row (match 2/2), 'Oslo' is gold-only (1/2): tp 1, fp 0, fn 0.5 ->
    # P 1, R 2/3 -> F1 0.8.
    Case(13, "SELECT name, city FROM customers WHERE id = 1",
         "SELECT name, name FROM customers WHERE id = 1", 0, 0, 0.8),
    # Half the cells of every row: (name, segment) vs (name, city): each pair matches the
    # name only: tp 2, fp 2, fn 2 -> 0.5.
    Case(14, "SELECT name, city FROM customers ORDER BY id",
         "SELECT name, segment FROM customers ORDER BY id", 0, 0, 0.5),
    # Extra rows: gold [10,12], pred [10,12,13,14]: tp 2, fp 2, fn 0 -> P 1/2, R 1 -> 2/3.
    Case(15, "SELECT id FROM orders WHERE status = 'C' AND amount >= 100",
         "SELECT id FROM orders WHERE status = 'C'", 0, 0, 2 / 3,
         "Which running orders are worth at least 100?", RUNNING),
    # int vs real: 12 == 12.0 in Python, for sets and bags alike -> all 1.
    Case(16, "SELECT SUM(qty) FROM items", "SELECT CAST(SUM(qty) AS REAL) FROM items",
         1, 1, 1.0),
    # Empty gold, empty prediction text: the official evaluator executes '' (no rows), so
    # set() == set() -> ex 1 and Soft-F1 "both empty" -> 1.0; ex_strict: no answer -> 0.
    Case(17, "SELECT name FROM customers WHERE city = 'Paris'", "", 1, 0, 1.0),
    # Empty gold, a real query that returns nothing -> 1, 1, 1.0.
    Case(18, "SELECT name FROM customers WHERE city = 'Paris'",
         "SELECT name FROM customers WHERE id = 99", 1, 1, 1.0),
    # The prediction fails (unknown column) -> 0 everywhere, labelled wrong_schema.
    Case(19, "SELECT name FROM customers WHERE city = 'Oslo'",
         "SELECT name FROM customers WHERE town = 'Oslo'", 0, 0, 0.0),
]
# fmt: on


def _tables_entry() -> dict:
    cols = [
        (-1, "*"),
        (0, "id"),
        (0, "name"),
        (0, "city"),
        (0, "segment"),
        (1, "id"),
        (1, "customer_id"),
        (1, "amount"),
        (1, "status"),
        (1, "created"),
        (2, "order_id"),
        (2, "sku"),
        (2, "qty"),
    ]
    return {
        "db_id": "shop",
        "table_names_original": ["customers", "orders", "items"],
        "table_names": ["customers", "orders", "items"],
        "column_names_original": [list(c) for c in cols],
        "column_names": [list(c) for c in cols],
        "column_types": [
            "text",
            *["number", "text", "text", "text"],
            *["number", "number", "number", "text", "text"],
            *["number", "text", "number"],
        ],
        "primary_keys": [1, 5],
        "foreign_keys": [[6, 1], [10, 5]],
    }


def build_bird_dir(root: Path, cases: list[Case]) -> Path:
    """A BIRD-format data dir: dev.json, dev_tables.json, dev_databases/shop/shop.sqlite."""
    db = root / "dev_databases" / "shop" / "shop.sqlite"
    db.parent.mkdir(parents=True)
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA)
    conn.close()
    items = [
        {
            "question_id": c.qid,
            "db_id": "shop",
            "question": c.question,
            "evidence": c.evidence,
            "SQL": c.gold,
            "difficulty": c.difficulty,
        }
        for c in cases
    ]
    (root / "dev.json").write_text(json.dumps(items, indent=1))
    (root / "dev_tables.json").write_text(json.dumps([_tables_entry()]))
    return root


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    root = build_bird_dir(tmp_path_factory.mktemp("bird"), CASES)
    bench = load_bird(root, "dev")
    ctx = WorkerContext(
        limits=Limits(timeout_s=30.0), db_sha256={}, tables=bench.tables, family="bird"
    )
    return bench, ctx


def _by_qid(bench, qid):
    return next(e for e in bench.examples if e.extra["question_id"] == qid)


# ---------------------------------------------------------------- pure functions


def test_ex_is_set_equality_with_column_order():
    assert bm.ex([(1,), (1,), (2,)], [(2,), (1,)]) == 1
    assert bm.ex([(1, "a")], [("a", 1)]) == 0
    assert bm.ex([], []) == 1
    assert bm.ex([(None,)], [(None,)]) == 1
    assert bm.ex([(1,)], [(1.0,)]) == 1
    assert bm.ex([("1",)], [(1,)]) == 0


def test_ex_strict_bag_and_list():
    assert bm.ex_strict([(1,), (1,), (2,)], [(2,), (1,)], order_matters=lambda: False) == 0
    assert bm.ex_strict([(2,), (1,), (1,)], [(1,), (2,), (1,)], order_matters=lambda: False) == 1
    assert bm.ex_strict([(2,), (1,)], [(1,), (2,)], order_matters=lambda: True) == 0
    assert bm.ex_strict([(1,), (2,)], [(1,), (2,)], order_matters=lambda: True) == 1


def test_ex_strict_parses_the_gold_only_when_the_order_decides():
    def never() -> bool:
        raise AssertionError("asked whether order matters")

    assert bm.ex_strict([(1,), (3,)], [(1,), (2,)], order_matters=never) == 0
    assert bm.ex_strict([(1,)], [(1,)], order_matters=never) == 1


def test_ex_strict_implies_ex_on_every_case():
    for case in CASES:
        assert case.ex_strict <= case.ex, case.qid


def test_soft_f1_hand_worked():
    assert bm.soft_f1([], []) == 1.0
    assert bm.soft_f1([], [(1,)]) == 0.0
    assert bm.soft_f1([(1,)], []) == 0.0
    # (1,2) vs (1,3): match 1/2, pred-only 1/2, gold-only 1/2 -> P = R = 0.5.
    assert bm.soft_f1([(1, 2)], [(1, 3)]) == pytest.approx(0.5)
    # duplicates dropped keeping order: pred [a, b] vs gold [a, b]
    assert bm.soft_f1([("a",), ("a",), ("b",)], [("a",), ("b",)]) == 1.0
    # gold row wider than pred row: (1,) vs (1, 2): match 1/2, gold-only 1/2 ->
    # tp 0.5, fp 0, fn 0.5 -> P 1, R 0.5 -> 2/3
    assert bm.soft_f1([(1,)], [(1, 2)]) == pytest.approx(2 / 3)
    # a missing gold row adds 1 to fn: pred [(1,)] vs gold [(1,), (2,)] -> P 1, R 1/2
    assert bm.soft_f1([(1,)], [(1,), (2,)]) == pytest.approx(2 / 3)


def test_ves_reward_buckets():
    assert bm.ves_reward(0) == 0
    assert bm.ves_reward(0.1) == 0.25
    assert bm.ves_reward(0.25) == 0.5
    assert bm.ves_reward(0.5) == 0.75
    assert bm.ves_reward(0.99) == 0.75
    assert bm.ves_reward(1.0) == 1.0
    assert bm.ves_reward(1.99) == 1.0
    assert bm.ves_reward(2.0) == 1.25
    assert bm.ves_reward(50.0) == 1.25
    assert bm.r_ves_value(1.25) == pytest.approx(math.sqrt(1.25))


def test_outliers_and_time_ratio():
    values = [1.0] * 20 + [100.0]
    # mean 5.71, std 21.1: 100 lies beyond mean + 3 std and is dropped
    assert bm.drop_outliers(values) == [1.0] * 20
    assert bm.drop_outliers([2.0, 2.0]) == [2.0, 2.0]  # std 0: the official keeps nothing
    assert bm.mean_time_ratio([2.0, 4.0], [1.0, 1.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        bm.mean_time_ratio([1.0], [])


def test_gold_order_detection_uses_the_outer_query():
    assert gold_orders_rows("SELECT a FROM t ORDER BY a")
    assert gold_orders_rows("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1")
    assert gold_orders_rows("WITH x AS (SELECT 1 AS a) SELECT a FROM x ORDER BY a")
    assert not gold_orders_rows("SELECT a FROM (SELECT a FROM t ORDER BY a LIMIT 3)")
    assert not gold_orders_rows("SELECT a FROM t WHERE b = (SELECT b FROM u ORDER BY c LIMIT 1)")
    assert not gold_orders_rows("SELECT RANK() OVER (ORDER BY a) FROM t")


def test_has_statement():
    assert not has_statement("")
    assert not has_statement("  \n")
    assert not has_statement("-- nothing here")
    assert not has_statement(" ; /* still nothing */ ;")
    assert has_statement("SELECT 1")
    assert has_statement("SELECT `date` FROM [t]")


def test_prediction_budget_is_relative_with_floor_and_cap():
    opts = ScoreOptions(timeout_s=30.0)
    assert prediction_budget(opts, 0.001) == opts.bird_timeout_floor_s == 5.0
    assert prediction_budget(opts, 1.0) == pytest.approx(10.0)
    assert prediction_budget(opts, 100.0) == 30.0


# ---------------------------------------------------------------- the judge, end to end


@pytest.mark.parametrize("case", CASES, ids=[f"q{c.qid}" for c in CASES])
def test_judge_hand_worked_cases(shop, case):
    bench, ctx = shop
    example = _by_qid(bench, case.qid)
    row = judge_bird(JudgeTask(example, case.pred, ScoreOptions()), ctx)
    assert (row["ex"], row["ex_strict"]) == (case.ex, case.ex_strict)
    assert row["soft_f1"] == pytest.approx(case.soft_f1)
    assert row["r_ves"] is None  # off by default
    assert row["reference_invalid"] is False
    assert row["difficulty"] == case.difficulty
    if case.ex:
        assert row["failure"] is None
    else:
        assert row["failure"]  # a label for every wrong row


def test_judge_labels(shop):
    bench, ctx = shop
    row = judge_bird(JudgeTask(_by_qid(bench, 19), CASES[19].pred, ScoreOptions()), ctx)
    assert row["failure"] == "wrong_schema"
    assert "town" in row["error"]
    row = judge_bird(JudgeTask(_by_qid(bench, 4), CASES[4].pred, ScoreOptions()), ctx)
    assert row["failure"] is None  # ex is right; strict differs on order
    assert row["mismatch"]["first_order_difference"]["index"] == 0


def test_evidence_switch_recorded(tmp_path):
    root = build_bird_dir(tmp_path, CASES[:2])
    on, off = load_bird(root, "dev"), load_bird(root, "dev", evidence=False)
    assert on.examples[0].evidence == "running contract refers to status = 'C'"
    assert off.examples[0].evidence == ""
    assert off.examples[0].extra["evidence_used"] is False
    assert off.examples[0].extra["evidence_text"] == on.examples[0].evidence


def test_gold_failure_is_reported_not_silently_zero(tmp_path):
    cases = [Case(0, "SELECT nope FROM customers", "SELECT 1", 0, 0, 0.0)]
    bench = load_bird(build_bird_dir(tmp_path, cases), "dev")
    ctx = WorkerContext(limits=Limits(), db_sha256={}, tables=bench.tables, family="bird")
    row = judge_bird(JudgeTask(bench.examples[0], "SELECT 1", ScoreOptions()), ctx)
    assert row["reference_invalid"] is True
    assert row["reference_listed"] is False
    assert "no such column: nope" in row["reference_reason"]
    assert row["failure"] == "reference_invalid"
    assert row["ex"] == 0


def test_gold_over_budget_is_reference_invalid(tmp_path):
    cases = [Case(0, RUNAWAY, "SELECT 1", 0, 0, 0.0)]
    bench = load_bird(build_bird_dir(tmp_path, cases), "dev")
    ctx = WorkerContext(limits=Limits(), db_sha256={}, tables=bench.tables, family="bird")
    row = judge_bird(JudgeTask(bench.examples[0], "SELECT 1", ScoreOptions(timeout_s=0.3)), ctx)
    assert row["reference_invalid"] is True
    assert "exceeded" in row["reference_reason"]


def test_prediction_budget_follows_the_gold_time(shop):
    bench, ctx = shop
    opts = ScoreOptions(timeout_s=30.0, bird_timeout_floor_s=0.2)
    row = judge_bird(JudgeTask(_by_qid(bench, 0), RUNAWAY, opts), ctx)
    assert row["failure"] == "timeout"
    # the gold runs in well under the cap / factor, so the floor (not the 30 s cap) applied
    assert row["mismatch"]["budget_s"] < 30.0
    assert row["ex"] == 0 and row["soft_f1"] == 0.0


def test_r_ves_only_on_ex_correct_rows(shop):
    bench, ctx = shop
    opts = ScoreOptions(r_ves_repeats=3)
    good = judge_bird(JudgeTask(_by_qid(bench, 0), CASES[0].pred, opts), ctx)
    # the reward depends on this machine's timings; its bucket must follow the ratio
    assert good["ves_time_ratio"] > 0
    assert good["r_ves"] == math.sqrt(bm.ves_reward(good["ves_time_ratio"]))
    bad = judge_bird(JudgeTask(_by_qid(bench, 1), CASES[1].pred, opts), ctx)
    assert bad["r_ves"] == 0.0 and "ves_time_ratio" not in bad
    # A blank prediction on an empty gold is EX-correct (official rule) and is timed too.
    blank = judge_bird(JudgeTask(_by_qid(bench, 17), "", opts), ctx)
    assert blank["ex"] == 1 and blank["error"] is None and blank["ves_time_ratio"] > 0
    assert blank["r_ves"] == math.sqrt(bm.ves_reward(blank["ves_time_ratio"]))


def _exceptions_file(path: Path, qid: int, gold: str, db_id: str = "shop") -> Path:
    sha = bird_references.gold_sha256(gold)
    path.write_text(
        f'[[exception]]\nquestion_id = {qid}\ndb_id = "{db_id}"\ngold_sha256 = "{sha}"\n'
        'reason = "test entry"\nsource = "https://example.org/issue"\nchecked = "sql-text"\n'
    )
    return path


def test_selftest_passes_on_valid_gold_and_needs_invalid_ones_listed(tmp_path):
    cases = [c for c in CASES if c.qid in (0, 2, 7, 17)]
    cases.append(Case(99, "SELECT nope FROM customers", "", 0, 0, 0.0))
    data_dir = build_bird_dir(tmp_path, cases)
    (tmp_path / "none.toml").write_text("")

    def run(exceptions: Path):
        # The real `harness selftest --bench bird` path: sandboxed workers, family verdict.
        options = ScoreOptions(jobs=1, no_cache=True, resamples=50, bird_exceptions=exceptions)
        return selftest(BenchmarkSource("bird", data_dir, "dev"), options)

    report = run(tmp_path / "none.toml")
    assert not report.passed
    assert [f["id"] for f in report.failures] == ["99"]

    listed = _exceptions_file(tmp_path / "listed.toml", 99, "SELECT nope FROM customers")
    report = run(listed)
    assert report.passed, report.failures
    assert report.summary["listed_references"] == ["99"]
    assert report.summary["exception_list"]["path"] == str(listed)
    assert report.summary["exception_list"]["sha256"] == sha256_file(listed)


def test_exception_list_errors_name_the_file_and_entry(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exception]]\nquestion_id = 5\ndb_id = "shop"\nreason = "r"\n')
    with pytest.raises(DataError, match=r"bad\.toml: exception 0 \(question_id 5\) lacks 'source'"):
        bird_references.load_exceptions(bad)
    bad.write_text("exception = 3\n")
    with pytest.raises(DataError, match=r"bad\.toml: 'exception' must be an array of tables"):
        bird_references.load_exceptions(bad)
    bad.write_text("[[exception]\n")
    with pytest.raises(DataError, match=r"bad\.toml: invalid TOML"):
        bird_references.load_exceptions(bad)
    with pytest.raises(DataError, match="exception list not found"):
        bird_references.load_exceptions(tmp_path / "absent.toml")


def test_listed_entry_applies_only_to_the_reviewed_gold_text(tmp_path, monkeypatch):
    bench = load_bird(build_bird_dir(tmp_path, CASES[:3]), "dev")
    ctx = WorkerContext(limits=Limits(), db_sha256={}, tables=bench.tables, family="bird")
    path = _exceptions_file(tmp_path / "x.toml", 2, "SELECT something else")
    monkeypatch.setattr(bird_references, "EXCEPTIONS_FILE", path)
    row = judge_bird(JudgeTask(bench.examples[2], CASES[2].pred, ScoreOptions()), ctx)
    assert row["reference_listed"] is False
    path = _exceptions_file(tmp_path / "y.toml", 2, CASES[2].gold)
    monkeypatch.setattr(bird_references, "EXCEPTIONS_FILE", path)
    row = judge_bird(JudgeTask(bench.examples[2], CASES[2].pred, ScoreOptions()), ctx)
    assert row["reference_listed"] is True and row["reference_invalid"] is True
    assert row["ex"] == 1  # still scored: the official score counts it


def test_selftest_failures_over_rows():
    ok = {"id": "1", "db_id": "d", "ex": 1, "ex_strict": 1, "soft_f1": 1.0}
    order = {"id": "2", "db_id": "d", "ex": 1, "ex_strict": 0, "soft_f1": 1.0}
    listed = {"id": "3", "db_id": "d", "ex": 0, "reference_invalid": True, "reference_listed": True}
    assert [f["id"] for f in selftest_failures([ok, order, listed])] == ["2"]


def test_reference_report():
    rows = [
        {"id": "1", "ex": 1, "ex_strict": 1, "soft_f1": 1.0, "reference_invalid": False},
        {
            "id": "2",
            "ex": 0,
            "ex_strict": 0,
            "soft_f1": 0.0,
            "reference_invalid": True,
            "reference_listed": True,
            "reference_reason": "listed: x",
        },
        {"id": "3", "ex": 0, "ex_strict": 0, "soft_f1": 0.5, "reference_invalid": False},
    ]
    rep = reference_report(rows, resamples=200)
    assert rep["n_valid"] == 2 and rep["n_invalid"] == 1
    assert rep["coverage"] == pytest.approx(2 / 3)
    assert rep["invalid_ids"] == ["2"]
    assert rep["ex_valid"]["mean"] == pytest.approx(0.5)
    assert rep["exception_list"]["sha256"] == sha256_file(bird_references.EXCEPTIONS_FILE)
    assert "error" not in rep["exception_list"]


def test_reference_report_says_when_the_exception_list_was_unreadable(tmp_path, monkeypatch):
    broken = tmp_path / "broken.toml"
    broken.write_text("[[exception]\n")
    monkeypatch.setattr(bird_references, "EXCEPTIONS_FILE", broken)
    rep = reference_report([{"id": "1", "ex": 1, "ex_strict": 1, "soft_f1": 1.0}], resamples=10)
    assert rep["exception_list"]["path"] == str(broken)
    assert "invalid TOML" in rep["exception_list"]["error"]
