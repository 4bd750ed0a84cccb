"""Stored verdicts: a re-score copies rows it has judged before, byte for byte, and never
a row whose outcome depended on the clock; duplicates within a run are judged once."""

from __future__ import annotations

import pickle
import sqlite3

from test_scorer import GOLD, build, write_preds

from harness.scoring.scorer import ScoreOptions, score_files


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
