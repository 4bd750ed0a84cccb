"""Prompt formats (harness/prompting/formats/*.toml): the harness's own wording unchanged,
and the published formats byte for byte against their upstream builders' stored output
(tests/data/prompts/SOURCE.md says how each file was produced)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from bird_mini import make_bird_mini
from click.testing import CliRunner
from conftest_models import DATABASES, _tables_entry

from harness.benchmarks.base import load_benchmark
from harness.cli import cli, main
from harness.config import load_config
from harness.errors import ConfigError
from harness.generation.prompts import PromptBuilder
from harness.identity import identity_fields
from harness.prompting import fewshot
from harness.prompting.formats import load_format, parse_format, shipped_formats
from harness.prompting.schema import SCHEMA_KINDS, render_schema
from harness.prompting.templates import Shot, build_messages, render_plain

DATA = Path(__file__).parent / "data" / "prompts"


def _stored(name: str) -> dict[str, dict]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return {row["id"]: row for row in map(json.loads, fh)}


def _builder(bench, **prompt) -> PromptBuilder:
    overrides = {f"prompt.{k}": v for k, v in prompt.items()}
    overrides["benchmark.name"] = bench.name
    if "evidence" in prompt:
        overrides["benchmark.evidence"] = overrides.pop("prompt.evidence")
    return PromptBuilder(load_config(None, overrides, require_model=False), bench)


def _compare(builder: PromptBuilder, bench, stored: dict[str, dict], check_text: bool) -> int:
    """Every stored example against ours; returns how many were compared."""
    by_id = {e.id: e for e in bench.examples}
    assert set(stored) <= set(by_id)
    mismatches = []
    for ex_id, want in stored.items():
        got = builder.prompt(by_id[ex_id])
        if list(got.messages) != want["messages"] or (check_text and got.text != want["text"]):
            mismatches.append(ex_id)
    assert not mismatches, f"{len(mismatches)} of {len(stored)} differ, first: {mismatches[:5]}"
    return len(stored)


@pytest.fixture(scope="module")
def bird_mini(bird_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bird_mini(bird_dir, tmp_path_factory.mktemp("bird-mini"))


# ------------------------------------------------------------------ the harness format


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_harness_format_is_todays_wording(spider_dir: Path, kind: str) -> None:
    """Messages and base-model text equal the pre-format builders' on every Spider dev
    example with a database, with and without demonstrations."""
    bench = load_benchmark("spider", data_dir=spider_dir, split="dev")
    examples = [e for e in bench.examples if e.db_paths]
    for shots in (0, 2):
        builder = _builder(bench, schema=kind, shots=shots, shots_from="dev")
        for ex in examples if shots == 0 else examples[::25]:
            old_shots = [
                Shot(
                    item.question,
                    item.sql,
                    render_schema(
                        builder.schema_info(item.db_id, item.db_path, bench.tables), kind
                    ),
                )
                for item in fewshot.select_shots(builder.pool, shots, 0, ex.id, ex.question)
            ]
            schema = render_schema(builder.example_schema(ex), kind)
            want = build_messages(schema, ex.question, ex.evidence, old_shots)
            got = builder.prompt(ex)
            assert got.messages == want, ex.id
            assert got.text == render_plain(want), ex.id
            assert got.completion_prefix == ""


def test_harness_format_evidence_matches_old_wording(bird_mini: Path) -> None:
    bench = load_benchmark("bird", data_dir=bird_mini, split="dev")
    builder = _builder(bench)
    for ex in bench.examples:
        want = build_messages(
            render_schema(builder.example_schema(ex), "keys"), ex.question, ex.evidence
        )
        assert builder.prompt(ex).messages == want
        assert builder.prompt(ex).text == render_plain(want)


# ------------------------------------------------------------------ qwen2.5-coder


def test_qwen_spider_dev_byte_for_byte(spider_dir: Path) -> None:
    bench = load_benchmark("spider", data_dir=spider_dir, split="dev")
    stored = _stored("qwen2.5-coder-spider-dev")
    assert _compare(_builder(bench, format="qwen2.5-coder"), bench, stored, True) == 972
    one = next(iter(stored.values()))
    assert one["text"].endswith("\nSELECT ") and "3 example rows:" in one["text"]


def test_qwen_bird_byte_for_byte(bird_mini: Path) -> None:
    bench = load_benchmark("bird", data_dir=bird_mini, split="dev")
    stored = _stored("qwen2.5-coder-bird-mini")
    builder = _builder(bench, format="qwen2.5-coder")
    assert _compare(builder, bench, stored, True) == len(bench.examples) == 153
    assert "-- External Knowledge:" in next(iter(stored.values()))["text"]
    # Their bird-dev-nokg.json (base only) is our --no-evidence.
    nokg = load_benchmark("bird", data_dir=bird_mini, split="dev", evidence=False)
    texts = _stored("qwen2.5-coder-bird-mini-nokg")
    builder = _builder(nokg, format="qwen2.5-coder", evidence=False)
    for ex in nokg.examples:
        assert builder.prompt(ex).text == texts[ex.id]["text"], ex.id


# ------------------------------------------------------------------ omnisql


def _needs_lucene() -> None:
    """The retrieval runs Lucene: CI installs pyserini and a JDK (.ci/run), so there a
    missing piece fails; elsewhere it skips with the reason."""
    missing = []
    try:
        import pyserini  # noqa: F401
    except ImportError:
        missing.append("pyserini (pip install --no-deps pyserini==0.22.1)")
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing.append("a JDK (openjdk-17-jdk-headless)")
    if missing:
        reason = "OmniSQL value retrieval needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture()
def punkt_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored OmniSQL outputs were produced with an empty punkt_tab (nltk's real
    English model cannot be fetched here): both sides tokenize alike; see SOURCE.md."""
    folder = tmp_path / "nltk_data" / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    for name in ("abbrev_types.txt", "collocations.tab", "ortho_context.tab", "sent_starters.txt"):
        (folder / name).write_text("")
    import nltk

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk_data")])
    _forget_tokenizers()
    yield
    _forget_tokenizers()


def _forget_tokenizers() -> None:
    """nltk keeps the punkt model it loaded (and we keep word_tokenize): drop both."""
    import nltk.tokenize

    from harness.prompting import value_index

    value_index._word_tokenize.cache_clear()
    nltk.tokenize._get_punkt_tokenizer.cache_clear()


@pytest.fixture(scope="module")
def value_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("value-index")


def test_omnisql_spider_dev_byte_for_byte(
    spider_dir: Path,
    punkt_standin: None,
    value_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _needs_lucene()
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(value_cache))
    bench = load_benchmark("spider", data_dir=spider_dir, split="dev")
    stored = _stored("omnisql-spider-dev")
    builder = _builder(bench, format="omnisql")
    assert _compare(builder, bench, stored, False) == 972
    # Retrieval matters: the same format without it gets a good share of them wrong.
    fmt = tmp_path / "omnisql-no-retrieval.toml"
    shipped = Path(__file__).parent.parent / "harness" / "prompting" / "formats" / "omnisql.toml"
    fmt.write_text(shipped.read_text().replace("retrieval = true", "retrieval = false"))
    without = _builder(bench, format=str(fmt))
    by_id = {e.id: e for e in bench.examples}
    differ = sum(
        list(without.prompt(by_id[i]).messages) != want["messages"] for i, want in stored.items()
    )
    assert 100 < differ < 972, differ


def test_omnisql_bird_byte_for_byte(
    bird_mini: Path, punkt_standin: None, value_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _needs_lucene()
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(value_cache))
    bench = load_benchmark("bird", data_dir=bird_mini, split="dev")
    stored = _stored("omnisql-bird-mini")
    assert _compare(_builder(bench, format="omnisql"), bench, stored, False) == 153


def test_omnisql_schema_without_retrieval(tmp_path: Path) -> None:
    """The schema text itself (comments, sampled values, keys) needs no Lucene."""
    db = tmp_path / "concert_singer.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(DATABASES["concert_singer"])
    entry = _tables_entry("concert_singer", conn)
    conn.close()
    from harness.prompting.schema_omnisql import render_omnisql, sample_values

    text = render_omnisql(entry, sample_values(db, entry["table_names_original"], 2))
    assert text.startswith("CREATE TABLE singer (\n    singer_id number, -- example: [1, 2]")
    assert "    PRIMARY KEY (singer_id)\n);" in text
    assert "CONSTRAINT fk_concert_singer_id FOREIGN KEY (singer_id) REFERENCES singer" in text


# ------------------------------------------------------------------ format files


def test_shipped_formats_and_identity() -> None:
    assert {"harness", "qwen2.5-coder", "omnisql"} <= set(shipped_formats())
    fmt = load_format("qwen2.5-coder")
    assert fmt.schema_for("spider").rows == 3 and fmt.schema_for("bird").rows == 0
    assert fmt.completion_prefix == "SELECT " and not fmt.supports_shots
    config = {"prompt": {"format": fmt.name, "format_sha256": fmt.sha256, "schema": "x"}}
    fields = identity_fields({}, config)
    assert fields["prompt.format"] == "qwen2.5-coder"
    assert fields["prompt.format_sha256"] == fmt.sha256
    # A record from before formats existed keeps the identity fields it had.
    assert "prompt.format" not in identity_fields({}, {"prompt": {"schema": "keys"}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "invalid TOML"),
        ('name = "x"\n[chat]\nuser = "q"\n', r"\[plain\] text"),
        ('name = "x"\n[schema]\nrepresentation = "nope"\n', "schema.representation"),
        ('name = "x"\n[chat]\nuser = "{% if %}"\n[plain]\ntext = ""\n', "chat.user, template"),
    ],
)
def test_bad_format_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_format(str(path))
    assert str(path) in str(info.value)
    with pytest.raises(ConfigError, match="unknown prompt format"):
        load_format("no-such-format")


def test_prompts_command_with_a_custom_format(
    tmp_path: Path, spider_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fmt = tmp_path / "terse.toml"
    fmt.write_text(
        'name = "terse"\n[schema]\nrepresentation = "minimal"\n'
        '[chat]\nuser = "{{ schema }}\\nQ: {{ question }}"\n'
        '[plain]\ntext = "{{ user }}\\nA: SELECT"\ncompletion_prefix = "SELECT"\n'
    )
    out = tmp_path / "p.jsonl"
    args = ["prompts", "--data-dir", str(spider_dir), "--prompt", str(fmt), "--limit", "2"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["0", "1"]
    assert rows[0]["messages"] == [
        {"role": "user", "content": rows[0]["text"].removesuffix("\nA: SELECT")}
    ]
    assert rows[0]["messages"][0]["content"].endswith("\nQ: How many singers do we have?")
    assert "stadium(Stadium_ID, Location" in rows[0]["text"]
    # Shots need a format with demonstrations: one clear error line, not a traceback.
    assert main([*args, "--shots", "1", "--shots-from", "dev", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'terse' defines no demonstrations" in err


def test_format_parse_reports_block_errors() -> None:
    data = b'name = "x"\n[blocks]\na = "{% for %}"\n[chat]\nuser = ""\n[plain]\ntext = ""\n'
    with pytest.raises(ConfigError, match=r"blocks\.a"):
        parse_format(data, "inline")


def test_cache_key_covers_a_base_models_text() -> None:
    from harness.backends.base import Decoding, Request
    from harness.backends.cache import ResponseCache

    messages = ({"role": "user", "content": "q"},)
    a, b = Request("0", 0, messages, text="one"), Request("0", 0, messages, text="two")
    plain, chat = {"template": "plain"}, {"template": "chat\0..."}
    decoding = Decoding()
    assert ResponseCache.key(plain, a, decoding) != ResponseCache.key(plain, b, decoding)
    # A chat model is sent the messages only: its key (and earlier caches) stay as they were.
    assert ResponseCache.key(chat, a, decoding) == ResponseCache.key(chat, b, decoding)
    assert ResponseCache.key(chat, a, decoding) == ResponseCache.key(
        chat, Request("0", 0, messages), decoding
    )


def test_format_from_a_run_config_and_the_generate_option(tmp_path: Path) -> None:
    conf = tmp_path / "run.toml"
    conf.write_text('[model]\nspec = "openai:gpt-4o"\n[prompt]\nformat = "omnisql"\n')
    assert load_config(conf).prompt.format == "omnisql"
    assert load_config(conf, {"prompt.format": "qwen2.5-coder"}).prompt.format == "qwen2.5-coder"
    conf.write_text('[model]\nspec = "openai:gpt-4o"\n[prompt]\nformat = "nope"\n')
    with pytest.raises(ConfigError, match="unknown prompt format 'nope'"):
        load_config(conf)
    conf.write_text('[model]\nspec = "openai:gpt-4o"\n[prompt]\nformat = "omnisq"\n')
    with pytest.raises(ConfigError, match="'omnisq'; did you mean 'omnisql'"):
        load_config(conf)
    help_text = CliRunner().invoke(cli, ["generate", "--help"]).output
    assert "--prompt, --prompt-format NAME|PATH" in help_text and "qwen2.5-coder" in help_text


def test_a_run_folder_from_before_formats_resumes_as_the_harness_format(tmp_path: Path) -> None:
    from harness.backends.base import parse_spec
    from harness.generation.run_config import check_same_config, resolve_tables
    from harness.generation.run_folder import RunDirError

    def tables(**prompt: str) -> dict:
        overrides = {"model.spec": "openai:gpt-4o", **{f"prompt.{k}": v for k, v in prompt.items()}}
        cfg = load_config(None, overrides)
        return resolve_tables(cfg, parse_spec(cfg.model.spec), [], None, None)

    old = tables()
    del old["prompt"]["format"], old["prompt"]["format_sha256"]
    check_same_config(tmp_path, old, tables(), resolved=False)
    with pytest.raises(RunDirError, match=r"prompt\.format "):
        check_same_config(tmp_path, old, tables(format="qwen2.5-coder", schema="keys"), False)


def test_retrieval_without_punkt_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nltk

    from harness.prompting import value_index

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    _forget_tokenizers()
    try:
        with pytest.raises(ConfigError, match=r"punkt_tab .* `harness prepare official-evaluator`"):
            value_index.ngrams("How many singers?")
    finally:
        _forget_tokenizers()


def test_a_format_file_is_recorded_by_content_not_location(tmp_path: Path) -> None:
    from harness.backends.base import parse_spec
    from harness.generation.run_config import check_same_config, resolve_tables
    from harness.generation.run_folder import RunDirError

    shipped = Path(__file__).parent.parent / "harness" / "prompting" / "formats" / "omnisql.toml"
    here, there = tmp_path / "a" / "mine.toml", tmp_path / "b" / "mine.toml"
    for path in (here, there):
        path.parent.mkdir()
        path.write_bytes(shipped.read_bytes())

    def tables(fmt: Path | str) -> dict:
        cfg = load_config(None, {"model.spec": "openai:gpt-4o", "prompt.format": str(fmt)})
        return resolve_tables(cfg, parse_spec(cfg.model.spec), [], None, None)

    first = tables(here)
    assert first["prompt"]["format"] == "omnisql" and first["prompt"]["format_file"] == str(here)
    assert "format_file" not in tables("omnisql")["prompt"]
    check_same_config(tmp_path, first, tables(there), resolved=False)  # moved, same bytes
    there.write_text(there.read_text().replace("Task Overview", "Task"))
    with pytest.raises(RunDirError, match="format_sha256"):
        check_same_config(tmp_path, first, tables(there), resolved=False)
