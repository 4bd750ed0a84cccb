"""`harness gate`: several conditions (paired Δ with CI, absolute floors) -> ship or fail."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.diffing.compare import NotComparableError
from harness.diffing.diff import diff_leaderboards
from harness.errors import ConfigError
from harness.gate import evaluate, load_gates, run_gates
from harness.report.publish import publish_leaderboard
from tests.runs_factory import default_config, make_run, vector

N = 200


@pytest.fixture
def board(tmp_path):
    runs = tmp_path / "runs"
    config = default_config()
    # base 100/200 right; head gets those plus 30 more, loses 2: Δ = +14 pp.
    base = vector(N, range(100))
    head = vector(N, [*range(2, 100), *range(100, 130)])
    em_head = vector(N, range(97))  # EM 48.5%
    make_run(runs, "base", base, em=base, config=config)
    make_run(runs, "head", head, em=em_head, config=config)
    make_run(runs, "bird-run", vector(N, range(50)), benchmark="bird", config=config)
    out = tmp_path / "board"
    publish_leaderboard([runs / "base", runs / "head", runs / "bird-run"], out)
    return out / "leaderboard.json"


def gates(tmp_path, text: str):
    path = tmp_path / "gates.toml"
    path.write_text(text, encoding="utf-8")
    return path


DELTA = """
[[condition]]
name = "ex gain"
benchmark = "spider/dev"
baseline = "base"
candidate = "head"
min_delta_pp = {min}
"""
FLOOR = """
[[condition]]
name = "em floor"
metric = "em"
candidate = "head"
{key} = {value}
"""


def test_delta_matches_harness_diff_and_thresholds_decide(tmp_path, board):
    decision = run_gates(gates(tmp_path, DELTA.format(min=3)), board)
    assert decision.passed and decision.decision == "ship"
    # The same paired CI as `harness diff --gate`.
    diff = diff_leaderboards(board, board, gate_pp=3, baseline="base", candidate="head")
    d = diff.gate.comparison.delta
    assert f"Δ EX {100 * d.mean:+.1f} pp" in decision.results[0].line
    assert f"CI {100 * d.low:+.1f}, {100 * d.high:+.1f}" in decision.results[0].line
    assert "+14.0 pp" in decision.results[0].line and "n = 200 paired" in decision.results[0].line
    failing = run_gates(gates(tmp_path, DELTA.format(min=15)), board)
    assert not failing.passed and failing.decision == "fail: ex gain"


def test_floor_strict_and_inclusive(tmp_path, board):
    # EM of head is exactly 48.5%.
    assert run_gates(gates(tmp_path, FLOOR.format(key="above", value=48.4)), board).passed
    assert not run_gates(gates(tmp_path, FLOOR.format(key="above", value=48.5)), board).passed
    assert run_gates(gates(tmp_path, FLOOR.format(key="at_least", value=48.5)), board).passed


def test_all_conditions_must_hold_and_the_decision_names_the_failures(tmp_path, board, capsys):
    text = (
        DELTA.format(min=3)
        + FLOOR.format(key="above", value=60)
        + (
            '\n[[condition]]\nname = "bird floor"\nbenchmark = "bird/dev"\ncandidate = "bird-run"\n'
            "at_least = 20\n"
        )
    )
    path = gates(tmp_path, text)
    assert main(["gate", str(path), str(board)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4
    assert out[0].startswith("pass: ex gain") and out[1].startswith("fail: em floor")
    assert out[2].startswith("pass: bird floor") and "EX 25.0" in out[2]
    assert out[3] == "fail: em floor"
    md = tmp_path / "gate.md"
    assert (
        main(["gate", str(gates(tmp_path, DELTA.format(min=3))), str(board), "--markdown", str(md)])
        == 0
    )
    assert md.read_text().startswith("**Gates:** `ship`")


def test_not_comparable_runs_are_refused(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "base", vector(40, range(20)), config=default_config())
    other = default_config()
    other["decoding"]["temperature"] = 0.7
    make_run(runs, "head", vector(40, range(30)), config=other)
    publish_leaderboard([runs / "base", runs / "head"], tmp_path / "b")
    with pytest.raises(NotComparableError, match=r"decoding\.temperature"):
        run_gates(gates(tmp_path, DELTA.format(min=1)), tmp_path / "b" / "leaderboard.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[\\[condition\\]\\]"),
        ('[[condition]]\ncandidate = "head"\n', "exactly one of"),
        ('[[condition]]\ncandidate = "head"\nmin_delta_pp = 1\n', "needs a baseline"),
        ('[[condition]]\ncandidate = "head"\nabove = "x"\n', "above must be a number"),
        ('[[condition]]\ncandidate = "head"\nabove = 1\nmetrc = "em"\n', "unknown key.*metrc"),
        ('[[condition]]\ncandidate = "head"\nmetric = "acc"\nabove = 1\n', "metric 'acc'"),
        ("[[condition]\n", "invalid TOML"),
    ],
)
def test_bad_gates_files_name_file_and_condition(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_gates(gates(tmp_path, text))


def test_unknown_run_names_the_known_ones(tmp_path, board, capsys):
    path = gates(tmp_path, FLOOR.format(key="above", value=1).replace('"head"', '"nope"'))
    assert main(["gate", str(path), str(board)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope' is not in the leaderboard" in err
    assert "spider/dev:head" in err


def test_ambiguous_run_needs_a_benchmark(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs / "a", "same", vector(10, range(5)), config=default_config())
    make_run(runs / "b", "same", vector(10, range(5)), benchmark="bird", config=default_config())
    publish_leaderboard([runs / "a" / "same", runs / "b" / "same"], tmp_path / "b")
    path = gates(tmp_path, FLOOR.format(key="above", value=1).replace('"head"', '"same"'))
    with pytest.raises(ConfigError, match="several tables"):
        evaluate(load_gates(path), json.loads((tmp_path / "b" / "leaderboard.json").read_text()))


def test_a_delta_above_the_minimum_still_needs_its_ci_above_zero(tmp_path):
    runs = tmp_path / "runs"
    # One question flips: Δ = +5 pp on 20 questions, a CI that straddles 0.
    make_run(runs, "base", vector(20, range(10)), config=default_config())
    make_run(runs, "head", vector(20, range(11)), config=default_config())
    publish_leaderboard([runs / "base", runs / "head"], tmp_path / "b")
    decision = run_gates(gates(tmp_path, DELTA.format(min=3)), tmp_path / "b" / "leaderboard.json")
    assert "+5.0 pp" in decision.results[0].line
    assert not decision.passed
