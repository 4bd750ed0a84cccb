"""The OpenAI and Anthropic backends through their official SDKs, against loopback servers
speaking each wire format: success, 429 then success, 500, timeout, malformed body, client
errors; bounded concurrency; outages that a rerun retries; the cache; keys never written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest_models import tiny_spider_dir
from loopback_api import LoopbackAPI, answer_for

from harness.backends.base import (
    BackendError,
    BackendOptions,
    Decoding,
    Request,
    load_backend,
    parse_spec,
)
from harness.config import load_config
from harness.errors import DataError
from harness.generation.generate import generate

pytest.importorskip("openai")
pytest.importorskip("anthropic")

MODELS = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-haiku-4-5-20251001"}
SECRET = "sk-loopback-SECRET-do-not-write-0123456789"


@pytest.fixture(params=["openai", "anthropic"])
def api(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackAPI]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    server = LoopbackAPI(request.param, timeout_sleep_s=1.0)
    yield server
    server.close()


def _backend(api: LoopbackAPI, **options):
    defaults = dict(
        base_url=api.base_url, max_retries=2, retry_base_s=0.01, timeout_s=0.3, concurrency=4
    )
    return load_backend(parse_spec(MODELS[api.wire]), BackendOptions(**{**defaults, **options}))


def _req(i: int, question: str) -> Request:
    messages = (
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": f"Database schema:\nt(a)\n\nQuestion: {question}"},
    )
    return Request(str(i), i, messages)


def _one(api: LoopbackAPI, question: str, **options):
    return dict(_backend(api, **options).generate([_req(0, question)], Decoding()))[0]


def test_success_carries_text_usage_latency_cost(api: LoopbackAPI) -> None:
    c = _one(api, "q-ok")
    assert c.text == answer_for("q-ok") and not c.error and not c.outage
    assert c.tokens_in > 0 and c.tokens_out == len(c.text) // 4
    assert c.latency_s > 0 and c.cost_usd is not None and c.cost_usd > 0
    sent = api.requests[0]
    assert sent["auth"] and SECRET in sent["auth"]  # the SDK sent the key from the environment
    if api.wire == "anthropic":
        assert sent["path"] == "/v1/messages" and sent["body"]["system"] == "be brief"
        assert "temperature" not in sent["body"]  # the SDK's API version rejects it
    else:
        assert sent["path"] == "/v1/chat/completions" and sent["body"]["temperature"] == 0.0


def test_429_then_success_is_retried(api: LoopbackAPI) -> None:
    api.fail("q-busy", "429")
    c = _one(api, "q-busy")
    assert c.text == answer_for("q-busy") and not c.outage
    assert api.calls_for("q-busy") == 2


@pytest.mark.parametrize("failure", ["500", "timeout", "malformed"])
def test_persistent_transient_failure_is_an_outage(api: LoopbackAPI, failure: str) -> None:
    api.fail("q-down", *[failure] * 3)
    c = _one(api, "q-down")
    assert c.outage and c.error.startswith("outage after 3 attempts") and c.text == ""
    assert api.calls_for("q-down") == 3


def test_malformed_once_then_fine(api: LoopbackAPI) -> None:
    api.fail("q-garbled", "malformed")
    c = _one(api, "q-garbled")
    assert not c.outage and c.text == answer_for("q-garbled")


def test_client_error_is_a_model_error_not_an_outage(api: LoopbackAPI) -> None:
    api.fail("q-long", "400")
    c = _one(api, "q-long")
    assert c.error and "400" in c.error and not c.outage
    assert api.calls_for("q-long") == 1  # a 400 is not retried


def test_bad_credentials_stop_the_run(api: LoopbackAPI) -> None:
    api.default_action = "401"
    with pytest.raises(BackendError, match="401"):
        _one(api, "q-any")


def test_a_bug_here_is_raised_not_recorded_as_a_model_error(
    api: LoopbackAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _backend(api)

    def broken_read(response: object) -> tuple[str, int, int]:
        raise KeyError("a bug in reading the response")

    monkeypatch.setattr(backend, "read", broken_read)
    with pytest.raises(KeyError):
        dict(backend.generate([_req(0, "q-bug")], Decoding()))
    assert api.calls_for("q-bug") == 1  # nor retried as if the provider had failed
    backend.close()
    assert backend.client.is_closed()


def test_concurrency_is_bounded(api: LoopbackAPI) -> None:
    api.delay_s = 0.02
    api.hold_until_in_flight = 2  # a client that sends one at a time never gets past 1
    backend = _backend(api, concurrency=3)
    out = dict(backend.generate([_req(i, f"q{i}") for i in range(12)], Decoding()))
    assert sorted(out) == list(range(12))
    assert all(out[i].text == answer_for(f"q{i}") for i in range(12))  # each row its own answer
    assert 1 < api.max_in_flight <= 3


def test_missing_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import ConfigError

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"\$OPENAI_API_KEY"):
        load_backend(parse_spec("openai:gpt-4o"))
    monkeypatch.setenv("MY_GATEWAY_KEY", "key-from-my-variable")
    backend = load_backend(
        parse_spec("openai:gpt-4o"), BackendOptions(api_key_env="MY_GATEWAY_KEY")
    )
    assert backend.client.api_key == "key-from-my-variable"


# ---------------------------------------------------------------- through the run folder


def _cfg(api: LoopbackAPI, cache: Path, **extra):
    overrides = {
        "model.spec": MODELS[api.wire],
        "model.base_url": api.base_url,
        "benchmark.data_dir": str(tiny_spider_dir()),
        "run.max_retries": 1,
        "run.retry_base_s": 0.01,
        "run.timeout_s": 0.3,
        "run.concurrency": 4,
        "run.cache_path": str(cache),
        **extra,
    }
    return load_config(None, overrides)


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]


def test_outages_leave_run_incomplete_and_rerun_retries_only_them(
    api: LoopbackAPI, tmp_path: Path
) -> None:
    api.fail("How many singers", "500", "500")
    api.fail("most expensive", "timeout", "timeout")
    run = tmp_path / "run"
    result = generate(_cfg(api, tmp_path / "cache.sqlite"), run, progress=False)
    assert not result.complete and result.outages == 2 and result.n_done == result.n_total - 2
    assert "INCOMPLETE: 2 row(s)" in result.message()
    rows = _rows(run)
    outage = [r for r in rows if r["outage"]]
    assert len(outage) == 2 and all(r["sql"] == "" and r["error"] for r in outage)
    answered = [r for r in rows if not r["outage"]]
    assert all(r["sql"] == f"SELECT '{r['question']}' AS q" for r in answered)
    assert all(r["cost_usd"] > 0 and r["tokens_in"] > 0 for r in answered)

    before = len(api.requests)
    again = generate(_cfg(api, tmp_path / "cache.sqlite"), run, progress=False)
    retried = [r["question"] for r in api.requests[before:]]
    assert sorted(retried) == sorted(r["question"] for r in outage)
    assert again.complete and again.n_new == 2
    final = _rows(run)
    assert [r["id"] for r in final] == [str(i) for i in range(len(final))]  # split order, no dupes
    assert not any(r["outage"] for r in final)
    _assert_key_written_nowhere(tmp_path)


def test_few_shot_prompts_through_the_run(api: LoopbackAPI, tmp_path: Path) -> None:
    cfg = _cfg(api, tmp_path / "cache.sqlite", **{"prompt.shots": 2, "prompt.shots_from": "dev"})
    assert generate(cfg, tmp_path / "run", progress=False).complete
    dev = json.loads((tiny_spider_dir() / "dev.json").read_text())
    assert len(api.requests) == len(dev)
    for sent in api.requests:
        turns = [m for m in sent["body"]["messages"] if m["role"] != "system"]
        assert [m["role"] for m in turns] == ["user", "assistant"] * 2 + ["user"]
        asked = turns[-1]["content"]
        for demo, answer in zip(turns[0:4:2], turns[1:4:2], strict=True):
            q = demo["content"].rsplit("Question: ", 1)[1]
            gold = next(d for d in dev if d["question"] == q)
            assert not asked.endswith("Question: " + q)  # never the question itself
            assert answer["content"] == f"```sql\n{gold['query']}\n```"
            # each demonstration shows the schema of its own database
            table = {"concert_singer": "singer", "shop": "product", "school": "student"}
            assert f"\n{table[gold['db_id']]}(" in demo["content"]
    # the default pool "train" is no Spider file: one clear error naming the option
    bad = _cfg(api, tmp_path / "cache.sqlite", **{"prompt.shots": 1})
    with pytest.raises(DataError, match=r"--shots-from 'train'.*train_spider"):
        generate(bad, tmp_path / "bad", progress=False)


def test_cache_makes_a_rerun_free_and_no_cache_bypasses_it(
    api: LoopbackAPI, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    first = generate(_cfg(api, cache), tmp_path / "one", progress=False)
    n = len(api.requests)
    assert first.complete and n == first.n_total
    second = generate(_cfg(api, cache), tmp_path / "two", progress=False)
    assert len(api.requests) == n and second.cached == second.n_total  # nothing sent
    strip = ("latency_s", "cached")
    assert [{k: v for k, v in r.items() if k not in strip} for r in _rows(tmp_path / "two")] == [
        {k: v for k, v in r.items() if k not in strip} for r in _rows(tmp_path / "one")
    ]
    generate(_cfg(api, cache, **{"run.cache": False}), tmp_path / "three", progress=False)
    assert len(api.requests) == 2 * n

    _assert_key_written_nowhere(tmp_path)


def _assert_key_written_nowhere(folder: Path) -> None:
    """The key reached the server (checked above), but no file written here holds it: run
    folders, the response cache (under `folder` in these tests), SQLite journals."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
