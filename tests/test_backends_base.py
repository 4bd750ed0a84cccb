"""The backend registry, the response cache, replay, prices, adapter specs and routing:
everything about backends that needs no model and no network."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from conftest_models import DATABASES

from harness.backends.adapters import parse_adapter, parse_adapters
from harness.backends.base import (
    REGISTRY,
    Backend,
    BackendOptions,
    Completion,
    Decoding,
    ModelSpec,
    Request,
    load_backend,
    parse_spec,
    register_backend,
)
from harness.backends.cache import CachedBackend, ResponseCache
from harness.backends.prices import cost_usd, price_for
from harness.errors import ConfigError
from harness.generation.routing import Router
from harness.prompting.schema import read_schema

REPO = Path(__file__).resolve().parent.parent


def test_core_imports_stay_torch_free() -> None:
    code = (
        "import sys\n"
        "import harness.backends.base, harness.backends.cache, harness.generation.routing\n"
        "import harness.backends.replay, harness.generation.generate, harness.config\n"
        "import harness.pipeline.bench, harness.pipeline.reproduce, harness.sweep.pipeline\n"
        "import harness.commands.generate, harness.commands.bench\n"
        "import harness.scoring.scorer, harness.scoring.spider.judge, harness.commands.score\n"
        "import harness.leaderboard.render, harness.report.publish, harness.diffing.diff\n"
        "import harness.report.html, harness.report.plots, harness.gate, harness.failures_export\n"
        "import harness.commands.gate, harness.commands.failures\n"
        "heavy = ('torch', 'transformers', 'peft', 'openai', 'anthropic')\n"
        "bad = [m for m in heavy if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_spec_parsing() -> None:
    assert parse_spec("openai:gpt-4o") == ModelSpec("openai", "gpt-4o")
    assert parse_spec("Qwen/Qwen2.5-Coder-7B") == ModelSpec("hf", "Qwen/Qwen2.5-Coder-7B")
    assert parse_spec("hf:./models/x") == ModelSpec("hf", "./models/x")
    assert parse_spec("replay:runs/a/p.jsonl") == ModelSpec("replay", "runs/a/p.jsonl")
    with pytest.raises(ConfigError, match="unknown backend 'opnai'"):
        parse_spec("opnai:gpt-4o")
    with pytest.raises(ConfigError, match="names no model"):
        parse_spec("openai:")


def test_missing_optional_dependency_is_one_clear_error() -> None:
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(
            ConfigError, match=r"needs the optional package 'vllm'.*harness\[vllm\]"
        ):
            load_backend(parse_spec("vllm:some/model"))
    else:
        pytest.skip("vllm is installed here")


class Counting(Backend):
    """A real (if trivial) backend for wrapper tests: answers with the request's own text."""

    kind = "counting"

    def __init__(self, target: str, options: BackendOptions) -> None:
        super().__init__(target, options)
        self.calls = 0

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        for i, r in enumerate(requests):
            self.calls += 1
            if "fail" in r.messages[-1]["content"]:
                yield i, Completion(error="boom", outage=True)
            else:
                yield (
                    i,
                    Completion(
                        text=f"SELECT '{r.messages[-1]['content']}'",
                        tokens_in=3,
                        tokens_out=2,
                        latency_s=0.5,
                        cost_usd=0.01,
                    ),
                )


def test_registry_takes_new_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    # The registry's table is restored after the test: "counting" is not for other tests.
    monkeypatch.setattr(REGISTRY, "_targets", dict(REGISTRY._targets))
    register_backend("counting", f"{__name__}:Counting")
    assert parse_spec("counting:x") == ModelSpec("counting", "x")
    assert isinstance(load_backend(parse_spec("counting:x")), Counting)


def _req(i: int, text: str, adapter: str | None = None, sample: int = 0) -> Request:
    return Request(str(i), i, ({"role": "user", "content": text},), adapter=adapter, sample=sample)


def test_cache_hits_misses_and_keys(tmp_path: Path) -> None:
    inner = Counting("m", BackendOptions())
    cached = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    reqs = [_req(0, "a"), _req(1, "b"), _req(2, "fail")]
    first = dict(cached.generate(reqs, Decoding()))
    assert inner.calls == 3 and not any(c.cached for c in first.values())
    again = dict(cached.generate(reqs, Decoding()))
    # clean answers come from the cache, with their original usage; outages are asked again
    assert inner.calls == 4
    assert again[0].cached and again[0].text == first[0].text and again[0].cost_usd == 0.01
    assert again[2].outage and not again[2].cached
    # any key part changing is a miss: decoding, sample index, routed adapter, model revision
    for variant, decoding in [
        (_req(0, "a"), Decoding(max_new_tokens=9)),
        (_req(0, "a", sample=1), Decoding()),
        (_req(0, "a", adapter="local"), Decoding()),
    ]:
        before = inner.calls
        list(cached.generate([variant], decoding))
        assert inner.calls == before + 1
    before = inner.calls
    list(cached.generate([_req(0, "a")], Decoding(batch_size=64)))  # batch size is not a key
    assert inner.calls == before
    inner.options.revision = "other"
    list(cached.generate([_req(0, "a")], Decoding()))
    assert inner.calls == before + 1
    cached.close()


def test_replay_jsonl_and_official_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "p.jsonl"
    rows = [
        {"id": "0", "sql": "SELECT 1", "raw_completion": "```sql\nSELECT 1\n```", "tokens_out": 4},
        {"id": "1", "sql": "", "outage": True, "error": "outage after 6 attempts"},
    ]
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"id": "2", "sq')  # torn
    backend = load_backend(parse_spec(f"replay:{jsonl}"))
    out = dict(backend.generate([_req(0, ""), _req(1, ""), _req(2, "")], Decoding()))
    assert out[0].sql == "SELECT 1" and out[0].tokens_out == 4
    assert out[1].outage
    assert out[2].error and "not in" in out[2].error
    lines = tmp_path / "pred.sql"
    lines.write_text("SELECT a FROM t\tconcert_singer\nSELECT b FROM u\n")
    backend = load_backend(parse_spec(f"replay:{lines}"))
    out = dict(backend.generate([_req(0, ""), _req(1, ""), _req(2, "")], Decoding()))
    assert out[0].sql == "SELECT a FROM t" and out[1].sql == "SELECT b FROM u"
    assert out[2].error
    with pytest.raises(ConfigError, match="does not take adapters"):
        load_backend(parse_spec(f"replay:{lines}"), BackendOptions(routes={"x": None}))


def test_prices() -> None:
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini") != price_for("gpt-4o")
    assert price_for("claude-sonnet-4-20250514") == price_for("claude-sonnet-4")
    assert price_for("some-new-model") is None and price_for("claude-opus-4-5") is None
    assert cost_usd("gpt-4o", 1_000_000, 100_000) == pytest.approx(2.5 + 1.0)
    assert cost_usd("unknown", 10, 10) is None


def _adapter_dir(path: Path, payload: str) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text('{"r": 4}')
    (path / "adapter_model.safetensors").write_text(payload)
    return path


def test_adapter_specs_hash_content_not_location(tmp_path: Path) -> None:
    a = _adapter_dir(tmp_path / "a", "weights-1")
    b = _adapter_dir(tmp_path / "elsewhere" / "b", "weights-1")
    c = _adapter_dir(tmp_path / "c", "weights-2")
    assert (
        parse_adapter(str(a)).sha256 == parse_adapter(str(b)).sha256 != parse_adapter(str(c)).sha256
    )
    assert parse_adapter(f"{a}@0.25").weight == 0.25 and parse_adapter(str(a)).weight is None
    both = parse_adapters([f"{a}@0.7", str(c)])
    assert [s.weight for s in both] == [0.7, 1.0]
    with pytest.raises(ConfigError, match="not a PEFT adapter"):
        parse_adapter(str(tmp_path))


def _db(path: Path, ddl: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    conn.close()
    return path


def test_router_classifies_without_labels(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    protos.mkdir()
    _db(protos / "shop_like.sqlite", DATABASES["shop"])
    local = _adapter_dir(tmp_path / "local", "L")
    routes = tmp_path / "ROUTES.toml"
    routes.write_text(
        'default = "public"\nmin_similarity = 0.5\n'
        '[routes.public]\nadapter = "base"\nbenchmarks = ["bird"]\n'
        f'[routes.local]\nadapter = "{local.name}"\nschemas = ["protos/*.sqlite"]\n'
        'db_ids = ["acme_*"]\n'
    )
    router = Router.from_file(routes)
    assert router.adapters()["public"] is None and router.adapters()["local"].path == local
    schemas = {
        db: read_schema(db, _db(tmp_path / f"{db}.sqlite", ddl)) for db, ddl in DATABASES.items()
    }
    shop = router.classify("spider", schemas["shop"])
    assert (shop.route, shop.confidence) == ("local", 1.0) and "shop_like.sqlite" in shop.reason
    singer = router.classify("spider", schemas["concert_singer"])
    assert singer.route == "public" and "default" in singer.reason and singer.confidence == 1.0
    assert router.classify("bird", schemas["school"]).reason == "benchmark family 'bird'"
    acme = read_schema("acme_sales", context="CREATE TABLE t (a INT);")
    assert router.classify("spider", acme).route == "local"
    # a schema partly like the prototype: similarity below 1, still above the threshold
    partial = read_schema(
        "shop2",
        context=DATABASES["shop"]
        .split("INSERT")[0]
        .replace("quantity INTEGER,", "quantity INTEGER, note TEXT,"),
    )
    decision = router.classify("spider", partial)
    assert decision.route == "local" and 0.5 <= decision.confidence < 1.0


def test_router_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "r.toml"
    bad.write_text('default = "x"\n[routes.a]\nadapter = "base"\n')
    with pytest.raises(ConfigError, match="default route 'x'"):
        Router.from_file(bad)
    bad.write_text('[routes.a]\nadapter = "base"\nschemas = ["nothing/*.sqlite"]\n')
    with pytest.raises(ConfigError, match="matches no file"):
        Router.from_file(bad)
    # a misspelt top-level key would otherwise be ignored without a word
    bad.write_text('min_similiarity = 0.9\n[routes.a]\nadapter = "base"\n')
    with pytest.raises(ConfigError, match=r"unknown key.*min_similiarity"):
        Router.from_file(bad)
    bad.write_text('min_similarity = "high"\n[routes.a]\nadapter = "base"\n')
    with pytest.raises(ConfigError, match="min_similarity must be a number"):
        Router.from_file(bad)


def test_unusable_cache_path_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot open the response cache"):
        ResponseCache(blocker / "responses.sqlite")


def test_hub_adapter_keeps_its_name_in_a_composition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.backends.adapters as adapters

    # Stands in for the hub download only; the spec parsing and hashing under test are real.
    local = _adapter_dir(tmp_path / "snapshot", "hub-weights")
    monkeypatch.setattr(adapters, "_from_hub", lambda repo_id: local)
    monkeypatch.chdir(tmp_path)
    specs = parse_adapters(["someone/sql-lora@0.6", f"{_adapter_dir(tmp_path / 'b', 'B')}@0.4"])
    assert specs[0].source == "someone/sql-lora" and specs[0].path == local
    assert [s.weight for s in specs] == [0.6, 0.4]
