"""`harness failures`: labels, TRL preference pairs whose prompt is the one the run sent,
and a summary by label."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DataError
from harness.failures_export import LABELS_NAME, PREFERENCES_NAME, SUMMARY_NAME, export_failures
from tests.conftest_models import tiny_spider_dir
from tests.loopback_api import LoopbackAPI

REPO = Path(__file__).resolve().parent.parent


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    """A few-shot run against a loopback OpenAI server that keeps every request it got."""
    pytest.importorskip("openai")
    root = tmp_path_factory.mktemp("failures")
    server = LoopbackAPI("openai")
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", "sk-loopback-not-a-secret")
    try:
        argv = [
            "bench", "--model", "openai:gpt-4o-mini", "--base-url", server.base_url,
            "--bench", "spider", "--data-dir", str(tiny_spider_dir()), "--shots", "2",
            "--shots-from", "dev", "--cache-path", str(root / "cache.sqlite"),
            "--out", str(root / "run"), "--no-progress",
        ]  # fmt: skip
        assert main(argv) == 0
        yield root / "run", list(server.requests)
    finally:
        mp.undo()
        server.close()


def test_preference_prompts_are_what_the_run_sent(api_run, tmp_path):
    run, requests = api_run
    result = export_failures(run, tmp_path / "out")
    rows = {r["id"]: r for r in _jsonl(run / "rows.jsonl")}
    wrong = [i for i, r in rows.items() if r["ex"] != 1]
    assert result.n_failures == len(wrong) > 0
    sent = {req["body"]["messages"][-1]["content"]: req["body"]["messages"] for req in requests}
    prefs = _jsonl(tmp_path / "out" / PREFERENCES_NAME)
    assert len(prefs) == len(wrong) == result.n_preferences
    for pref in prefs:
        row = rows[pref["id"]]
        # The exact messages the server received for this question, shots included.
        assert pref["prompt"] == sent[pref["prompt"][-1]["content"]]
        assert [m["role"] for m in pref["prompt"]] == ["system"] + ["user", "assistant"] * 2 + [
            "user"
        ]
        assert pref["chosen"] == [
            {"role": "assistant", "content": f"```sql\n{row['gold_sql'].strip()}\n```"}
        ]
        assert pref["rejected"] == [
            {"role": "assistant", "content": f"```sql\n{row['pred_sql'].strip()}\n```"}
        ]
        assert pref["label"] == row["failure"]
    assert result.prompt_source == "rebuilt from config.toml"


def test_labels_file_and_summary(tmp_path):
    run = tmp_path / "run"
    preds = REPO / "evals" / "predictions" / "baseline.jsonl"
    assert main(["bench", "--model", f"replay:{preds}", "--bench", "fixture", "--out", str(run),
                 "--no-progress"]) == 0  # fmt: skip
    assert main(["failures", str(run), "--out", str(tmp_path / "out")]) == 0
    rows = _jsonl(run / "rows.jsonl")
    questions = {p["id"]: p["question"] for p in _jsonl(run / "predictions.jsonl")}
    labels = _jsonl(tmp_path / "out" / LABELS_NAME)
    wrong = [r for r in rows if r["ex"] != 1]
    assert [x["id"] for x in labels] == [r["id"] for r in wrong]
    for line, row in zip(labels, wrong, strict=True):
        assert line["question"] == questions[row["id"]]
        assert (line["label"], line["pred"], line["gold"]) == (
            row["failure"],
            row["pred_sql"].strip(),
            row["gold_sql"].strip(),
        )
        assert line["mismatch"] == row["mismatch"]
    by_label = Counter(r["failure"] for r in wrong)
    summary = json.loads((run / "summary.json").read_text())
    assert dict(by_label) == summary["failures"]
    text = (tmp_path / "out" / SUMMARY_NAME).read_text()
    for label, count in by_label.items():
        assert f"| {label} " in text and f"{100 * count / len(wrong):.1f}" in text
    # Replay runs sent no prompt: the pairs say their prompt is the harness default.
    assert "sent no prompt" in text
    prefs = _jsonl(tmp_path / "out" / PREFERENCES_NAME)
    assert all(p["prompt"][0]["role"] == "system" for p in prefs)
    # An answer without SQL cannot be a rejected completion; it is counted, not dropped silently.
    empty = sum(1 for r in wrong if not (r["pred_sql"] or "").strip())
    assert len(prefs) == len(wrong) - empty
    assert empty == 0 or "no SQL in the answer" in text


def test_unreachable_benchmark_data_is_one_clear_error(api_run, tmp_path, capsys):
    run, _ = api_run
    moved = tmp_path / "copy"
    moved.mkdir()
    for name in ("rows.jsonl", "summary.json", "predictions.jsonl"):
        (moved / name).write_bytes((run / name).read_bytes())
    config = (run / "config.toml").read_text().replace(str(tiny_spider_dir()), "/nonexistent")
    (moved / "config.toml").write_text(config)
    with pytest.raises(DataError, match="--data-dir"):
        export_failures(moved, tmp_path / "out")
    assert main(["failures", str(moved), "--out", str(tmp_path / "o2")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    argv = ["failures", str(moved), "--out", str(tmp_path / "o3"), "--data-dir"]
    assert main([*argv, str(tiny_spider_dir())]) == 0


def test_plain_template_runs_get_the_standard_text_form():
    from harness.failures_export import _preference

    messages = [
        {"role": "system", "content": "You are an expert SQL assistant. x"},
        {"role": "user", "content": "Database schema:\nt(a)\n\nQuestion: how many?"},
    ]
    pref = _preference("7", "wrong_rows", messages, "SELECT count(*) FROM t", "SELECT 1", True)
    assert isinstance(pref["prompt"], str) and pref["prompt"].endswith("Question: how many?\nSQL:")
    assert (pref["chosen"], pref["rejected"]) == (" SELECT count(*) FROM t", " SELECT 1")
