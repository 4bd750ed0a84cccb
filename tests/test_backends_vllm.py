"""The vLLM backend, where vLLM and a GPU exist (skipped otherwise): the same tiny model and
adapters as the hf tests, through `vllm:` and its LoRA requests."""

from __future__ import annotations

import pytest

pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

from conftest_models import tiny_model  # noqa: E402

from harness.backends.adapters import parse_adapter  # noqa: E402
from harness.backends.base import (  # noqa: E402
    BackendOptions,
    Decoding,
    Request,
    load_backend,
    parse_spec,
)
from harness.errors import ConfigError  # noqa: E402
from harness.prompting.templates import build_messages  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="vLLM needs a CUDA device"),
]


def _requests(adapter: str | None = None) -> list[Request]:
    questions = ["How many singers are there?", "List all course titles."]
    return [
        Request(str(i), i, build_messages("singer(name)", q), adapter=adapter)
        for i, q in enumerate(questions)
    ]


def test_vllm_matches_hf_greedy_and_takes_a_lora() -> None:
    model = tiny_model()
    decoding = Decoding(max_new_tokens=8)
    vllm_base = load_backend(parse_spec(f"vllm:{model.path}"), BackendOptions(dtype="float32"))
    hf_base = load_backend(parse_spec(f"hf:{model.path}"), BackendOptions(dtype="float32"))
    got = dict(vllm_base.generate(_requests(), decoding))
    want = dict(hf_base.generate(_requests(), decoding))
    assert [got[i].text for i in sorted(got)] == [want[i].text for i in sorted(want)]
    # the same prompt tokens as the hf backend (no second BOS from vLLM's own encoding)
    assert [got[i].tokens_in for i in sorted(got)] == [want[i].tokens_in for i in sorted(want)]
    assert all(1 <= got[i].tokens_out <= 8 for i in got)
    del vllm_base

    lora = load_backend(
        parse_spec(f"vllm:{model.path}"),
        BackendOptions(dtype="float32", adapters=[parse_adapter(str(model.adapter_a))]),
    )
    with_lora = dict(lora.generate(_requests(), decoding))
    assert [with_lora[i].text for i in sorted(with_lora)] != [got[i].text for i in sorted(got)]


def test_vllm_refuses_weighted_compositions() -> None:
    model = tiny_model()
    spec = parse_adapter(f"{model.adapter_a}@0.5")
    with pytest.raises(ConfigError, match="weighted"):
        load_backend(parse_spec(f"vllm:{model.path}"), BackendOptions(adapters=[spec]))


def test_vllm_draws_an_examples_samples_as_one_request_with_n() -> None:
    model = tiny_model()
    backend = load_backend(parse_spec(f"vllm:{model.path}"), BackendOptions(dtype="float32"))
    first = build_messages("singer(name)", "How many singers are there?")
    second = build_messages("course(title)", "List all course titles.")
    requests = [Request("0", 0, first, sample=k) for k in range(4)]
    requests.append(Request("1", 1, second, sample=0))
    decoding = Decoding(max_new_tokens=8, temperature=1.0, seed=3)
    got = dict(backend.generate(requests, decoding))
    assert sorted(got) == list(range(5))
    assert len({got[k].text for k in range(4)}) > 1  # four samples, not four copies
    again = dict(backend.generate(requests, decoding))  # seeded: the same samples again
    assert [again[i].text for i in range(5)] == [got[i].text for i in range(5)]
