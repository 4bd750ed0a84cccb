"""Leaderboard diffs on constructed leaderboards: gain, loss, noise, added, removed, refusals,
and the candidate-vs-baseline gate."""

from __future__ import annotations

import json
from math import comb

import pytest

from harness.cli import main
from harness.diffing.compare import NotComparableError
from harness.diffing.diff import diff_leaderboards
from harness.diffing.render import COMMENT_MARKER
from harness.errors import ConfigError, DataError
from harness.leaderboard.columns import JSON_NAME
from harness.report.publish import publish_leaderboard

try:  # tests/ as plain folder (pytest puts it on sys.path) or as a package
    from runs_factory import default_config, make_run, sha, vector
except ImportError:  # pragma: no cover
    from tests.runs_factory import default_config, make_run, sha, vector

N = 200
BASE = vector(N, range(100))  # 50.0%
# 30 questions fixed, 2 broken: +14.0 pp, discordant 30 vs 2.
GAIN = vector(N, set(range(2, 130)))
# 5 fixed, 4 broken: +0.5 pp, discordant 5 vs 4.
NOISE = vector(N, set(range(4, 105)))


def _lb(root, name, runs: dict, **kwargs):
    """Build a leaderboard from {config: (ex vector, make_run kwargs)}."""
    dirs = [
        make_run(root / name / "runs", config, ex, **{"config": default_config()} | extra)
        for config, (ex, extra) in runs.items()
    ]
    out = root / name / "lb"
    publish_leaderboard(dirs, out, plot=False, **kwargs)
    return out / JSON_NAME


def _row(markdown: str, config: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == config:
            return cells
    raise AssertionError(f"no row for {config} in\n{markdown}")


def _two_sided_exact(k_low: int, n: int) -> float:
    """Exact two-sided binomial(n, 1/2) p for a split of k_low vs n - k_low (k_low < n/2)."""
    return 2 * sum(comb(n, k) for k in range(k_low + 1)) / 2**n


@pytest.fixture(scope="module")
def pr_diff(tmp_path_factory):
    root = tmp_path_factory.mktemp("pr")
    other_prompt = default_config()
    other_prompt["prompt"]["template_sha256"] = sha("new template")
    hot = default_config()
    hot["decoding"]["temperature"] = 0.7
    base = _lb(
        root,
        "base",
        {
            "gain": (BASE, {}),
            "loss": (GAIN, {}),
            "noise": (BASE, {}),
            "prompt": (BASE, {}),
            "decoding": (BASE, {}),
            "removed": (BASE, {}),
        },
    )
    head = _lb(
        root,
        "head",
        {
            "gain": (GAIN, {}),
            "loss": (BASE, {}),
            "noise": (NOISE, {}),
            "prompt": (GAIN, {"config": other_prompt}),
            "decoding": (GAIN, {"config": hot}),
            "added": (GAIN, {}),
        },
    )
    return base, head, diff_leaderboards(base, head, resamples=4000)


def test_statuses_and_significance(pr_diff):
    _, _, result = pr_diff
    rows = {r.config: r for r in result.comparisons}
    assert {c: r.status for c, r in rows.items()} == {
        "gain": "compared",
        "loss": "compared",
        "noise": "compared",
        "prompt": "compared",
        "decoding": "not_comparable",
        "added": "added",
        "removed": "removed",
    }
    assert rows["gain"].delta.mean == pytest.approx(0.14)
    assert rows["gain"].direction == "▲" and rows["gain"].delta.low > 0
    assert rows["loss"].delta.mean == pytest.approx(-0.14)
    assert rows["loss"].direction == "▼" and rows["loss"].delta.high < 0
    assert rows["noise"].delta.mean == pytest.approx(0.005)
    assert rows["noise"].direction == "" and rows["noise"].delta.low < 0 < rows["noise"].delta.high
    assert (rows["gain"].mcnemar.only_base, rows["gain"].mcnemar.only_head) == (2, 30)
    assert rows["gain"].mcnemar.p_value == pytest.approx(_two_sided_exact(2, 32), rel=1e-9)
    assert rows["noise"].mcnemar.p_value == pytest.approx(1.0)
    assert rows["prompt"].changed == ["prompt.template_sha256"]
    assert rows["decoding"].blocking == ["decoding.temperature"]
    assert rows["decoding"].delta is None
    tested = [r for r in rows.values() if r.mcnemar is not None]
    assert len(tested) == 4
    assert all(r.p_holm >= r.mcnemar.p_value for r in tested)
    # Smallest of four p-values: Holm multiplies it by 4.
    smallest = min(tested, key=lambda r: r.mcnemar.p_value)
    assert smallest.p_holm == pytest.approx(4 * smallest.mcnemar.p_value)


def test_markdown_rows_and_verdict(pr_diff):
    _, _, result = pr_diff
    md = result.markdown
    assert md.splitlines()[0] == COMMENT_MARKER
    assert _row(md, "gain")[1:4] == ["50.0", "64.0", "▲ +14.0"]
    assert _row(md, "loss")[1:4] == ["64.0", "50.0", "▼ -14.0"]
    noise = _row(md, "noise")
    assert noise[3] == "+0.5" and "▲" not in md.split("noise")[1].split("\n")[0]
    assert noise[5] == "1.000" and noise[7] == str(N)
    assert _row(md, "added")[1:4] == ["—", "64.0", "new"] and _row(md, "added")[-1] == "added"
    assert _row(md, "removed")[1:4] == ["50.0", "—", "gone"]
    assert _row(md, "decoding")[3] == "—"
    assert _row(md, "decoding")[-1] == "not compared: differs in decoding.temperature"
    assert _row(md, "prompt")[-1] == "changed: prompt.template_sha256"
    verdict = next(line for line in md.splitlines() if line.startswith("**Verdict"))
    assert verdict == (
        "**Verdict (each config, head vs base):** ▲ 2 significant gain(s) (gain, prompt); "
        "▼ 1 significant loss(es) (loss); 1 within noise; 1 added; 1 removed; 1 not comparable."
    )
    assert result.passed and result.gate is None


def test_noise_only_verdict(tmp_path):
    base = _lb(tmp_path, "b", {"x": (BASE, {})})
    head = _lb(tmp_path, "h", {"x": (NOISE, {})})
    md = diff_leaderboards(base, head, resamples=2000).markdown
    assert "**Verdict (each config, head vs base):** no significant change; 1 within noise." in md
    assert _row(md, "x")[3] == "+0.5"


def test_identical_leaderboards_show_zero_change(pr_diff):
    base, _, _ = pr_diff
    result = diff_leaderboards(base, base, resamples=500)
    for row in result.comparisons:
        assert (row.delta.mean, row.delta.low, row.delta.high) == (0.0, 0.0, 0.0)
        assert row.mcnemar.p_value == 1.0


def test_partial_head_is_paired_on_common_ids(tmp_path):
    databases = {"db0": sha("db0"), "db1": sha("db1"), "db2": sha("db2")}
    base = _lb(tmp_path, "b", {"x": (BASE, {"databases": databases})})
    keep = [i for i in range(N) if i % 3 != 2]  # db2's questions were not scored
    head = _lb(
        tmp_path,
        "h",
        {
            "x": (
                [GAIN[i] for i in keep],
                {
                    "ids": [str(i) for i in keep],
                    "databases": {k: v for k, v in databases.items() if k != "db2"},
                    "excluded": {"missing_database": N - len(keep)},
                    "excluded_db_ids": ["db2"],
                },
            )
        },
        allow_partial=True,
    )
    row = diff_leaderboards(base, head, resamples=1000).comparisons[0]
    assert row.status == "compared" and row.n_paired == len(keep)
    expected = sum(GAIN[i] - BASE[i] for i in keep) / len(keep)
    assert row.delta.mean == pytest.approx(expected)
    md = diff_leaderboards(base, head, resamples=1000).markdown
    assert f"paired on {len(keep)} common ids" in md


@pytest.mark.parametrize(
    ("change", "blocking"),
    [
        (
            {"files": {"dev.json": sha("dev v2"), "tables.json": sha("tables")}},
            "data.files.dev.json",
        ),
        (
            {"databases": {"db0": sha("db0"), "db1": sha("db1 changed"), "db2": sha("db2")}},
            "data.databases.db1",
        ),
        ({"scorer": {"keep_distinct": True}}, "scorer.keep_distinct"),
        ({"benchmark": "bird"}, None),  # another table altogether: removed + added
    ],
)
def test_different_data_or_scorer_refuses_a_delta_and_names_fields(tmp_path, change, blocking):
    base = _lb(tmp_path, "b", {"x": (BASE, {})})
    head = _lb(tmp_path, "h", {"x": (GAIN, change)})
    result = diff_leaderboards(base, head, resamples=500)
    if blocking is None:
        assert [(r.benchmark, r.status) for r in result.comparisons] == [
            ("bird", "added"),
            ("spider", "removed"),
        ]
        return
    (row,) = result.comparisons
    assert row.status == "not_comparable" and row.delta is None
    assert row.blocking == [blocking]
    assert _row(result.markdown, "x")[-1] == f"not compared: differs in {blocking}"


@pytest.fixture(scope="module")
def gate_lb(tmp_path_factory):
    root = tmp_path_factory.mktemp("gate")
    lora = default_config(adapters=[{"path": "a", "weight": 1.0, "sha256": sha("lora")}])
    hot = default_config()
    hot["decoding"]["temperature"] = 0.7
    return _lb(
        root,
        "one",
        {
            "baseline": (BASE, {}),
            "candidate": (GAIN, {"config": lora}),
            "noisy": (NOISE, {"config": lora}),
            "sampled": (GAIN, {"config": hot}),
        },
    )


def test_gate_pass_and_fail(gate_lb):
    passed = diff_leaderboards(
        gate_lb, gate_lb, gate_pp=3, baseline="baseline", candidate="candidate", resamples=2000
    )
    assert passed.passed and passed.gate.line.startswith("pass: candidate 'candidate'")
    assert "Δ EX +14.0 pp" in passed.gate.line
    assert "**Gate (candidate in head vs baseline in base):** `pass" in passed.markdown
    too_high = diff_leaderboards(
        gate_lb, gate_lb, gate_pp=20, baseline="baseline", candidate="candidate", resamples=2000
    )
    assert not too_high.passed and too_high.gate.line.startswith("fail:")
    # +0.5 pp clears a 0 pp bar, but its paired CI includes 0: not a gain.
    noisy = diff_leaderboards(
        gate_lb, gate_lb, gate_pp=0, baseline="baseline", candidate="noisy", resamples=2000
    )
    assert not noisy.passed


def test_gate_refuses_incomparable_and_ambiguous(gate_lb):
    with pytest.raises(NotComparableError, match=r"decoding\.temperature"):
        diff_leaderboards(gate_lb, gate_lb, gate_pp=3, baseline="baseline", candidate="sampled")
    allowed = diff_leaderboards(
        gate_lb,
        gate_lb,
        gate_pp=3,
        baseline="baseline",
        candidate="sampled",
        vary=["decoding.temperature"],
        resamples=1000,
    )
    assert allowed.passed
    with pytest.raises(ConfigError, match="--gate needs --baseline and --candidate"):
        diff_leaderboards(gate_lb, gate_lb, gate_pp=3)
    with pytest.raises(ConfigError, match="'nobody' is not in the leaderboard"):
        diff_leaderboards(gate_lb, gate_lb, gate_pp=3, baseline="nobody", candidate="candidate")
    with pytest.raises(ConfigError, match="only used with --gate"):
        diff_leaderboards(gate_lb, gate_lb, baseline="baseline")


def test_gate_accepts_table_qualified_names(gate_lb):
    result = diff_leaderboards(
        gate_lb,
        gate_lb,
        gate_pp=3,
        baseline="spider/dev:baseline",
        candidate="spider/dev:candidate",
        resamples=1000,
    )
    assert result.passed


def test_cli_exit_codes(gate_lb, tmp_path, capsys):
    args = ["diff", str(gate_lb), str(gate_lb), "--baseline", "baseline", "--candidate"]
    out = tmp_path / "comment" / "diff.md"
    assert main([*args, "candidate", "--gate", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[-1].startswith("pass: ")
    assert out.read_text().startswith(COMMENT_MARKER)
    assert main([*args, "candidate", "--gate", "20"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("fail: ")
    assert main([*args, "sampled", "--gate", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: cannot gate") and "decoding.temperature" in err
    assert main(["diff", str(gate_lb), str(gate_lb)]) == 0  # no gate: the diff only


def test_rejects_files_that_are_not_leaderboards(tmp_path):
    bogus = tmp_path / "x.json"
    bogus.write_text(json.dumps({"hello": 1}))
    with pytest.raises(DataError, match="not a harness leaderboard"):
        diff_leaderboards(bogus, bogus)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"schema_version": 1, "tables": []}))
    result = diff_leaderboards(empty, empty)
    assert "no configs in either leaderboard" in result.markdown
