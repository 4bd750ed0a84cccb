"""Stored verdicts: a re-score copies rows it has judged before, byte for byte, and never
a row whose outcome depended on the clock; duplicates within a run are judged once."""

from __future__ import annotations

import json
import pickle
import sqlite3

from test_scorer import GOLD, build, write_preds

from harness.pipeline.score import score_files
from harness.scoring.options import ScoreOptions


def _run(tmp_path, preds, name, **kw):
    root = tmp_path / "spider"
    if not root.is_dir():
        build(tmp_path)
    opts = ScoreOptions(jobs=1, resamples=50, cache_dir=tmp_path / "cache", **kw)
    summary = score_files("spider", root, "dev", preds, tmp_path / name, options=opts)
    return summary, (tmp_path / name / "rows.jsonl").read_bytes()


def _verdicts(summary):
    return summary["timing"]["verdicts"]


def _without_timing(summary):
    return {k: v for k, v in summary.items() if k not in ("timing", "predictions")}


WRONG = ["SELECT 2", "SELECT name FROM singer", "SELECT name FROM singer", "x", ""]


def test_a_rescore_reuses_every_verdict_with_identical_output(tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", WRONG)
    first, rows_a = _run(tmp_path, preds, "a")
    second, rows_b = _run(tmp_path, preds, "b")
    assert _verdicts(first) == {"reused": 0, "duplicates": 0, "judged": 5}
    assert _verdicts(second) == {"reused": 5, "duplicates": 0, "judged": 0}
    assert rows_a == rows_b
    assert _without_timing(first) == _without_timing(second)


def test_a_stored_verdict_is_what_the_rescore_reports(tmp_path):
    # Proof that the second run reads the store rather than judging again: a doctored
    # stored row shows up in its output.
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    _run(tmp_path, preds, "a")
    with sqlite3.connect(tmp_path / "cache" / "gold-results.sqlite") as conn:
        for key, payload in conn.execute("SELECT key, payload FROM verdicts").fetchall():
            row = pickle.loads(payload)
            row["ex"] = 0
            conn.execute("UPDATE verdicts SET payload = ? WHERE key = ?", (pickle.dumps(row), key))
    second, _ = _run(tmp_path, preds, "b")
    assert second["metrics"]["ex"]["mean"] == 0.0


def test_a_changed_option_or_prediction_is_judged_afresh(tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    _run(tmp_path, preds, "a")
    keep, _ = _run(tmp_path, preds, "b", keep_distinct=True)
    assert _verdicts(keep)["judged"] == len(GOLD)
    changed = write_preds(tmp_path / "q.jsonl", [*(s for s, _ in GOLD[:4]), "SELECT 7"])
    other, _ = _run(tmp_path, changed, "c")
    assert _verdicts(other) == {"reused": 4, "duplicates": 0, "judged": 1}


def test_a_row_that_timed_out_is_never_stored(tmp_path):
    slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    preds = write_preds(tmp_path / "p.jsonl", [slow, *(s for s, _ in GOLD[1:])])
    first, _ = _run(tmp_path, preds, "a", timeout_s=0.3)
    assert first["failures"].get("timeout") == 1
    second, _ = _run(tmp_path, preds, "b", timeout_s=0.3)
    assert _verdicts(second) == {"reused": 4, "duplicates": 0, "judged": 1}


def test_no_cache_judges_everything(tmp_path):
    preds = write_preds(tmp_path / "p.jsonl", WRONG)
    build(tmp_path)
    opts = ScoreOptions(jobs=1, resamples=50, no_cache=True)
    first = score_files("spider", tmp_path / "spider", "dev", preds, tmp_path / "a", options=opts)
    again = score_files("spider", tmp_path / "spider", "dev", preds, tmp_path / "b", options=opts)
    assert _verdicts(first) == _verdicts(again) == {"reused": 0, "duplicates": 0, "judged": 5}
    assert not (tmp_path / "cache").exists()


def test_a_question_asked_twice_is_judged_once(tmp_path):
    from harness.benchmarks.spider import load_spider
    from harness.predictions import read_predictions
    from harness.scoring.scorer import score_benchmark

    root = build(tmp_path)
    gold = tmp_path / "gold.sql"
    gold.write_text("".join(f"{sql}\t{db}\n" for sql, db in [*GOLD, GOLD[1], GOLD[1]]))
    bench = load_spider(gold_path=gold, db_dir=root / "database", tables_path=root / "tables.json")
    pred = tmp_path / "pred.sql"
    pred.write_text("".join(f"{sql}\n" for sql, _ in [*GOLD, GOLD[1], ("SELECT 1", "")]))
    preds = read_predictions(pred, bench.examples)
    summary = score_benchmark(bench, preds, tmp_path / "a", ScoreOptions(jobs=1, no_cache=True))
    assert _verdicts(summary) == {"reused": 0, "duplicates": 1, "judged": 6}
    rows = [json.loads(line) for line in (tmp_path / "a" / "rows.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(7)]
    assert {k: v for k, v in rows[5].items() if k != "id"} == {
        k: v for k, v in rows[1].items() if k != "id"
    }
    assert (rows[5]["ex"], rows[6]["ex"]) == (1, 0)


def test_several_pred_files_in_one_score_command(tmp_path, capsys):
    from harness.cli import main

    root = build(tmp_path)
    a = write_preds(tmp_path / "model_a.jsonl", [s for s, _ in GOLD])
    b = write_preds(tmp_path / "model_b.jsonl", [*(s for s, _ in GOLD[:4]), "SELECT 7"])
    args = ["score", "--data-dir", str(root), "--pred", str(a), "--pred", str(b)]
    args += [
        "--out",
        str(tmp_path / "out"),
        "--gold-cache-dir",
        str(tmp_path / "cache"),
        "--jobs",
        "1",
    ]
    assert main([*args, "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    assert "== " in out and "model_a" in out and "model_b" in out
    sa = json.loads((tmp_path / "out" / "model_a" / "summary.json").read_text())
    sb = json.loads((tmp_path / "out" / "model_b" / "summary.json").read_text())
    assert sa["metrics"]["ex"]["mean"] == 1.0 and sb["metrics"]["ex"]["mean"] == 0.8
    assert _verdicts(sb) == {"reused": 4, "duplicates": 0, "judged": 1}
    # Each file's run folder matches what a run of that file alone writes.
    alone_args = ["score", "--data-dir", str(root), "--pred", str(b), "--no-cache"]
    assert main([*alone_args, "--out", str(tmp_path / "alone"), "--resamples", "50"]) == 0
    alone = (tmp_path / "alone" / "rows.jsonl").read_bytes()
    assert (tmp_path / "out" / "model_b" / "rows.jsonl").read_bytes() == alone


def test_several_pred_files_need_distinct_names(tmp_path):
    from harness.cli import main

    root = build(tmp_path)
    (tmp_path / "x").mkdir()
    a = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    b = write_preds(tmp_path / "x" / "p.jsonl", [s for s, _ in GOLD])
    code = main(["score", "--data-dir", str(root), "--pred", str(a), "--pred", str(b),
                 "--out", str(tmp_path / "out"), "--no-cache"])  # fmt: skip
    assert code != 0
    assert not (tmp_path / "out").exists()


def test_the_code_fingerprint_covers_every_module_a_spider_verdict_uses():
    # A stored verdict stays valid only while the code that reached it is unchanged, so
    # every harness module the judge loads must be in the fingerprint, or be one that
    # cannot change a row (errors, io helpers, the registry's import machinery).
    import subprocess
    import sys

    probe = (
        "import sys, harness.scoring.engine.dispatch, harness.scoring.spider.judge, "
        "harness.scoring.exact_match, harness.scoring.failures, harness.scoring.spider.plug_value\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('harness'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    covered = {m for m in loaded if m.startswith("harness.scoring")}
    covered |= {"harness.records", "harness.metrics"}
    harmless = {"harness", "harness.errors", "harness.io", "harness.registry", "harness.extras"}
    assert set(loaded) - covered <= harmless
