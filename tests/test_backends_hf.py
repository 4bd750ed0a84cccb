"""The hf backend on a tiny random Qwen2-style model loaded through the real `hf:` path:
templates, usage counts, LoRA adapters, weighted composition and per-example routing."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from conftest_models import TinyModel, tiny_model, tiny_spider_dir  # noqa: E402

from harness.backends.adapters import parse_adapter, parse_adapters  # noqa: E402
from harness.backends.base import (  # noqa: E402
    BackendOptions,
    Decoding,
    Request,
    load_backend,
    parse_spec,
)
from harness.config import load_config  # noqa: E402
from harness.generation.generate import generate  # noqa: E402
from harness.prompting.templates import build_messages  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> None:
    # Two shared cores: torch's default thread pool spins against other processes.
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny() -> TinyModel:
    return tiny_model()


QUESTIONS = ["How many singers are there?", "List all course titles.", "Total quantity?"]


def _requests(adapter: str | None = None) -> list[Request]:
    return [
        Request(str(i), i, build_messages("singer(name, age)", q), adapter=adapter)
        for i, q in enumerate(QUESTIONS)
    ]


def _texts(backend, decoding: Decoding, requests=None) -> list[str]:
    out = dict(backend.generate(requests or _requests(), decoding))
    return [out[i].text for i in range(len(out))]


def test_hf_backend_generates_with_usage(tiny: TinyModel) -> None:
    backend = load_backend(parse_spec(f"hf:{tiny.path}"))
    assert backend.mode == "chat"  # named like an instruct model and has a chat template
    assert backend.revision.startswith("sha256:") and backend.params > 10_000
    requests = _requests()
    out = dict(backend.generate(requests, Decoding(max_new_tokens=12, batch_size=2)))
    encoded = backend.encode(requests)
    for i in range(len(requests)):
        assert out[i].tokens_in == len(encoded[i])
        assert 1 <= out[i].tokens_out <= 12 and out[i].latency_s > 0
    assert len({out[i].text for i in out}) > 1  # answers depend on the prompt
    # left padding and length-sorted batches do not change greedy answers
    assert _texts(backend, Decoding(max_new_tokens=12, batch_size=1)) == [
        out[i].text for i in range(len(requests))
    ]
    rendered = backend.render(requests[0])
    assert rendered.startswith("<|im_start|>system\n") and rendered.endswith(
        "<|im_start|>assistant\n"
    )


def test_plain_template_for_base_models(tiny: TinyModel) -> None:
    backend = load_backend(parse_spec(f"hf:{tiny.path}"), BackendOptions(template="plain"))
    assert backend.template_id() == "plain"
    assert backend.render(_requests()[0]).endswith("Question: How many singers are there?\nSQL:")


def _last_logits(backend, prompt: str) -> torch.Tensor:
    ids = backend.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        return backend.model(**ids).logits[0, -1]


def test_single_lora_changes_logits_and_outputs(tiny: TinyModel) -> None:
    base = load_backend(parse_spec(f"hf:{tiny.path}"))
    lora = load_backend(
        parse_spec(f"hf:{tiny.path}"), BackendOptions(adapters=[parse_adapter(str(tiny.adapter_a))])
    )
    prompt = base.render(_requests()[0])
    assert not torch.allclose(_last_logits(base, prompt), _last_logits(lora, prompt), atol=1e-3)
    decoding = Decoding(max_new_tokens=10)
    assert _texts(base, decoding) != _texts(lora, decoding)


def _delta(layer, name: str) -> torch.Tensor:
    return layer.get_delta_weight(name)


def test_weighted_composition_is_the_weighted_sum_of_deltas(tiny: TinyModel) -> None:
    from transformers import AutoModelForCausalLM

    adapters = parse_adapters([f"{tiny.adapter_a}@0.7", f"{tiny.adapter_b}@0.3"])
    composed = load_backend(parse_spec(f"hf:{tiny.path}"), BackendOptions(adapters=adapters))
    layers = {
        name.removeprefix("base_model.model."): m
        for name, m in composed.model.named_modules()
        if hasattr(m, "lora_A") and "composed" in m.lora_A
    }
    assert layers, "no composed LoRA layer"
    # The composition the backend runs with: a plain model whose weights get 0.7 * delta A
    # + 0.3 * delta B added by hand must give the same logits (an inactive composition,
    # one adapter alone, or the bare base would not).
    reference = AutoModelForCausalLM.from_pretrained(tiny.path).eval()
    modules = dict(reference.named_modules())
    with torch.no_grad():
        for name, layer in layers.items():
            expected = 0.7 * _delta(layer, "adapter0") + 0.3 * _delta(layer, "adapter1")
            torch.testing.assert_close(_delta(layer, "composed"), expected, rtol=1e-4, atol=1e-6)
            modules[name].weight += expected
    prompt = composed.render(_requests()[1])
    ids = composed.tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        want = reference(**ids).logits[0, -1]
    got = _last_logits(composed, prompt)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    only_a = load_backend(
        parse_spec(f"hf:{tiny.path}"), BackendOptions(adapters=[parse_adapter(str(tiny.adapter_a))])
    )
    assert not torch.allclose(got, _last_logits(only_a, prompt), atol=1e-3)
    decoding = Decoding(max_new_tokens=10)
    assert _texts(composed, decoding) != _texts(only_a, decoding)


def test_composition_is_recorded_in_the_run_config(tiny: TinyModel, tmp_path: Path) -> None:
    _run(tmp_path, "c", **{"model.adapters": [f"{tiny.adapter_a}@0.7", f"{tiny.adapter_b}@0.3"]})
    model = tomllib.loads((tmp_path / "c" / "config.toml").read_text())["model"]
    want = [
        (parse_adapter(str(a)).sha256, w) for a, w in ((tiny.adapter_a, 0.7), (tiny.adapter_b, 0.3))
    ]
    assert [(a["sha256"], a["weight"]) for a in model["adapters"]] == want
    assert model["combination"] == "cat"


def _run(tmp: Path, name: str, **overrides) -> dict[str, dict]:
    base = {
        "model.spec": f"hf:{tiny_model().path}",
        "benchmark.data_dir": str(tiny_spider_dir()),
        "decoding.max_new_tokens": 10,
        "decoding.batch_size": 4,
        "run.cache": False,
    }
    cfg = load_config(None, {**base, **overrides})
    result = generate(cfg, tmp / name, progress=False)
    assert result.complete
    lines = (tmp / name / "predictions.jsonl").read_text().splitlines()
    return {r["id"]: r for r in map(json.loads, lines)}


def test_routing_sends_each_example_to_its_adapter_and_records_it(
    tiny: TinyModel, tmp_path: Path
) -> None:
    # The "local" route owns databases shaped like the shop and school schemas (label-free:
    # prototypes are databases, not labelled questions); everything else goes to "public".
    protos = tmp_path / "protos"
    protos.mkdir()
    for db in ("shop", "school"):
        src = tiny_spider_dir() / "database" / db / f"{db}.sqlite"
        (protos / f"{db}.sqlite").write_bytes(src.read_bytes())
    routes = tmp_path / "ROUTES.toml"
    routes.write_text(
        'default = "public"\n'
        f'[routes.public]\nadapter = "{tiny.adapter_a}"\n'
        f'[routes.local]\nadapter = "{tiny.adapter_b}"\nschemas = ["protos/*.sqlite"]\n'
    )
    routed = _run(tmp_path, "routed", **{"model.route": str(routes)})
    only_a = _run(tmp_path, "a", **{"model.adapters": [str(tiny.adapter_a)]})
    only_b = _run(tmp_path, "b", **{"model.adapters": [str(tiny.adapter_b)]})
    assert {r["route"] for r in routed.values()} == {"public", "local"}
    for row in routed.values():
        assert row["route"] == ("local" if row["db_id"] in ("shop", "school") else "public")
        assert row["route_reason"] and 0.0 <= row["route_confidence"] <= 1.0
        # mixed-adapter batches answer each row exactly as that adapter alone does
        same = only_b if row["route"] == "local" else only_a
        assert row["raw_completion"] == same[row["id"]]["raw_completion"]
    local_ids = [i for i, r in routed.items() if r["route"] == "local"]
    assert any(routed[i]["raw_completion"] != only_a[i]["raw_completion"] for i in local_ids)
    config = (tmp_path / "routed" / "config.toml").read_text()
    assert "route_sha256" in config and parse_adapter(str(tiny.adapter_b)).sha256 in config
