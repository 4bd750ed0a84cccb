"""The official-evaluator bridge: its parser on the evaluator's real printed output, the
comparison with a native summary, and the subprocess plumbing."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from harness.prepare import punkt
from harness.records import BenchmarkData, Example
from harness.scoring.official_bridge import (
    EMPTY_PREDICTION,
    OfficialEvaluatorFailed,
    OfficialEvaluatorMissing,
    OfficialResult,
    compare,
    find_evaluator,
    parse_official_stdout,
    run_official,
)
from harness.scoring.options import ScoreOptions

REPO = Path(__file__).resolve().parent.parent

EXEC_ONLY = ScoreOptions(em=False)


def _verdicts(parity: Path, name: str) -> list[dict[str, Any]]:
    with open(parity / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _printed_means(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Per-level mean of a 0/1 field, formatted as the evaluator prints it."""
    hits: dict[str, int] = Counter()
    counts: dict[str, int] = Counter()
    for row in rows:
        for level in (row["hardness"], "all"):
            counts[level] += 1
            hits[level] += int(row[key])
    return {level: float(f"{hits[level] / counts[level]:.3f}") for level in counts}


@pytest.fixture(scope="module")
def parity(shared_data: Path) -> Path:
    path = shared_data / "spider" / "parity"
    if not (path / "official-stdout").is_dir():
        pytest.skip(f"parity corpus not found at {path}")
    return path


# ------------------------------------------------------------------ the real printed output


def test_parser_reads_the_real_exec_tables(parity: Path) -> None:
    out = parity / "official-stdout"
    default = parse_official_stdout((out / "etype_exec.stdout").read_text())
    distinct = parse_official_stdout((out / "etype_exec_keep_distinct.stdout").read_text())
    assert default.ex is not None and default.ex["all"] == 0.512
    assert distinct.ex is not None and distinct.ex["all"] == 0.489
    assert default.em is None and distinct.em is None

    rows = _verdicts(parity, "official_default.jsonl")
    counts = Counter(row["hardness"] for row in rows)
    expected_counts = {**counts, "all": len(rows)}
    assert default.counts == expected_counts == distinct.counts
    assert default.counts == {"easy": 1300, "medium": 2617, "hard": 888, "extra": 1063,
                              "all": 5868}  # fmt: skip
    assert default.ex == _printed_means(rows, "ex")
    kd_rows = _verdicts(parity, "official_keep_distinct.jsonl")
    assert distinct.ex == _printed_means(kd_rows, "ex")


def test_parser_reads_the_real_all_table_past_the_mismatch_lines(parity: Path) -> None:
    text = (parity / "official-stdout" / "etype_all.stdout").read_text()
    assert text.count(" pred: ") > 1000  # thousands of lines precede the table
    result = parse_official_stdout(text)
    rows = _verdicts(parity, "official_default.jsonl")
    assert result.ex is not None and result.em is not None
    assert result.ex["all"] == 0.512 and result.em["all"] == 0.562
    assert result.em == _printed_means(rows, "em")
    assert result.ex == _printed_means(rows, "ex")
    assert result.counts["all"] == len(rows)


def test_parser_takes_the_last_table_and_skips_turn_tables() -> None:
    text = textwrap.dedent("""\
        Evaluating 10th prediction
                             easy                 medium               hard                 extra                all                  joint_all
        count                2                    1                    0                    1                    4                    2
        =====================   EXECUTION ACCURACY     =====================
        execution            0.500                1.000                0.000                0.000                0.500                0.500

                             turn 1               turn 2               turn 3               turn 4               turn > 4
        count                2                    2                    0                    0                    0
        =====================   TURN EXECUTION ACCURACY     =====================
        execution            0.500                0.500                0.000                0.000                0.000
        """)  # noqa: E501
    result = parse_official_stdout(text)
    assert result.counts == {"easy": 2, "medium": 1, "hard": 0, "extra": 1, "all": 4}
    assert result.ex == {"easy": 0.5, "medium": 1.0, "hard": 0.0, "extra": 0.0, "all": 0.5}


def test_parser_refuses_output_without_a_table() -> None:
    with pytest.raises(OfficialEvaluatorFailed, match=r"it ends: Traceback .* boom"):
        parse_official_stdout("Traceback (most recent call last):\n  boom\n")
    with pytest.raises(OfficialEvaluatorFailed, match="it ends: no message"):
        parse_official_stdout("")
    with pytest.raises(OfficialEvaluatorFailed, match=r"it ends: ValueError: bad\)$"):
        parse_official_stdout("progress 1/2\nValueError: bad\n" + "*" * 70 + "\n")


# ------------------------------------------------------------------ compare


def _native_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A summary.json shaped like the native scorer's, from per-example verdicts."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by[row["hardness"]].append(row)

    def metric(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return {"mean": sum(r[key] for r in items) / len(items), "n": len(items)}

    return {
        "n": len(rows),
        "metrics": {"ex": metric(rows, "ex"), "em": metric(rows, "em")},
        "by_hardness": {
            level: {"n": len(items), "ex": metric(items, "ex"), "em": metric(items, "em")}
            for level, items in by.items()
        },
    }


def test_compare_agrees_with_the_real_table_and_finds_a_flipped_verdict(parity: Path) -> None:
    rows = _verdicts(parity, "official_default.jsonl")
    official = parse_official_stdout((parity / "official-stdout" / "etype_all.stdout").read_text())
    assert compare(_native_summary(rows), official) == []

    # One hard example judged differently moves hard and all (at 3 decimals, 888 and 5868
    # examples: 1/888 shows, 1/5868 may round away, so flip enough to show on both).
    flipped = [dict(r) for r in rows]
    hard = [r for r in flipped if r["hardness"] == "hard" and r["ex"] == 1][:6]
    for row in hard:
        row["ex"] = 0
    found = {(d.metric, d.level) for d in compare(_native_summary(flipped), official)}
    assert found == {("ex", "hard"), ("ex", "all")}

    fewer = _native_summary(rows[:-1])
    assert ("n", "all") in {(d.metric, d.level) for d in compare(fewer, official)}


def test_compare_skips_metrics_one_side_did_not_compute() -> None:
    official = OfficialResult(
        counts={"easy": 1, "medium": 0, "hard": 0, "extra": 0, "all": 1},
        ex={"easy": 1.0, "medium": 0.0, "hard": 0.0, "extra": 0.0, "all": 1.0},
    )
    native = {
        "n": 1,
        "metrics": {"ex": {"mean": 1.0, "n": 1}, "em": {"mean": 0.0, "n": 1}},
        "by_hardness": {"easy": {"n": 1, "ex": {"mean": 1.0}, "em": {"mean": 0.0}}},
    }
    assert compare(native, official) == []
    native["by_hardness"]["easy"]["ex"]["mean"] = 0.0
    (d,) = compare(native, official)
    assert (d.metric, d.level, d.native, d.official) == ("ex", "easy", 0.0, 1.0)
    assert "native 0.0, official 1.0" in d.describe()


# ------------------------------------------------------------------ running the evaluator


def test_missing_evaluator_is_a_one_line_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = BenchmarkData(name="spider", split="dev", examples=[])
    with pytest.raises(OfficialEvaluatorMissing) as err:
        run_official(bench, {}, tmp_path / "nowhere", EXEC_ONLY)
    message = str(err.value)
    assert "harness prepare official-evaluator" in message and "\n" not in message
    monkeypatch.delenv("HARNESS_OFFICIAL_EVALUATOR", raising=False)
    with pytest.raises(OfficialEvaluatorMissing, match="harness prepare official-evaluator"):
        find_evaluator(tmp_path / "empty")


# A stand-in for evaluation.py that records what the bridge handed it and prints a table in
# the official layout, judging "execution" as pred == gold text. It checks the plumbing
# (files, flags, database tree, environment, parsing), not any scoring rule.
STAND_IN = r"""
import argparse, json, os, sys
ap = argparse.ArgumentParser()
for flag in ("--gold", "--pred", "--db", "--table", "--etype"):
    ap.add_argument(flag)
ap.add_argument("--keep_distinct", action="store_true")
ap.add_argument("--plug_value", action="store_true")
args = ap.parse_args()
gold = open(args.gold).read().split("\n")
pred = open(args.pred).read().split("\n")
tree = {d: sorted(os.listdir(os.path.join(args.db, d))) for d in os.listdir(args.db)}
links = {d: os.path.realpath(os.path.join(args.db, d, d + ".sqlite")) for d in tree}
json.dump({"argv": sys.argv[1:], "gold": gold, "pred": pred, "tree": tree, "links": links,
           "tables": [t["db_id"] for t in json.load(open(args.table))],
           "nltk_data": os.environ.get("NLTK_DATA", ""), "cwd": os.getcwd()},
          open(os.path.join(os.path.dirname(__file__), "seen.json"), "w"))
pairs = [(p, g.split("\t")[0]) for p, g in zip(pred, gold) if g]
n = len(pairs)
acc = sum(p == g for p, g in pairs) / n
fmt = "{:20} " + " ".join(["{:20}"] * 5)
print(fmt.format("", "easy", "medium", "hard", "extra", "all"))
print(("{:20} " + " ".join(["{:<20d}"] * 5)).format("count", n, 0, 0, 0, n))
print("=====================   EXECUTION ACCURACY     =====================")
print(("{:20} " + " ".join(["{:<20.3f}"] * 5)).format("execution", acc, 0, 0, 0, acc))
"""


def _db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.commit()
    con.close()
    return path


@pytest.fixture
def stand_in(tmp_path: Path) -> Path:
    folder = tmp_path / "evaluator"
    folder.mkdir()
    (folder / "evaluation.py").write_text(STAND_IN)
    for name in ("exec_eval.py", "process_sql.py", "parse.py"):
        (folder / name).write_text("")
    punkt.write_minimal(folder / punkt.EVALUATOR_PUNKT)
    return folder


def test_run_official_plumbing(tmp_path: Path, stand_in: Path) -> None:
    data = tmp_path / "data"
    one = _db(data / "one" / "one.sqlite")
    variant = _db(data / "suite" / "one" / "one_1.sqlite")
    two = _db(data / "two" / "two.sqlite")
    table = {"table_names_original": ["t"], "column_names_original": [[-1, "*"], [0, "a"]],
             "foreign_keys": []}  # fmt: skip
    examples = [
        Example("0", "one", "q", "SELECT a\nFROM t", db_paths=(one, variant)),
        Example("1", "two", "q", "SELECT a FROM t", db_paths=(two,)),
        Example("2", "gone", "q", "SELECT 1", db_paths=()),
        Example("3", "two", "q", "SELECT count(*) FROM t", db_paths=(two,)),
    ]
    bench = BenchmarkData(
        "spider", "dev", examples, tables={"one": table, "two": table, "gone": table}
    )
    predictions = {"0": "SELECT a\nFROM\tt", "1": "   ", "2": "SELECT 1"}
    # the commit `harness prepare` recorded is the one the result names
    (stand_in / ".harness-prepared-official-evaluator.json").write_text('{"commit": "e97acc5"}')
    result = run_official(bench, predictions, stand_in, ScoreOptions(keep_distinct=True, em=False))
    assert result.commit == "e97acc5"

    seen = json.loads((stand_in / "seen.json").read_text())
    assert seen["gold"] == ["SELECT a FROM t\tone", "SELECT a FROM t\ttwo",
                            "SELECT count(*) FROM t\ttwo", ""]  # fmt: skip
    # Line breaks and TABs become spaces (as the native scorer sees them); nothing else.
    assert seen["pred"] == ["SELECT a FROM t", EMPTY_PREDICTION, EMPTY_PREDICTION, ""]
    assert seen["tree"] == {"one": ["one.sqlite", "one_1.sqlite"], "two": ["two.sqlite"]}
    assert seen["links"]["one"] == str(one.resolve())
    assert sorted(seen["tables"]) == ["one", "two"]
    assert "--keep_distinct" in seen["argv"] and "--plug_value" not in seen["argv"]
    assert seen["argv"][seen["argv"].index("--etype") + 1] == "exec"
    assert seen["nltk_data"].split(os.pathsep)[0] == str(stand_in / "nltk_data")
    assert Path(seen["cwd"]) == stand_in

    assert result.excluded_ids == ["2"] and result.placeholder_ids == ["1", "3"]
    assert result.counts["all"] == 3
    assert result.ex is not None and result.ex["all"] == float(f"{1 / 3:.3f}")
    assert result.em is None and result.etype == "exec"

    only = run_official(bench, predictions, stand_in, EXEC_ONLY, only_ids={"0"})
    assert only.counts["all"] == 1 and only.ex is not None and only.ex["all"] == 1.0


def test_run_official_reports_a_crash_in_one_line(tmp_path: Path, stand_in: Path) -> None:
    (stand_in / "evaluation.py").write_text("raise SystemExit('database file missing: x')\n")
    db = _db(tmp_path / "d" / "d.sqlite")
    bench = BenchmarkData(
        "spider", "dev", [Example("0", "d", "q", "SELECT 1", db_paths=(db,))], tables={"d": {}}
    )
    with pytest.raises(OfficialEvaluatorFailed, match="status 1: database file missing: x"):
        run_official(bench, {"0": "SELECT 1"}, stand_in, EXEC_ONLY)


def _real_evaluator() -> Path | None:
    env = os.environ.get("HARNESS_OFFICIAL_EVALUATOR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO / "spider" / "data" / "official-evaluator")
    return next((p for p in candidates if (p / "evaluation.py").is_file()), None)


def test_real_evaluator_reproduces_the_parity_verdicts(parity: Path, spider_dir: Path) -> None:
    """With the real evaluator prepared, the bridge's table equals the per-example verdicts
    recorded from the same evaluator (first 300 parity rows)."""
    evaluator = _real_evaluator()
    if evaluator is None:
        pytest.skip("official evaluator not prepared (harness prepare official-evaluator)")
    gold = (parity / "gold.sql").read_text().splitlines()[:300]
    preds = [json.loads(line) for line in (parity / "pred.jsonl").read_text().splitlines()[:300]]
    tables = {t["db_id"]: t for t in json.loads((spider_dir / "tables.json").read_text())}
    examples = []
    for i, line in enumerate(gold):
        sql, db_id = line.split("\t")
        path = spider_dir / "database" / db_id / f"{db_id}.sqlite"
        examples.append(Example(str(i), db_id, "", sql, db_paths=(path,)))
    bench = BenchmarkData("spider", "dev", examples, tables=tables)
    result = run_official(
        bench, {str(i): p["pred"] for i, p in enumerate(preds)}, evaluator, ScoreOptions()
    )
    rows = _verdicts(parity, "official_default.jsonl")[:300]
    assert result.counts["all"] == 300
    assert compare(_native_summary(rows), result) == []
