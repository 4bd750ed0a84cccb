"""`vllm:<hub id or local path>`: vLLM's offline engine, with tensor parallelism and LoRA
requests (one adapter, or one per routed example). vLLM is imported only here, when a spec
asks for it; weighted compositions are peft-only (vLLM serves adapters, it does not merge them).

Samples: the requests for one example (same messages and adapter, samples s0 < s1 < ...)
become one vLLM request with `SamplingParams(n=len(group), seed=seed + s0)`, and its
`outputs[j]` is sample s_j, the way OmniSQL's infer.py asks for its 8 samples. A resumed
run asks only for the samples still missing, so those come from a group of another size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from vllm import LLM, SamplingParams
from vllm.lora.request import LoRARequest

from harness.backends.adapters import tree_sha256
from harness.backends.base import (
    AdapterSpec,
    Backend,
    BackendOptions,
    Completion,
    Decoding,
    Request,
    sample_groups,
)
from harness.backends.model_source import check_target
from harness.errors import ConfigError
from harness.prompting.templates import choose_mode, render


class VLLMBackend(Backend):
    kind = "vllm"
    supports_adapters = True

    def __init__(self, target: str, options: BackendOptions) -> None:
        super().__init__(target, options)
        if options.adapters and options.routes:
            # Both would claim LoRA id 1, and the hf backend refuses the mix too.
            raise ConfigError("use either adapters or a routes file, not both")
        if any(a.weight is not None for a in options.adapters) or len(options.adapters) > 1:
            raise ConfigError(
                "vllm: weighted adapter compositions are not supported; use the hf backend"
            )
        # vLLM reads a missing folder as a hub id; name the folder instead.
        check_target("vllm", target)
        adapters: list[AdapterSpec] = list(options.adapters) + [
            a for a in options.routes.values() if a is not None
        ]
        self.llm = LLM(
            model=target,
            revision=options.revision,
            dtype=options.dtype,
            tensor_parallel_size=options.tensor_parallel_size,
            enable_lora=bool(adapters),
            max_loras=max(1, len(adapters)),
            max_lora_rank=_allowed_rank(max([_lora_rank(a.path) for a in adapters], default=16)),
        )
        self.tokenizer = self.llm.get_tokenizer()
        # Hashing a local model directory reads every weight file: do it once.
        self._revision = (
            "sha256:" + tree_sha256(Path(target)) if Path(target).is_dir() else options.revision
        )
        try:
            self.mode = choose_mode(options.template, self.tokenizer, target)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        # vLLM identifies a LoRA by a positive integer id.
        self._lora: dict[str | None, LoRARequest | None] = {}
        if options.adapters:
            self._lora[None] = LoRARequest("adapter0", 1, str(options.adapters[0].path))
        for i, (route, adapter) in enumerate(sorted(options.routes.items()), start=1):
            self._lora[route] = LoRARequest(route, i, str(adapter.path)) if adapter else None

    @property
    def revision(self) -> str | None:
        return self._revision

    def template_id(self) -> str:
        if self.mode == "chat":
            return "chat\0" + str(self.tokenizer.chat_template)
        return "plain"

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        groups = sample_groups(requests)
        params = [
            SamplingParams(
                n=len(group),
                max_tokens=decoding.max_new_tokens,
                temperature=decoding.temperature,
                top_p=decoding.top_p,
                seed=decoding.seed + requests[group[0]].sample,
                ignore_eos=decoding.ignore_eos,
            )
            for group in groups
        ]
        # Token ids, encoded as the hf backend encodes them: a rendered chat template already
        # holds its special tokens, and text handed to vLLM would get a second BOS.
        special = self.mode != "chat"
        prompts = [
            {
                "prompt_token_ids": self.tokenizer(
                    render(requests[g[0]].messages, self.tokenizer, self.mode, requests[g[0]].text),
                    add_special_tokens=special,
                )["input_ids"]
            }
            for g in groups
        ]
        loras = [self._lora.get(requests[g[0]].adapter) for g in groups]
        # vLLM schedules the whole list itself (continuous batching); feed it in slices so
        # rows reach predictions.jsonl as they finish instead of all at the end.
        step = max(decoding.batch_size, 1) * 8
        for start in range(0, len(prompts), step):
            began = time.perf_counter()
            outputs = self.llm.generate(
                prompts[start : start + step],
                params[start : start + step],
                lora_request=loras[start : start + step] if any(loras) else None,
                use_tqdm=False,
            )
            n_done = sum(len(out.outputs) for out in outputs)
            share = (time.perf_counter() - began) / max(n_done, 1)
            for offset, out in enumerate(outputs):
                # CompletionOutput.index numbers the n outputs of one request.
                gens = sorted(out.outputs, key=lambda g: g.index)
                for position, gen in zip(groups[start + offset], gens, strict=True):
                    yield (
                        position,
                        Completion(
                            text=gen.text,
                            tokens_in=len(out.prompt_token_ids or []),
                            tokens_out=len(gen.token_ids),
                            latency_s=round(share, 5),
                        ),
                    )


# vLLM accepts only these max_lora_rank values (its LoRAConfig's MaxLoRARanks).
_VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def _allowed_rank(rank: int) -> int:
    return next((r for r in _VLLM_RANKS if r >= rank), rank)


def _lora_rank(path: Path) -> int:
    config = json.loads((Path(path) / "adapter_config.json").read_text(encoding="utf-8"))
    return int(config.get("r", 16))
