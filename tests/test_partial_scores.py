"""A score covers exactly what was asked, and says so: missing predictions and --limit.

A question without a prediction is an error that names it (Spider and BIRD alike), or, with
--allow-missing-predictions, an excluded question in a partial score; never a silent empty
prediction (which BIRD scores correct whenever the gold returns no rows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.benchmarks.bird import load_bird
from harness.cli import main
from harness.errors import PredictionsError
from harness.pipeline.score import score_files
from harness.predictions.bird import OFFICIAL_SEPARATOR
from harness.records import PredictionSet
from harness.scoring.scorer import ScoreOptions, score_benchmark

try:
    from test_bird_metrics import Case, build_bird_dir
    from test_scorer import GOLD, build, rows_of, write_preds
except ImportError:  # run from the repository root as a package
    from tests.test_bird_metrics import Case, build_bird_dir
    from tests.test_scorer import GOLD, build, rows_of, write_preds

OPTS = ScoreOptions(jobs=1, resamples=50, no_cache=True, timeout_s=2.0)
PARTIAL = ScoreOptions(
    jobs=1, resamples=50, no_cache=True, timeout_s=2.0, allow_missing_predictions=True
)

EMPTY_GOLD = "SELECT name FROM customers WHERE city = 'Paris'"  # returns no rows
BIRD_CASES = [
    Case(0, "SELECT count(*) FROM customers", "SELECT count(*) FROM customers", 1, 1, 1.0),
    Case(1, EMPTY_GOLD, "", 1, 0, 1.0),
    Case(2, "SELECT count(*) FROM orders", "SELECT count(*) FROM orders", 1, 1, 1.0),
]


@pytest.fixture
def bird(tmp_path: Path) -> Path:
    return build_bird_dir(tmp_path / "bird", BIRD_CASES)


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bird_missing_prediction_is_an_error_naming_it(bird, tmp_path):
    # Question 1's gold returns no rows: an empty prediction would score 1 there.
    pred = _jsonl(tmp_path / "p.jsonl", [{"id": 0, "sql": BIRD_CASES[0].gold}])
    with pytest.raises(PredictionsError, match=r"2 id\(s\) missing: 1, 2.*--allow-missing-pred"):
        score_files("bird", bird, "dev", pred, tmp_path / "run", options=OPTS)
    assert not (tmp_path / "run" / "summary.json").exists()


def test_bird_official_json_missing_key_is_an_error(bird, tmp_path):
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"0": BIRD_CASES[0].gold + OFFICIAL_SEPARATOR + "shop"}))
    with pytest.raises(PredictionsError, match=r"2 id\(s\) missing: 1, 2"):
        score_files("bird", bird, "dev", pred, tmp_path / "run", options=OPTS)


def test_bird_missing_prediction_excluded_with_the_flag(bird, tmp_path):
    pred = _jsonl(tmp_path / "p.jsonl", [{"id": 0, "sql": "SELECT 1"}])
    summary = score_files("bird", bird, "dev", pred, tmp_path / "run", options=PARTIAL)
    assert [r["id"] for r in rows_of(tmp_path / "run")] == ["0"]
    assert summary["n"] == 1 and summary["n_total"] == 3 and not summary["complete"]
    assert summary["excluded"]["reasons"]["missing_prediction"] == 2
    assert summary["excluded"]["ids"] == ["1", "2"]
    assert summary["metrics"]["ex"]["mean"] == 0.0  # never the empty gold's free 1


def test_bird_empty_prediction_written_out_still_scores_as_official(bird, tmp_path):
    # An explicit "" is a prediction (the official evaluator runs it): the flag is not needed.
    rows = [{"id": c.qid, "sql": c.pred} for c in BIRD_CASES]
    summary = score_files("bird", bird, "dev", _jsonl(tmp_path / "p.jsonl", rows), tmp_path / "r")
    assert summary["complete"] and summary["metrics"]["ex"]["mean"] == 1.0


def test_spider_missing_prediction_excluded_with_the_flag(tmp_path):
    root = build(tmp_path)
    pred = _jsonl(tmp_path / "p.jsonl", [{"id": i, "sql": s} for i, (s, _) in enumerate(GOLD)][:3])
    with pytest.raises(PredictionsError, match=r"2 id\(s\) missing: 3, 4"):
        score_files("spider", root, "dev", pred, tmp_path / "run", options=OPTS)
    summary = score_files("spider", root, "dev", pred, tmp_path / "run", options=PARTIAL)
    assert summary["n"] == 3 and not summary["complete"]
    assert summary["excluded"]["reasons"]["missing_prediction"] == 2
    assert summary["metrics"]["ex"]["mean"] == 1.0


def test_short_official_lines_file_stays_an_error_with_the_flag(tmp_path):
    # Lines pair by position: a short file cannot say which questions it lacks.
    root = build(tmp_path)
    pred = tmp_path / "pred.sql"
    pred.write_text("SELECT count(*) FROM singer\n")
    with pytest.raises(PredictionsError, match="1 prediction lines for 5 examples"):
        score_files("spider", root, "dev", pred, tmp_path / "run", options=PARTIAL)


def _score_cli(root: Path, pred: Path, out: Path, *extra: str) -> int:
    args = ["score", "--data-dir", str(root), "--pred", str(pred), "--out", str(out)]
    return main([*args, "--jobs", "1", "--no-cache", "--resamples", "50", "--json", *extra])


@pytest.mark.parametrize("lines", [2, 5])
@pytest.mark.parametrize("fmt", ["jsonl", "official-lines"])
def test_score_limit_scores_exactly_the_first_n(tmp_path, capsys, fmt, lines):
    root = build(tmp_path)
    sqls = [s for s, _ in GOLD][:lines]
    if fmt == "jsonl":
        pred = write_preds(tmp_path / "p.jsonl", sqls)
    else:
        pred = tmp_path / "pred.sql"
        pred.write_text("".join(s + "\n" for s in sqls))
    assert _score_cli(root, pred, tmp_path / "run", "--limit", "2") == 0
    summary = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows_of(tmp_path / "run")] == ["0", "1"]
    assert summary["n"] == 2 and summary["n_total"] == 5 and not summary["complete"]
    assert summary["excluded"]["reasons"]["limit"] == 3
    assert summary["options"]["limit"] == 2
    assert summary["metrics"]["ex"]["mean"] == 1.0


def test_score_limit_table_says_partial(tmp_path, capsys):
    root = build(tmp_path)
    pred = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD][:1])
    args = ["score", "--data-dir", str(root), "--pred", str(pred), "--out", str(tmp_path / "r")]
    assert main([*args, "--jobs", "1", "--no-cache", "--resamples", "50", "--limit", "1"]) == 0
    assert "PARTIAL: 4 of 5 examples not scored [limit: 4]" in capsys.readouterr().out


def test_score_limit_still_refuses_ids_outside_the_split(tmp_path, capsys):
    root = build(tmp_path)
    pred = _jsonl(tmp_path / "p.jsonl", [{"id": 0, "sql": "SELECT 1"}, {"id": 9, "sql": "x"}])
    assert _score_cli(root, pred, tmp_path / "run", "--limit", "1") == 2
    assert "1 id(s) not in the benchmark: 9" in capsys.readouterr().err


def test_score_limit_on_bird_official_json_indexes_the_whole_split(bird, tmp_path):
    # The official JSON's keys index the split, so a full file is accepted with --limit.
    pred = tmp_path / "p.json"
    pred.write_text(
        json.dumps({str(i): c.pred + OFFICIAL_SEPARATOR + "shop" for i, c in enumerate(BIRD_CASES)})
    )
    opts = ScoreOptions(jobs=1, resamples=50, no_cache=True, limit=1)
    summary = score_files("bird", bird, "dev", pred, tmp_path / "run", options=opts)
    assert summary["n"] == 1 and summary["excluded"]["reasons"]["limit"] == 2


def test_scorer_refuses_examples_without_a_prediction(bird, tmp_path):
    # A caller that builds its own PredictionSet gets the same guard: no silent "".
    bench = load_bird(bird, "dev")
    preds = PredictionSet(sql={"0": "SELECT 1"})
    with pytest.raises(PredictionsError, match=r"no prediction for 2 example\(s\): 1, 2"):
        score_benchmark(bench, preds, tmp_path / "run", OPTS)
    preds = PredictionSet(sql={"0": "SELECT 1"}, missing_ids=["1", "2"])
    assert score_benchmark(bench, preds, tmp_path / "run", OPTS)["n"] == 1


def test_several_prediction_files_take_limit_and_the_flag_too(tmp_path):
    from harness.pipeline.score import BenchmarkSource, score_many

    root = build(tmp_path)
    full = write_preds(tmp_path / "full.jsonl", [s for s, _ in GOLD])
    short = write_preds(tmp_path / "short.jsonl", [s for s, _ in GOLD][:1])
    opts = ScoreOptions(jobs=1, resamples=50, no_cache=True, limit=2)
    with pytest.raises(PredictionsError, match=r"short.jsonl: .*1 id\(s\) missing: 1 "):
        score_many(BenchmarkSource("spider", root), [full, short], tmp_path / "runs", opts)
    opts = ScoreOptions(
        jobs=1, resamples=50, no_cache=True, limit=2, allow_missing_predictions=True
    )
    results = score_many(BenchmarkSource("spider", root), [full, short], tmp_path / "runs", opts)
    assert [s["n"] for _, s in results] == [2, 1]
    assert results[1][1]["excluded"]["reasons"] == {
        "missing_database": 0, "outage": 0, "missing_prediction": 1, "limit": 3,
    }  # fmt: skip


def test_the_official_spider_evaluator_refuses_a_bird_split(bird, tmp_path):
    from harness.errors import ConfigError
    from harness.pipeline.score import BenchmarkSource, score

    pred = _jsonl(
        tmp_path / "p.jsonl", [{"id": i, "sql": c.gold} for i, c in enumerate(BIRD_CASES)]
    )
    with pytest.raises(ConfigError, match="official Spider evaluator cannot score 'bird'"):
        score(BenchmarkSource("bird", bird), pred, tmp_path / "run", OPTS, evaluator="official")
