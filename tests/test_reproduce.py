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
    from harness.scoring.scorer import ScoreOptions, score_files

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
