"""--samples N: N completions per example through every backend, stored per sample, cached
per sample, resumed per sample; pass@k and OmniSQL's execution-based maj@N in scoring."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest_models import tiny_model, tiny_spider_dir

from harness.config import load_config
from harness.errors import ConfigError, PredictionsError
from harness.generation.generate import generate
from harness.pipeline.score import score_files
from harness.predictions import read_predictions
from harness.scoring.options import ScoreOptions
from harness.scoring.sampled import majority_vote, pass_at_k, result_key


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


# ---------------------------------------------------------------- the estimators


def _pass_at_k_by_enumeration(n: int, c: int, k: int) -> float:
    """The fraction of k-subsets of the n samples holding at least one correct one."""
    outcomes = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_pass_at_k_is_the_unbiased_estimator(n: int) -> None:
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(_pass_at_k_by_enumeration(n, c, k))
    assert pass_at_k(8, 2, 1) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_majority_vote_as_omnisql() -> None:
    # failed executions do not vote; the largest group wins; its first sample is returned
    assert majority_vote([None, "a", "b", "b"]) == 2
    # a tie goes to the group that appeared first in sample order
    assert majority_vote([None, "b", "a", "a", "b"]) == 1
    assert majority_vote(["x", "y", "y", "x", "x"]) == 0
    assert majority_vote([None, None]) is None


def test_result_key_is_set_semantics() -> None:
    assert result_key([(1, "a"), (2, "b")]) == result_key([(2, "b"), (1, "a"), (1, "a")])
    assert result_key([(1,)]) == result_key([(1.0,)]) == result_key([(True,)])
    assert result_key([(1,)]) != result_key([("1",)])
    assert result_key([(1.5,)]) != result_key([(1,)])
    assert result_key([]) != result_key([(None,)])


# ---------------------------------------------------------------- scoring a sampled file


def _sampled_file(tmp: Path, samples: dict[str, list[str]]) -> Path:
    path = tmp / "sampled.jsonl"
    lines = [
        {"id": pid, "sample": k, "sql": sql}
        for pid, sqls in samples.items()
        for k, sql in enumerate(sqls)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_scoring_samples_pass_at_k_and_majority_vote(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    dev = json.loads((data / "dev.json").read_text())
    gold = {str(i): q["query"] for i, q in enumerate(dev)}
    samples = {pid: [sql, sql, sql] for pid, sql in gold.items()}
    # id 0: sample 0 wrong, samples 1 and 2 right in two spellings of one result -> maj right
    samples["0"] = [
        "SELECT 1 FROM singer",
        "SELECT count(*) FROM singer",
        "SELECT COUNT(1) FROM singer",
    ]
    # id 1: two wrong samples agree (same result set), one right -> maj wrong, pass@3 right
    samples["1"] = [
        "SELECT name FROM singer WHERE country = 'France'",
        "SELECT name FROM singer",
        "SELECT name FROM singer ORDER BY age",
    ]
    # id 2: nothing executes -> maj wrong (Spider: "Error SQL"), pass@k 0
    samples["2"] = ["SELECT nope FROM singer", "", "SELEC avg(age) FROM singer"]
    # id 3: one failing sample does not vote; a 1-1 tie goes to the earlier group (right)
    samples["3"] = [
        "SELECT broken(",
        "SELECT concert_name FROM concert WHERE year = 2014",
        "SELECT concert_name FROM concert",
    ]
    pred = _sampled_file(tmp_path, samples)
    options = ScoreOptions(jobs=1, resamples=200, no_cache=True)
    summary = score_files("spider", data, "dev", pred, tmp_path / "out", options=options)
    rows = {r["id"]: r for r in _lines(tmp_path / "out" / "rows.jsonl")}

    assert [s["ex"] for s in rows["0"]["samples"]] == [0, 1, 1]
    assert rows["0"]["ex"] == 0  # the top-level verdict is sample 0's
    assert rows["0"]["pass@1"] == pytest.approx(2 / 3) and rows["0"]["pass@3"] == 1
    assert rows["0"]["maj@3"] == 1 and rows["0"]["maj_sample"] == 1
    assert rows["1"]["maj@3"] == 0 and rows["1"]["maj_sample"] == 1 and rows["1"]["pass@3"] == 1
    assert rows["2"]["maj@3"] == 0 and rows["2"]["maj_sample"] is None
    assert rows["2"]["pass@1"] == 0 and all(s["vote_key"] is None for s in rows["2"]["samples"])
    assert rows["3"]["maj@3"] == 1 and rows["3"]["maj_sample"] == 1
    assert all(rows[p]["maj@3"] == 1 and rows[p]["pass@1"] == 1 for p in gold if int(p) > 3)

    # a reader recomputes every figure from the stored per-sample verdicts and vote keys
    for row in rows.values():
        verdicts = [s["ex"] for s in row["samples"]]
        assert row["pass@1"] == pytest.approx(pass_at_k(3, sum(verdicts), 1))
        winner = majority_vote([s["vote_key"] for s in row["samples"]])
        assert row["maj@3"] == (verdicts[winner] if winner is not None else 0)
    n = len(gold)
    metrics = summary["metrics"]
    assert metrics["maj@3"]["mean"] == pytest.approx((n - 2) / n)
    assert metrics["pass@3"]["mean"] == pytest.approx((n - 1) / n)
    assert metrics["pass@1"]["low"] <= metrics["pass@1"]["mean"] <= metrics["pass@1"]["high"]
    assert summary["sampling"]["samples"] == 3 and summary["sampling"]["correct_by"] == "ex"

    # reporting: the summary table and the leaderboard show the new metrics with CIs
    from harness.report.publish import publish_leaderboard
    from harness.summary import render_table

    assert "maj@3" in render_table(summary) and "pass@3" in render_table(summary)
    board = publish_leaderboard(
        [tmp_path / "out"], tmp_path / "board", allow_partial=True, plot=False
    )
    (entry,) = board["tables"][0]["entries"]
    assert entry["metrics"]["maj@3"]["mean"] == pytest.approx(metrics["maj@3"]["mean"])
    assert "maj@3 [95% CI]" in (tmp_path / "board" / "LEADERBOARD.md").read_text()


def test_bird_all_failed_takes_a_seeded_random_sample() -> None:
    from harness.records import Example
    from harness.scoring.sampled import combine

    ex = Example("7", "db", "q", "SELECT 1")
    judged = [{"id": "7", "ex": k % 2, "vote_key": None} for k in range(4)]
    bird = combine(ex, judged, "random", seed=0)
    assert bird["maj_sample"] is not None and bird["maj@4"] == judged[bird["maj_sample"]]["ex"]
    assert combine(ex, judged, "random", seed=0)["maj_sample"] == bird["maj_sample"]
    spider = combine(ex, judged, "wrong", seed=0)
    assert spider["maj_sample"] is None and spider["maj@4"] == 0


def test_sampled_predictions_need_every_sample(tmp_path: Path) -> None:
    data = tiny_spider_dir()
    from harness.benchmarks.base import load_benchmark

    examples = load_benchmark("spider", data_dir=data, split="dev").examples
    full = {e.id: ["SELECT 1", "SELECT 2"] for e in examples}
    preds = read_predictions(_sampled_file(tmp_path, full), examples)
    assert preds.samples["0"] == ["SELECT 1", "SELECT 2"] and preds.sql["0"] == "SELECT 1"
    holed = dict(full, **{"3": ["SELECT 1"]})
    with pytest.raises(PredictionsError, match=r"id '3' has samples \[0\]"):
        read_predictions(_sampled_file(tmp_path, holed), examples)
    path = _sampled_file(tmp_path, full)
    path.write_text(path.read_text() + json.dumps({"id": "0", "sample": 1, "sql": "x"}) + "\n")
    with pytest.raises(PredictionsError, match=r":\d+: duplicate id '0' sample 1"):
        read_predictions(path, examples)
    path = _sampled_file(tmp_path, full)
    path.write_text(path.read_text() + json.dumps({"id": "0", "sql": "x"}) + "\n")
    with pytest.raises(PredictionsError, match="no 'sample' field"):
        read_predictions(path, examples)


# ---------------------------------------------------------------- generation, hf


def _hf_cfg(tmp: Path, **extra):
    model = tiny_model()
    return load_config(
        None,
        {
            "model.spec": f"hf:{model.path}",
            "benchmark.data_dir": str(tiny_spider_dir()),
            "decoding.max_new_tokens": 6,
            "decoding.temperature": 1.0,
            "decoding.samples": 3,
            "run.limit": 3,
            "run.cache_path": str(tmp / "cache.sqlite"),
            **extra,
        },
    )


def _texts(run: Path) -> list[tuple[str, int, str]]:
    return [(r["id"], r["sample"], r["raw_completion"]) for r in _lines(run / "predictions.jsonl")]


def test_hf_samples_are_seeded_per_row_cached_and_resumable(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    first = generate(_hf_cfg(tmp_path), tmp_path / "a", progress=False)
    assert first.complete and first.n_total == 9 and first.n_new == 9
    got = _texts(tmp_path / "a")
    assert [(i, k) for i, k, _ in got] == [(str(i), k) for i in range(3) for k in range(3)]
    # samples of one example differ (it is sampling), and the config records N
    assert any(len({t for i, _, t in got if i == pid}) > 1 for pid in "012")
    config = (tmp_path / "a" / "config.toml").read_text()
    assert "samples = 3" in config

    # batch composition does not change a sample: batch size 1, no cache, same texts
    one = _hf_cfg(tmp_path, **{"decoding.batch_size": 1, "run.cache": False})
    generate(one, tmp_path / "b", progress=False)
    assert _texts(tmp_path / "b") == got

    # another folder, same cache: every sample comes from the cache, each under its own key
    again = generate(_hf_cfg(tmp_path), tmp_path / "c", progress=False)
    assert again.cached == 9 and _texts(tmp_path / "c") == got

    # a run killed after 4 rows (and half a line) resumes with only the missing samples,
    # without the cache, and ends with the uninterrupted run's samples
    pred = tmp_path / "b" / "predictions.jsonl"
    kept = pred.read_text().splitlines(keepends=True)[:4]
    pred.write_text("".join(kept) + '{"id": "1", "sam')
    resumed = generate(one, tmp_path / "b", progress=False)
    assert resumed.n_new == 5 and _texts(tmp_path / "b") == got

    # a different seed is another configuration, and other samples
    other = _hf_cfg(tmp_path, **{"decoding.seed": 1, "run.cache": False})
    generate(other, tmp_path / "d", progress=False)
    assert _texts(tmp_path / "d") != got


def test_samples_at_temperature_zero_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="temperature 0"):
        generate(_hf_cfg(tmp_path, **{"decoding.temperature": 0.0}), tmp_path / "x")


def test_one_sample_writes_what_it_always_wrote(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    cfg = _hf_cfg(tmp_path, **{"decoding.samples": 1, "decoding.temperature": 0.0})
    generate(cfg, tmp_path / "g", progress=False)
    rows = _lines(tmp_path / "g" / "predictions.jsonl")
    assert all("sample" not in r for r in rows) and len(rows) == 3
    assert "samples" not in (tmp_path / "g" / "config.toml").read_text()


# ---------------------------------------------------------------- generation, APIs


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_api_samples_are_seeded_repeats(
    wire: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openai")
    pytest.importorskip("anthropic")
    from loopback_api import LoopbackAPI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-loopback")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-loopback")
    api = LoopbackAPI(wire)
    api.vary_by_seed = True
    spec = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-haiku-4-5-20251001"}
    try:
        cfg = load_config(
            None,
            {
                "model.spec": spec[wire],
                "model.base_url": api.base_url,
                "benchmark.data_dir": str(tiny_spider_dir()),
                # Anthropic's API takes no temperature: its samples are the provider's own.
                "decoding.temperature": 0.7 if wire == "openai" else 0.0,
                "decoding.seed": 5,
                "decoding.samples": 3,
                "run.limit": 2,
                "run.cache_path": str(tmp_path / "cache.sqlite"),
            },
        )
        result = generate(cfg, tmp_path / "one", progress=False)
        assert result.complete and len(api.requests) == 6
        rows = _lines(tmp_path / "one" / "predictions.jsonl")
        assert [(r["id"], r["sample"]) for r in rows] == [(i, k) for i in "01" for k in range(3)]
        if wire == "openai":
            seeds = sorted(r["body"]["seed"] for r in api.requests)
            assert seeds == [5, 5, 6, 6, 7, 7]
            assert len({r["sql"] for r in rows if r["id"] == "0"}) == 3
        again = generate(cfg, tmp_path / "two", progress=False)
        assert again.cached == 6 and len(api.requests) == 6  # a rerun is free
        # ...and each sample comes back as itself: the cache keys every sample apart
        rerun = _lines(tmp_path / "two" / "predictions.jsonl")
        assert [r["raw_completion"] for r in rerun] == [r["raw_completion"] for r in rows]
    finally:
        api.close()


# ---------------------------------------------------------------- reasoning models


@pytest.mark.parametrize(
    ("completion", "sql"),
    [
        (
            "<think>Maybe SELECT name FROM t? No, count them.</think>\n```sql\n"
            "SELECT count(*) FROM t\n```",
            "SELECT count(*) FROM t",
        ),
        # the chat template opened the block: only its closing tag is in the completion
        ("first try: SELECT a FROM t\nhmm.</think>\nSELECT b FROM t;", "SELECT b FROM t"),
        # cut off while thinking: a draft inside the reasoning is no answer
        ("<thinking>SELECT a FROM t is wrong because", ""),
        (
            "<reasoning>SELECT x FROM t</reasoning><answer>draft</answer>"
            "<answer>SELECT y FROM t</answer>",
            "SELECT y FROM t",
        ),
        ("```sql\nSELECT 1\n```", "SELECT 1"),  # no reasoning: as before
    ],
)
def test_reasoning_is_removed_before_extraction(completion: str, sql: str) -> None:
    from harness.prompting.extract import extract_sql

    assert extract_sql(completion) == sql


def test_test_suite_samples_are_correct_by_ts() -> None:
    from harness.records import Example
    from harness.scoring.sampled import combine

    ex = Example("1", "db", "q", "SELECT 1", db_paths=(Path("a.sqlite"), Path("b.sqlite")))
    judged = [
        {"id": "1", "ex": 1, "ts": 0, "vote_key": "k"},
        {"id": "1", "ex": 1, "ts": 1, "vote_key": "j"},
        {"id": "1", "ex": 1, "ts": 1, "vote_key": "j"},
    ]
    row = combine(ex, judged, "wrong", seed=0)
    assert row["n_correct"] == 2 and row["maj@3"] == 1 and row["maj_sample"] == 1
    assert row["pass@1"] == pytest.approx(2 / 3) and row["ts"] == 0  # sample 0's own verdict


def test_sample_groups_gather_an_examples_samples_in_order() -> None:
    from harness.backends.base import Request, sample_groups

    m1 = ({"role": "user", "content": "a"},)
    m2 = ({"role": "user", "content": "b"},)
    requests = [
        Request("x", 0, m1, sample=2),
        Request("y", 1, m2, sample=0),
        Request("x", 0, m1, sample=0),
        Request("x", 0, m1, sample=1, adapter="other"),  # another adapter: another request
    ]
    assert sample_groups(requests) == [[2, 0], [1], [3]]
