"""Encoder-decoder (T5) models through the hf backend with the cssupport-t5 card format,
and benchmarks without databases (sql-create-context shape) scored by exact set match and
a normalized string match, apart from execution accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest_models import tiny_t5

from harness.config import load_config
from harness.errors import DataError
from harness.generation import PromptBuilder, generate
from harness.pipeline.score import score_files
from harness.scoring.nodb_judge import normalize_sql
from harness.scoring.options import ScoreOptions

REPO = Path(__file__).resolve().parent.parent


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_normalized_string_match() -> None:
    assert normalize_sql("SELECT COUNT(*) FROM t WHERE a>=1;") == normalize_sql(
        "select count ( * )  from T where A >= 1"
    )
    # literals are compared as written
    assert normalize_sql("SELECT a FROM t WHERE b = 'Bob'") != normalize_sql(
        "SELECT a FROM t WHERE b = 'bob'"
    )
    assert normalize_sql('SELECT "x y" FROM t') == 'select "x y" from t'
    assert normalize_sql("SELECT a FROM t") != normalize_sql("SELECT b FROM t")


def _write(tmp: Path, rows: list[dict]) -> Path:
    folder = tmp / "cc"
    folder.mkdir(exist_ok=True)
    (folder / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_no_database_rows_score_em_and_string_match_never_ex(tmp_path: Path) -> None:
    ctx = "CREATE TABLE head (name VARCHAR, age INTEGER); CREATE TABLE dept (head_name VARCHAR)"
    data = _write(
        tmp_path,
        [
            {"question": "How many heads are older than 56?", "context": ctx,
             "answer": "SELECT COUNT(*) FROM head WHERE age > 56"},
            {"question": "Names of heads?", "context": ctx, "answer": "SELECT name FROM head"},
            {"question": "Oldest head?", "context": ctx,
             "answer": "SELECT name FROM head ORDER BY age DESC LIMIT 1"},
        ],
    )  # fmt: skip
    preds = tmp_path / "p.jsonl"
    preds.write_text(
        "".join(
            json.dumps({"id": i, "sql": s}) + "\n"
            for i, s in [
                ("0", "select count(*) from head where age > 60"),  # EM (values off), not string
                ("1", "SELECT name FROM head;"),  # both
                ("2", "SELECT name FROM dept"),  # neither
            ]
        )
    )
    options = ScoreOptions(jobs=1, resamples=200, no_cache=True)
    summary = score_files("create-context", data, "dev", preds, tmp_path / "out", options=options)
    rows = {r["id"]: r for r in _lines(tmp_path / "out" / "rows.jsonl")}
    assert (rows["0"]["em"], rows["0"]["string_match"]) == (1, 0)
    assert (rows["1"]["em"], rows["1"]["string_match"]) == (1, 1)
    assert (rows["2"]["em"], rows["2"]["string_match"]) == (0, 0)
    assert set(summary["metrics"]) == {"em", "string_match"}  # no EX: nothing was executed
    assert all("ex" not in r for r in rows.values())
    assert summary["scorer"]["semantics"] == "no-database" and summary["complete"]


def test_create_context_rows_need_their_fields(tmp_path: Path) -> None:
    data = _write(tmp_path, [{"question": "q", "context": "CREATE TABLE t (a INT)"}])
    with pytest.raises(DataError, match=r"dev.jsonl:1: expected an object"):
        score_files("create-context", data, "dev", tmp_path / "x.jsonl", tmp_path / "o")


def test_the_committed_sample_loads() -> None:
    from harness.benchmarks.base import load_benchmark

    bench = load_benchmark("create-context")
    assert len(bench.examples) == 10 and not bench.missing_db_ids
    two_tables = next(e for e in bench.examples if "; CREATE TABLE" in e.context)
    assert set(bench.tables[two_tables.db_id]["table_names_original"]) == {"author", "book"}


def _t5_cfg(tmp: Path, **extra):
    return load_config(
        None,
        {
            "model.spec": f"hf:{tiny_t5()}",
            "benchmark.name": "create-context",
            "prompt.format": "cssupport-t5",
            "decoding.max_new_tokens": 8,
            "decoding.batch_size": 4,
            "run.cache_path": str(tmp / "cache.sqlite"),
            **extra,
        },
    )


def test_t5_runs_end_to_end_on_a_no_database_slice(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from harness.backends.base import BackendOptions, Request, load_backend
    from harness.benchmarks.base import load_benchmark
    from harness.generation import bench

    cfg = _t5_cfg(tmp_path)
    data = load_benchmark("create-context")
    ex = data.examples[4]
    messages = PromptBuilder(cfg, data).messages(ex)
    backend = load_backend(cfg.model.spec, BackendOptions())
    assert backend.encoder_decoder and backend.template_id() == "text2text"
    # the card's input, byte for byte: "tables:\n" + CREATE TABLE text + "\n" + "query for:" + q
    assert backend.render(Request(ex.id, 4, messages)) == (
        "tables:\n" + ex.context + "\nquery for:" + ex.question
    )

    options = ScoreOptions(jobs=1, resamples=200, no_cache=True)
    result, summary = bench(cfg, tmp_path / "run", options, progress=False)
    assert result.complete and result.n_total == 10
    preds = _lines(tmp_path / "run" / "predictions.jsonl")
    assert all(p["tokens_out"] >= 1 and p["tokens_in"] > 10 for p in preds)
    assert set(summary["metrics"]) == {"em", "string_match"} and summary["n"] == 10
    config = (tmp_path / "run" / "config.toml").read_text()
    assert 'format = "cssupport-t5"' in config and 'template = "text2text"' in config

    # batched (right-padded) generation equals one example at a time
    one = _t5_cfg(tmp_path, **{"decoding.batch_size": 1, "run.cache": False})
    generate(one, tmp_path / "one", progress=False)
    assert [p["raw_completion"] for p in _lines(tmp_path / "one" / "predictions.jsonl")] == [
        p["raw_completion"] for p in preds
    ]


def test_t5_refuses_a_chat_template(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="chat"):
        generate(_t5_cfg(tmp_path, **{"prompt.template": "chat"}), tmp_path / "x")
