"""Leaderboard from constructed run folders: tables, provenance, identity, plot, CLI."""

from __future__ import annotations

import json

import pytest

from harness.cli import main
from harness.errors import ConfigError, DataError
from harness.identity import differing_fields, run_identity, run_provenance
from harness.leaderboard.columns import JSON_NAME, MD_NAME, format_params
from harness.leaderboard.entry import LeaderboardError
from harness.report.html import HTML_NAME
from harness.report.plots import PLOT_NAMES, SIZE_PLOT
from harness.report.publish import publish_leaderboard

try:  # tests/ as plain folder (pytest puts it on sys.path) or as a package
    from runs_factory import default_config, make_run, sha, vector
except ImportError:  # pragma: no cover
    from tests.runs_factory import default_config, make_run, sha, vector


ALL_FILES = (JSON_NAME, MD_NAME, HTML_NAME, *PLOT_NAMES)


def _table(leaderboard, benchmark="spider", split="dev"):
    return next(
        t for t in leaderboard["tables"] if (t["benchmark"], t["split"]) == (benchmark, split)
    )


def _md_row(markdown: str, config: str) -> list[str]:
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 1 and cells[1].split(" ")[0] == config:
            return cells
    raise AssertionError(f"no row for {config} in\n{markdown}")


def test_builds_ranked_tables_per_benchmark_and_split(tmp_path):
    runs = tmp_path / "runs"
    small = make_run(
        runs,
        "qwen-1.5b",
        vector(40, range(20)),
        em=vector(40, range(12)),
        config=default_config(tier="open", params=1_540_000_000),
        generation={"tokens_per_s": 812.34, "tokens_in": 1, "tokens_out": 2, "wall_s": 3.0},
    )
    big = make_run(
        runs,
        "qwen-7b",
        vector(40, range(30)),
        em=vector(40, range(25)),
        config=default_config(tier="open", params=7_620_000_000),
    )
    api = make_run(
        runs,
        "gpt-mini",
        vector(40, range(32)),
        config=default_config(tier="frontier", spec="openai:gpt-mini", backend="openai"),
        generation={"cost_usd": 0.5, "tokens_per_s": None},
    )
    bird = make_run(
        runs, "bird-run", vector(10, range(4)), benchmark="bird", config=default_config()
    )
    out = tmp_path / "lb"
    lb = publish_leaderboard([small, big, api, bird], out)

    assert [(t["benchmark"], t["split"]) for t in lb["tables"]] == [
        ("bird", "dev"),
        ("spider", "dev"),
    ]
    spider = _table(lb)
    assert [(e["rank"], e["config"]) for e in spider["entries"]] == [
        (1, "gpt-mini"),
        (2, "qwen-7b"),
        (3, "qwen-1.5b"),
    ]
    entry = spider["entries"][2]
    assert entry["correct"]["ex"] == {str(i): int(i < 20) for i in range(40)}
    assert entry["correct"]["em"]["11"] == 1 and entry["correct"]["em"]["12"] == 0
    assert "ts" not in entry["correct"]
    assert entry["metrics"]["ex"]["mean"] == 0.5
    assert spider["entries"][0]["cost_per_1k_usd"] == pytest.approx(0.5 / 40 * 1000)

    md = (out / MD_NAME).read_text()
    assert md.index("## bird / dev") < md.index("## spider / dev")
    md = md[md.index("## spider / dev") :]
    header = next(x for x in md.splitlines() if [c.strip() for c in x.split("|")][1:2] == ["rank"])
    for column in ("config", "tier", "params", "EX [95% CI]", "EM [95% CI]", "EX easy", "n"):
        assert column in header
    assert "TS [95% CI]" not in header  # no run has test-suite results
    row = _md_row(md, "qwen-1.5b")
    assert row[:4] == ["3", "qwen-1.5b", "open", "1.54B"]
    ci = entry["metrics"]["ex"]
    assert row[4] == f"50.0 [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"
    assert "812.3" in row
    api_row = _md_row(md, "gpt-mini")
    assert api_row[2:4] == ["frontier", "—"] and "12.50" in api_row
    assert "e97acc546ecbee8fa27fa8dbf025ef61493a876c" in md
    assert "0123456789abcdef0123456789abcdef01234567" in md
    assert spider["entries"][0]["data_sha256"] in md
    assert "10,000" not in md and "2,000 resamples" in md  # what the runs recorded

    png = (out / SIZE_PLOT).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    on_disk = json.loads((out / JSON_NAME).read_text())
    assert on_disk == lb


def test_rebuilding_gives_identical_files(tmp_path):
    runs = [
        make_run(tmp_path / "runs", "a", vector(30, range(10)), config=default_config()),
        make_run(tmp_path / "runs", "b", vector(30, range(20))),
    ]
    publish_leaderboard(runs, tmp_path / "one")
    publish_leaderboard(list(reversed(runs)), tmp_path / "two")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # the mode an ordinary write gets under this umask
    for name in ALL_FILES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        assert (tmp_path / "one" / name).stat().st_mode == plain.stat().st_mode
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(
        ALL_FILES
    )  # no temporary files left behind


def test_ties_share_a_rank_and_config_toml_can_name_the_config(tmp_path):
    runs = tmp_path / "runs"
    a = make_run(runs, "run-a", vector(10, range(5)), config={"name": "alpha"})
    b = make_run(runs, "run-b", vector(10, range(5, 10)), config={"run": {"name": "beta"}})
    c = make_run(runs, "run-c", vector(10, range(3)))
    lb = publish_leaderboard([a, b, c], tmp_path / "lb", plot=False)
    ranks = [(e["rank"], e["config"]) for e in _table(lb)["entries"]]
    assert ranks == [(1, "alpha"), (1, "beta"), (3, "run-c")]
    assert not (tmp_path / "lb" / SIZE_PLOT).exists()


def test_duplicate_config_names_are_refused(tmp_path):
    a = make_run(tmp_path / "x", "same", vector(10, [1]))
    b = make_run(tmp_path / "y", "same", vector(10, [2]))
    with pytest.raises(LeaderboardError, match="'same' is used by both"):
        publish_leaderboard([a, b], tmp_path / "lb")


def test_runs_on_different_data_files_never_share_a_table(tmp_path):
    a = make_run(tmp_path / "runs", "a", vector(10, [1]))
    b = make_run(tmp_path / "runs", "b", vector(10, [1]), files={"dev.json": sha("other")})
    with pytest.raises(LeaderboardError, match="different data files"):
        publish_leaderboard([a, b], tmp_path / "lb")


def test_test_suite_column_appears_when_present(tmp_path):
    run = make_run(tmp_path / "runs", "ts", vector(8, range(6)), ts=vector(8, range(4)))
    lb = publish_leaderboard([run], tmp_path / "lb", plot=False)
    md = (tmp_path / "lb" / MD_NAME).read_text()
    assert "TS [95% CI]" in md and "EM [95% CI]" not in md
    assert _md_row(md, "ts")[5].startswith("50.0 [")
    assert _table(lb)["entries"][0]["correct"]["ts"]["5"] == 0


def test_bird_metrics_and_difficulty_columns(tmp_path):
    soft = [0.5, 1.0, 0.0, 0.25, 1.0, 0.0]
    run = make_run(
        tmp_path / "runs",
        "bird-run",
        [0, 1, 0, 0, 1, 0],
        benchmark="bird",
        extra={"ex_strict": [0, 1, 0, 0, 0, 0], "soft_f1": soft},
        levels=("simple", "moderate", "challenging"),
        level_field="difficulty",
        scorer={"semantics": "bird-official", "r_ves_repeats": 0},
    )
    lb = publish_leaderboard([run], tmp_path / "lb", plot=False)
    entry = _table(lb, "bird")["entries"][0]
    assert entry["correct"]["ex_strict"] == {"0": 0, "1": 1, "2": 0, "3": 0, "4": 0, "5": 0}
    assert entry["correct"]["soft_f1"]["3"] == 0.25
    assert entry["identity"]["fields"]["scorer.r_ves_repeats"] == 0
    md = (tmp_path / "lb" / MD_NAME).read_text()
    header = next(x for x in md.splitlines() if "rank" in x)
    for column in ("EX strict [95% CI]", "Soft-F1 [95% CI]", "EX simple", "EX challenging"):
        assert column in header
    assert "EX easy" not in header
    assert _md_row(md, "bird-run")[6].startswith(f"{100 * sum(soft) / 6:.1f} [")


def test_outages_refused_unless_allowed_then_not_citable(tmp_path):
    run = make_run(tmp_path / "runs", "api", vector(18, range(9)), excluded={"outage": 2})
    with pytest.raises(LeaderboardError, match="2 prediction\\(s\\) are provider outages"):
        publish_leaderboard([run], tmp_path / "lb")
    lb = publish_leaderboard([run], tmp_path / "lb", allow_outages=True, plot=False)
    entry = _table(lb)["entries"][0]
    assert not entry["citable"]
    assert "2 excluded (outage)" in entry["provenance"]["not_citable_reasons"]
    md = (tmp_path / "lb" / MD_NAME).read_text()
    assert "api †" in md and "Not citable: api (2 excluded (outage))" in md
    assert _md_row(md, "api")[-1] == "18 of 20"


def test_partial_runs_refused_unless_allowed(tmp_path):
    run = make_run(
        tmp_path / "runs",
        "partial",
        vector(12, range(6)),
        excluded={"missing_database": 3, "outage": 0},
        excluded_db_ids=["wta_1"],
    )
    with pytest.raises(LeaderboardError, match="partial run \\(missing_database: 3\\)"):
        publish_leaderboard([run], tmp_path / "lb")
    # --allow-outages alone does not admit a partial run.
    with pytest.raises(LeaderboardError):
        publish_leaderboard([run], tmp_path / "lb", allow_outages=True)
    publish_leaderboard([run], tmp_path / "lb", allow_partial=True, plot=False)
    md = (tmp_path / "lb" / MD_NAME).read_text()
    assert "partial †" in md
    assert "3 excluded (missing database); missing databases: wta_1" in md
    assert "Partial runs are scored on fewer questions" in md


def test_dirty_tree_and_unknown_commit_are_not_citable(tmp_path):
    dirty = make_run(tmp_path / "runs", "dirty", vector(10, [1, 2]), dirty=True)
    unknown = make_run(tmp_path / "runs", "nocommit", vector(10, [1]), commit=None)
    clean = make_run(tmp_path / "runs", "clean", vector(10, [3]))
    lb = publish_leaderboard([dirty, unknown, clean], tmp_path / "lb", plot=False)
    by_name = {e["config"]: e for e in _table(lb)["entries"]}
    assert by_name["dirty"]["provenance"]["not_citable_reasons"] == ["dirty work tree"]
    assert by_name["nocommit"]["provenance"]["not_citable_reasons"] == ["harness commit unknown"]
    assert by_name["clean"]["citable"]
    md = (tmp_path / "lb" / MD_NAME).read_text()
    assert "dirty †" in md and "nocommit †" in md and "clean †" not in md
    assert "(dirty tree)" in md
    assert "Partial runs" not in md


def test_summary_that_disagrees_with_rows_is_refused(tmp_path):
    run = make_run(tmp_path / "runs", "stale", vector(10, [1, 2, 3]))
    summary = json.loads((run / "summary.json").read_text())
    summary["metrics"]["ex"]["mean"] = 0.9
    (run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DataError, match=r"disagrees with rows\.jsonl"):
        publish_leaderboard([run], tmp_path / "lb")
    with (run / "rows.jsonl").open("a") as fh:
        fh.write(json.dumps({"id": "extra", "ex": 1}) + "\n")
    with pytest.raises(DataError, match=r"n=10 but rows\.jsonl has 11"):
        publish_leaderboard([run], tmp_path / "lb")


def test_bad_rows_name_file_and_line(tmp_path):
    run = make_run(tmp_path / "runs", "bad", vector(3, [1]))
    lines = (run / "rows.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"ex": 1', '"ex": 2')
    (run / "rows.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"rows.jsonl:2: field 'ex' must be 0, 1 or null"):
        publish_leaderboard([run], tmp_path / "lb")
    with pytest.raises(DataError, match=r"summary\.json: not found"):
        publish_leaderboard([tmp_path], tmp_path / "lb")


def test_identity_separates_measurement_from_circumstance(tmp_path):
    adapters = [{"path": "/a/adapter", "weight": 1.0, "sha256": sha("lora")}]
    base = make_run(tmp_path / "r1", "x", vector(10, [1]), config=default_config(adapters=adapters))
    moved = [{"path": "/elsewhere/adapter", "weight": 1.0, "sha256": sha("lora")}]
    later = make_run(
        tmp_path / "r2",
        "x",
        vector(10, [1]),
        config=default_config(adapters=moved),
        timing={"wall_s": 99.0, "examples_per_s": 1.0},
        commit="f" * 40,
        dirty=True,
    )
    lb1 = publish_leaderboard([base], tmp_path / "lb1", plot=False)
    lb2 = publish_leaderboard([later], tmp_path / "lb2", plot=False)
    id1 = _table(lb1)["entries"][0]["identity"]
    id2 = _table(lb2)["entries"][0]["identity"]
    assert id1 == id2  # time, duration, commit, dirtiness and adapter location do not count

    def identity_of(**changes):
        config = default_config(adapters=adapters)
        summary = json.loads((base / "summary.json").read_text())
        for dotted, value in changes.items():
            table, key = dotted.split("__")
            target = summary if table == "summary" else config[table]
            target[key] = value
        return run_identity(summary, config)

    reference = identity_of()
    assert reference.sha256 == id1["sha256"]
    cases = {
        "decoding__temperature": (0.7, "decoding.temperature"),
        "prompt__template_sha256": (sha("other"), "prompt.template_sha256"),
        "model__revision": ("def456", "model.revision"),
        "model__adapters": (
            [{"path": "/a/adapter", "weight": 1.0, "sha256": sha("lora2")}],
            "model.adapters",
        ),
        "summary__split": ("test", "benchmark.split"),
        "summary__scorer": ({"name": "native", "keep_distinct": True}, "scorer.keep_distinct"),
    }
    for change, (value, field) in cases.items():
        changed = identity_of(**{change: value})
        assert changed.sha256 != reference.sha256, change
        assert field in differing_fields(reference.fields, changed.fields), change


def test_provenance_reasons(tmp_path):
    assert run_provenance({"harness_commit": "a" * 40, "dirty": False}).citable
    p = run_provenance(
        {"harness_commit": "a", "dirty": None, "complete": False, "n": 5, "n_total": 7}
    )
    assert p.not_citable_reasons == ["work-tree state unknown", "2 excluded (unspecified)"]


def test_format_params():
    assert format_params(1_540_000_000) == "1.54B"
    assert format_params(7_000_000_000) == "7B"
    assert format_params(350_000_000) == "350M"
    assert format_params(None) == "—"


def test_cli_writes_files_and_reports_errors_in_one_line(tmp_path, capsys):
    run = make_run(tmp_path / "runs", "cli-run", vector(10, range(7)))
    out = tmp_path / "lb"
    assert main(["leaderboard", str(run), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| 1      | cli-run" in printed or "cli-run" in _md_row(printed, "cli-run")[1]
    assert {p.name for p in out.iterdir()} == set(ALL_FILES)

    outage = make_run(tmp_path / "runs", "outage", vector(10, [1]), excluded={"outage": 1})
    assert main(["leaderboard", str(outage), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and err.count("\n") == 1 and "--allow-outages" in err
    assert main(["leaderboard", str(outage), "--out", str(out), "--allow-outages"]) == 0


def test_bad_model_table_names_the_config_file(tmp_path):
    run = make_run(
        tmp_path / "runs", "r", vector(4, [1]), config=default_config(adapters=["lora@0.5"])
    )
    with pytest.raises(ConfigError, match=r"r/config\.toml: \[model\]\.adapters must be tables"):
        publish_leaderboard([run], tmp_path / "lb", plot=False)
    run = make_run(tmp_path / "runs", "p", vector(4, [1]), config=default_config(params="7B"))
    with pytest.raises(ConfigError, match=r"p/config\.toml: \[model\]\.params must be a positive"):
        publish_leaderboard([run], tmp_path / "lb", plot=False)
