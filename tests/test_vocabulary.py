"""One name per idea on the command line, and help that says what an option covers."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from harness.cli import cli, main

REPO = Path(__file__).resolve().parent.parent
PREDS = REPO / "evals" / "predictions"


def _help(command: str) -> str:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_partial_results_have_one_name_everywhere() -> None:
    for command in ("score", "bench", "selftest", "leaderboard"):
        text = _help(command)
        assert "--allow-partial" in text, command
        assert "--allow-missing-db" not in text, command


def test_the_two_caches_have_distinct_names() -> None:
    score, generate, bench = _help("score"), _help("generate"), _help("bench")
    assert "--gold-cache-dir" in score and "--cache-dir" not in score
    assert "--response-cache" in generate and "--cache-path" not in generate
    assert "--gold-cache-dir" in bench and "--response-cache" in bench


def test_bench_help_says_what_seed_and_no_cache_cover() -> None:
    bench = _help("bench")
    assert "Seed for decoding, few-shot selection and the bootstrap." in bench
    assert "Bypass every cache: model responses, gold results, stored verdicts." in bench
    score = _help("score")
    no_cache = "Do not use the gold-result cache or stored verdicts."
    assert "Bootstrap seed." in score and no_cache in score


def test_old_spellings_still_work_with_a_note(tmp_path: Path, capsys) -> None:
    code = main(["score", "--bench", "fixture", "--pred", str(PREDS / "baseline.jsonl"),
                 "--out", str(tmp_path / "run"), "--allow-missing-db", "--resamples", "20",
                 "--cache-dir", str(tmp_path / "gold-cache")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "--allow-missing-db is now --allow-partial" in err
    assert "--cache-dir is now --gold-cache-dir" in err
    assert any((tmp_path / "gold-cache").iterdir())
