"""`harness reproduce`: published tables as data, the dry-run plan, the markdown table, and
a replay row end to end through the real bench pipeline (replay backend + scorer)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from harness.cli import main as cli_main
from harness.errors import ConfigError
from harness.reproduce import Outcome, load_table, plan, render_markdown, reproduce

REPO = Path(__file__).resolve().parent.parent
LADDER = REPO / "spider" / "published" / "qwen25-coder-ladder.toml"


def test_the_qwen_ladder_table_holds_the_published_numbers() -> None:
    table = load_table("qwen25-coder-ladder")
    assert table.path == LADDER and table.metric == "ex"
    got = {
        r.config["model"]["spec"] + ("+lora" if r.config["model"].get("adapters") else ""): (
            r.published.value,
            r.published.low,
            r.published.high,
            r.published.n,
        )
        for r in table.rows
    }
    assert got == {
        "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct": (0.558, 0.527, 0.587, 1034),
        "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct+lora": (0.629, 0.599, 0.659, 1034),
        "hf:Qwen/Qwen2.5-Coder-3B-Instruct": (0.691, 0.664, 0.721, 1034),
        "hf:Qwen/Qwen2.5-Coder-7B-Instruct": (0.793, 0.766, 0.817, 1034),
        "anthropic:claude-haiku-4-5": (0.794, 0.768, 0.819, 1034),
        "openai:gpt-4.1-mini": (0.811, 0.787, 0.836, 1034),
    }
    for row in table.rows:
        assert row.published.low <= row.published.value <= row.published.high
        assert row.config["benchmark"] == {"name": "spider", "split": "dev"}
        assert row.config["prompt"]["schema"] == "keys"
        assert row.config["decoding"]["temperature"] == 0.0
    assert table.source["url"].startswith("https://github.com/")


def test_every_row_is_a_valid_run_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.config import RunConfig, apply, validate

    monkeypatch.setenv("HARNESS_ADAPTER_QWEN25_CODER_15B_SPIDER_LORA", "/adapters/lora")
    for p in plan(load_table(LADDER)):
        assert not p.problem
        cfg = RunConfig()
        apply(cfg, tomllib.loads(p.config_text), p.row.id)
        validate(cfg)
        if p.row.id.endswith("lora"):
            assert cfg.model.adapters == ["/adapters/lora"]


def test_dry_run_lists_the_exact_command_per_row(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HARNESS_ADAPTER_QWEN25_CODER_15B_SPIDER_LORA", raising=False)
    runs = tmp_path / "runs"
    assert cli_main(["reproduce", "qwen25-coder-ladder", "--dry-run", "--runs-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    table = load_table(LADDER)
    for row in table.rows:
        run_dir = runs / table.id / row.id
        assert f"harness bench --config {run_dir / 'reproduce-config.toml'} --out {run_dir}" in out
        assert f'spec = "{row.config["model"]["spec"]}"' in out
    assert (
        "cannot run yet: adapter not given: set HARNESS_ADAPTER_QWEN25_CODER_15B_SPIDER_LORA" in out
    )
    assert not runs.exists()  # a dry run writes nothing

    assert (
        cli_main(["reproduce", "qwen25-coder-ladder", "--dry-run", "--only", "gpt-4.1-mini"]) == 0
    )
    out = capsys.readouterr().out
    assert out.count("harness bench --config") == 1 and "openai:gpt-4.1-mini" in out

    assert cli_main(["reproduce", "qwen25-coder-ladder", "--dry-run", "--only", "nope"]) == 2
    assert "no row nope" in capsys.readouterr().err


def test_markdown_table_says_delta_and_whether_published_is_inside() -> None:
    table = load_table(LADDER)
    rows = {r.id: r for r in table.rows}
    outcomes = [
        Outcome(rows["qwen2.5-coder-1.5b"], Path("r1"), mean=0.560, low=0.530, high=0.590, n=1034),
        Outcome(rows["qwen2.5-coder-3b"], Path("r2"), mean=0.640, low=0.611, high=0.669, n=1034),
        Outcome(
            rows["qwen2.5-coder-7b"], Path("r3"), mean=0.800, low=0.774, high=0.825, n=972,
            excluded={"missing_database": 62},
        ),
        Outcome(rows["qwen2.5-coder-1.5b-lora"], Path("r4"), error="adapter not given"),
    ]  # fmt: skip
    md = render_markdown(table, outcomes)
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| row"))
    assert "published EX [95% CI]" in header and "reproduced EX [95% CI]" in header
    row_1 = next(line for line in lines if line.startswith("| Qwen2.5-Coder-1.5B-Instruct, base"))
    # Percentages with one decimal, as every other table shows a score.
    assert "55.8 [52.7, 58.7]" in row_1 and "56.0 [53.0, 59.0]" in row_1
    assert "| +0.2 | yes | 1034 |" in row_1
    row_3 = next(line for line in lines if line.startswith("| Qwen2.5-Coder-3B"))
    assert "| -5.1 | no |" in row_3
    row_7 = next(line for line in lines if line.startswith("| Qwen2.5-Coder-7B"))
    assert "972 (published: 1034)" in row_7
    assert any(
        "missing_database 62" in line and "not directly comparable" in line for line in lines
    )
    assert any(
        "not run" in line for line in lines if line.startswith("| Qwen2.5-Coder-1.5B-Instruct +")
    )
    assert "Source: [" in md and "github.com/Lawson-Darrow/Text-to-SQL-Finetune" in md


def test_a_replay_row_end_to_end(tmp_path: Path) -> None:
    """A published predictions file replayed through the real bench pipeline; the table's
    reproduced number is the scorer's own on that file."""
    from harness.pipeline.score import score_files
    from harness.scoring.options import ScoreOptions

    preds = REPO / "evals" / "predictions" / "baseline.jsonl"
    if not preds.is_file():
        pytest.skip("fixture predictions not present")
    direct = score_files("fixture", None, "dev", preds, tmp_path / "direct", None, ScoreOptions())
    ex = direct["metrics"]["ex"]
    table_path = tmp_path / "replay-table.toml"
    table_path.write_text(f"""
id = "replay-check"
title = "fixture replay"
metric = "ex"
[[rows]]
id = "baseline"
label = "baseline predictions"
[rows.model]
spec = "replay:{preds}"
[rows.benchmark]
name = "fixture"
split = "dev"
[rows.published]
value = {ex["mean"]}
n = {direct["n"]}
[[rows]]
id = "off"
label = "a published number far from it"
[rows.model]
spec = "replay:{preds}"
[rows.benchmark]
name = "fixture"
split = "dev"
[rows.published]
value = {ex["high"] + 0.05}
n = {direct["n"]}
""")
    outcomes, md_path = reproduce(table_path, runs_dir=tmp_path / "runs", say=lambda _: None)
    by_id = {o.row.id: o for o in outcomes}
    assert by_id["baseline"].mean == pytest.approx(ex["mean"])
    assert (by_id["baseline"].low, by_id["baseline"].high) == pytest.approx((ex["low"], ex["high"]))
    assert by_id["baseline"].within_ci is True and by_id["off"].within_ci is False
    assert by_id["baseline"].delta == pytest.approx(0.0)
    md = md_path.read_text()
    assert "| yes |" in md and "| no |" in md
    saved = json.loads((md_path.parent / "reproduced.json").read_text())
    assert [s["published_within_reproduced_ci"] for s in saved] == [True, False]
    assert (tmp_path / "runs" / "replay-check" / "baseline" / "summary.json").is_file()


def _table_file(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(f'id = "t"\ntitle = "t"\nmetric = "ex"\n{rows}')
    return path


def test_a_misspelt_table_or_a_non_number_is_refused(tmp_path: Path) -> None:
    row = '[[rows]]\nid = "r"\n[rows.model]\nspec = "hf:m/x"\n'
    typo = _table_file(
        tmp_path, row + "[rows.decodng]\ntemperature = 0.7\n[rows.published]\nvalue = 0.5\n"
    )
    with pytest.raises(ConfigError, match=r"rows\[0\]: unknown table\(s\) decodng"):
        load_table(typo)
    bad = _table_file(tmp_path, row + '[rows.published]\nvalue = "about half"\n')
    with pytest.raises(ConfigError, match=r"rows\[0\]: \[rows.published\] needs numbers"):
        load_table(bad)


def test_written_run_config_survives_quotes_and_line_breaks(tmp_path: Path) -> None:
    path = _table_file(
        tmp_path,
        '[[rows]]\nid = "r"\n[rows.model]\nspec = "hf:m/x"\nname = "a \\"b\\"\\nc\\\\d"\n'
        "[rows.published]\nvalue = 0.5\n",
    )
    (planned,) = plan(load_table(path), runs_dir=tmp_path / "runs")
    written = tomllib.loads(planned.config_text)
    assert written["model"]["name"] == 'a "b"\nc\\d'
    assert written["benchmark"]["data_dir"]  # pointed at the prepared data


def test_a_crashing_row_is_reported_and_the_table_still_written(tmp_path: Path) -> None:
    path = _table_file(
        tmp_path,
        '[[rows]]\nid = "first"\n[rows.model]\nspec = "hf:m/x"\n[rows.published]\nvalue = 0.5\n'
        '[[rows]]\nid = "second"\n[rows.model]\nspec = "hf:m/y"\n[rows.published]\nvalue = 0.6\n',
    )
    calls = []

    def crash(cfg, out_dir, options):
        calls.append(cfg.model.spec)
        raise RuntimeError("CUDA out of memory")

    outcomes, md_path = reproduce(
        path, runs_dir=tmp_path / "runs", score_options=object(), bench_fn=crash, say=calls.append
    )
    assert [o.error for o in outcomes] == ["RuntimeError: CUDA out of memory"] * 2
    assert "hf:m/x" in calls and "hf:m/y" in calls  # the second row still ran
    md = md_path.read_text()
    assert md.count("not run") == 2 and "`first`: not reproduced: RuntimeError" in md


OMNISQL = REPO / "spider" / "published" / "omnisql-main-7b.toml"


def test_omnisql_rows_carry_the_published_numbers_and_their_setup() -> None:
    """Each value as OmniSQL's Table 5 prints it (assets/main_results.png at a66d732)."""
    table = load_table("omnisql-main-7b")
    assert table.path == OMNISQL
    assert table.source["commit"] == "a66d732010c89fac4353488d1c59e0b06f92b742"
    got = {
        r.id: (r.config["benchmark"]["name"], r.metric, r.published.value, r.published.n)
        for r in table.rows
    }
    assert got == {
        "qwen2.5-coder-7b-spider-greedy": ("spider", "ts", 0.734, 1034),
        "qwen2.5-coder-7b-spider-maj8": ("spider", "maj@8", 0.771, 1034),
        "qwen2.5-coder-7b-bird-greedy": ("bird", "ex", 0.509, 1534),
        "qwen2.5-coder-7b-bird-maj8": ("bird", "maj@8", 0.613, 1534),
        "omnisql-7b-spider-greedy": ("spider", "ts", 0.812, 1034),
        "omnisql-7b-spider-maj8": ("spider", "maj@8", 0.816, 1034),
        "omnisql-7b-bird-greedy": ("bird", "ex", 0.639, 1534),
        "omnisql-7b-bird-maj8": ("bird", "maj@8", 0.661, 1534),
    }
    for row in table.rows:
        decoding = row.config["decoding"]
        sampled = row.metric.startswith("maj@")
        assert decoding.get("samples", 1) == (8 if sampled else 1)
        assert decoding["temperature"] == (0.8 if sampled else 0.0)
        assert decoding["max_new_tokens"] == 2048
        assert row.setup["prompt_format"] == "omnisql" and "evaluator" in row.setup
        assert row.setup["test_suite"] == (row.config["benchmark"]["name"] == "spider")


def test_omnisql_dry_run_prints_the_resolved_setup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from harness.config import RunConfig, apply, validate

    for p in plan(load_table(OMNISQL)):
        cfg = RunConfig()
        apply(cfg, tomllib.loads(p.config_text), p.row.id)
        validate(cfg)
        if p.row.config["benchmark"]["name"] == "spider":
            assert cfg.benchmark.db_dir and cfg.benchmark.db_dir.endswith("test-suite")
    only = "omnisql-7b-spider-maj8"
    args = ["reproduce", "omnisql-main-7b", "--dry-run", "--only", only, "--runs-dir", "r"]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    for line in (
        "# model: vllm:seeklhy/OmniSQL-7B",
        "# samples: 8",
        "# temperature: 0.8",
        "# metric: maj@8",
        "# test_suite: True",
        "# prompt_format: omnisql",
        "# published: 0.816 on n=1034",
        "# source: https://github.com/RUCKBReasoning/OmniSQL @ a66d732",
        f"harness bench --config r/omnisql-main-7b/{only}/reproduce-config.toml",
        'format = "omnisql"',
    ):
        assert line in out
    assert "cannot run yet" not in out


def test_a_sampled_row_reports_its_own_metric(tmp_path: Path) -> None:
    """A maj@3 row: a sampled predictions file replayed per sample through bench, voted
    and judged by the scorer; the row's number is the scorer's maj@3."""
    from conftest_models import tiny_spider_dir

    data = tiny_spider_dir()
    dev = json.loads((data / "dev.json").read_text())
    lines = []
    for i, q in enumerate(dev):
        # two of three samples agree on a wrong result for the first 3 questions
        wrong = "SELECT 12345" if i < 3 else q["query"]
        for k, sql in enumerate([q["query"], wrong, wrong]):
            lines.append({"id": str(i), "sample": k, "sql": sql})
    preds = tmp_path / "sampled.jsonl"
    preds.write_text("".join(json.dumps(x) + "\n" for x in lines))
    table = tmp_path / "sampled-table.toml"
    table.write_text(f"""
id = "sampled"
title = "sampled replay"
metric = "ex"
[[rows]]
id = "maj"
label = "maj@3 of a replay"
metric = "maj@3"
[rows.model]
spec = "replay:{preds}"
[rows.benchmark]
name = "spider"
data_dir = "{data}"
[rows.decoding]
samples = 3
[rows.published]
value = 0.5
""")
    outcomes, md_path = reproduce(table, runs_dir=tmp_path / "runs", say=lambda _: None)
    (o,) = outcomes
    n = len(dev)
    assert not o.error and o.mean == pytest.approx((n - 3) / n)
    assert "maj@3 of a replay" in md_path.read_text()
