"""`hf:<hub id or local path>`: transformers generation, batched and left-padded, with PEFT
adapters: one LoRA, a weighted composition of several (peft `add_weighted_adapter`), or one
adapter per routed example (peft's mixed-adapter batches). Encoder-decoder checkpoints (T5)
load as `AutoModelForSeq2SeqLM` and take the plain prompt (they have no chat template).
Sampling (temperature > 0) is seeded per (prompt, sample), see hf_sampling. The only
modules that import torch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from harness.backends.adapters import tree_sha256
from harness.backends.base import Backend, BackendOptions, Completion, Decoding, Request
from harness.backends.hf_sampling import RowSeededSampler, row_seed
from harness.backends.model_source import check_target, offline_message
from harness.errors import ConfigError
from harness.prompting.templates import choose_mode, render

_DTYPES = {
    "auto": "auto",
    "bf16": torch.bfloat16,
    "bfloat16": torch.bfloat16,
    "fp16": torch.float16,
    "float16": torch.float16,
    "fp32": torch.float32,
    "float32": torch.float32,
}
_BASE_ADAPTER = "__base__"  # peft's name for "no adapter" in a mixed batch
_COMPOSED = "composed"


def _dtype(name: str) -> Any:
    try:
        return _DTYPES[name.lower()]
    except KeyError:
        raise ConfigError(f"unknown dtype {name!r}; known: {', '.join(_DTYPES)}") from None


class HFBackend(Backend):
    kind = "hf"
    supports_adapters = True

    def __init__(
        self,
        target: str,
        options: BackendOptions,
        *,
        model: Any = None,
        tokenizer: Any = None,
    ) -> None:
        """`model`/`tokenizer` given: use these in-memory objects (throughput benchmarks)."""
        super().__init__(target, options)
        if options.adapters and options.routes:
            raise ConfigError("use either adapters or a routes file, not both")
        if model is None or tokenizer is None:
            model, tokenizer = self._load(target, options)
        self.tokenizer = tokenizer
        self.encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
        # A decoder-only model continues the prompt, so pads go left; an encoder reads the
        # whole (masked) input and T5 was trained with pads on the right.
        self.tokenizer.padding_side = "right" if self.encoder_decoder else "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._params = sum(p.numel() for p in model.parameters())
        self._revision = self._resolve_revision(target, model, options)
        try:
            self.mode = choose_mode(options.template, tokenizer, target)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if self.encoder_decoder:
            if self.mode == "chat":
                raise ConfigError(f"hf:{target}: an encoder-decoder model has no chat template")
            # An encoder reads its input whole: no chat template, no "SQL:" to continue.
            self.mode = "text2text"
        self._route_names: dict[str, str] = {}
        self.model = self._attach_adapters(model, options)
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            eos_ids.add(self.tokenizer.eos_token_id)
        self.eos_ids = eos_ids

    @staticmethod
    def _load(target: str, options: BackendOptions) -> tuple[Any, Any]:
        device_map = options.device_map
        if device_map is None and torch.cuda.is_available():
            device_map = "auto"
        cache_only = check_target("hf", target)
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                target, revision=options.revision, local_files_only=cache_only
            )
            config = AutoConfig.from_pretrained(
                target, revision=options.revision, local_files_only=cache_only
            )
            auto = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
            model = auto.from_pretrained(
                target,
                revision=options.revision,
                dtype=_dtype(options.dtype),
                device_map=device_map,
                local_files_only=cache_only,
            )
        except OSError as exc:
            if cache_only:
                raise ConfigError(offline_message("hf", target)) from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"hf:{target}: cannot load model: {first}") from None
        return model, tokenizer

    @staticmethod
    def _resolve_revision(target: str, model: Any, options: BackendOptions) -> str | None:
        commit = getattr(model.config, "_commit_hash", None)
        if commit:
            return commit
        if Path(target).is_dir():
            return "sha256:" + tree_sha256(Path(target))
        return options.revision

    def _attach_adapters(self, model: Any, options: BackendOptions) -> Any:
        if not options.adapters and not any(options.routes.values()):
            return model
        try:
            from peft import PeftModel
        except ModuleNotFoundError:
            raise ConfigError(
                "adapters and routes need the Python package 'peft' (pip install 'harness[hf]')"
            ) from None

        peft_model = None

        def load(path: Path, name: str) -> None:
            nonlocal peft_model
            if peft_model is None:
                peft_model = PeftModel.from_pretrained(model, str(path), adapter_name=name)
            else:
                peft_model.load_adapter(str(path), adapter_name=name)

        if options.routes:
            # Route names come from TOML keys; peft adapter names must be plain identifiers.
            for i, (route, adapter) in enumerate(sorted(options.routes.items())):
                if adapter is None:
                    self._route_names[route] = _BASE_ADAPTER
                else:
                    self._route_names[route] = f"route{i}"
                    load(adapter.path, f"route{i}")
            return peft_model
        if len(options.adapters) == 1 and options.adapters[0].weight is None:
            load(options.adapters[0].path, "adapter0")
            return peft_model
        names = []
        for i, adapter in enumerate(options.adapters):
            load(adapter.path, f"adapter{i}")
            names.append(f"adapter{i}")
        assert peft_model is not None
        try:
            peft_model.add_weighted_adapter(
                adapters=names,
                weights=[a.weight for a in options.adapters],
                adapter_name=_COMPOSED,
                combination_type=options.combination,
            )
        except ValueError as exc:  # unknown combination type, or ranks it cannot combine
            raise ConfigError(f"adapter composition ({options.combination}): {exc}") from None
        peft_model.set_adapter(_COMPOSED)
        return peft_model

    @property
    def revision(self) -> str | None:
        return self._revision

    @property
    def params(self) -> int | None:
        return self._params

    def template_id(self) -> str:
        if self.mode == "chat":
            return "chat\0" + str(self.tokenizer.chat_template)
        return self.mode

    def render(self, request: Request) -> str:
        if self.mode == "text2text":
            return "\n\n".join(m["content"] for m in request.messages)
        return render(request.messages, self.tokenizer, self.mode, request.text)

    def _device(self) -> Any:
        return next(self.model.parameters()).device

    def _adapter_names(self, batch: Sequence[Request]) -> list[str] | None:
        if not self._route_names:
            return None
        names = []
        for r in batch:
            if r.adapter not in self._route_names:
                raise ConfigError(f"request {r.id}: unknown route {r.adapter!r}")
            names.append(self._route_names[r.adapter])
        return names

    def _decode(self, ids: list[int]) -> tuple[str, int]:
        """Text up to the first end-of-sequence token, and the generated-token count."""
        for n, tok in enumerate(ids):
            if tok in self.eos_ids:
                return self.tokenizer.decode(ids[:n], skip_special_tokens=True), n + 1
        return self.tokenizer.decode(ids, skip_special_tokens=True), len(ids)

    @torch.inference_mode()
    def _generate_batch(
        self, batch: Sequence[Request], encoded: Sequence[list[int]], decoding: Decoding
    ) -> list[Completion]:
        padded = self.tokenizer.pad({"input_ids": list(encoded)}, return_tensors="pt")
        device = self._device()
        input_ids = padded["input_ids"].to(device)
        attention_mask = padded["attention_mask"].to(device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": decoding.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": False,
            # Clear any sampling defaults the model's generation_config ships with: greedy
            # is greedy, and sampling happens in RowSeededSampler with exactly these params.
            "temperature": None,
            "top_p": None,
            "top_k": None,
        }
        if decoding.temperature > 0:
            seeds = [row_seed(decoding.seed, r) for r in batch]
            kwargs["logits_processor"] = [
                RowSeededSampler(seeds, decoding.temperature, decoding.top_p, device)
            ]
        if decoding.ignore_eos:
            kwargs["min_new_tokens"] = decoding.max_new_tokens
        adapter_names = self._adapter_names(batch)
        if adapter_names is not None:
            kwargs["adapter_names"] = adapter_names
        start = time.perf_counter()
        out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        share = (time.perf_counter() - start) / len(batch)
        completions = []
        # A decoder-only output repeats the prompt; an encoder-decoder one starts with the
        # decoder start token.
        skip = 1 if self.encoder_decoder else input_ids.shape[1]
        for row, ids in zip(out[:, skip:].tolist(), encoded, strict=True):
            text, n_out = self._decode(row)
            completions.append(
                Completion(
                    text=text, tokens_in=len(ids), tokens_out=n_out, latency_s=round(share, 5)
                )
            )
        return completions

    def encode(self, requests: Sequence[Request]) -> list[list[int]]:
        # A chat template already writes its special tokens; a plain prompt gets the
        # tokenizer's usual ones (e.g. BOS).
        special = self.mode != "chat"
        return [
            self.tokenizer(self.render(r), add_special_tokens=special)["input_ids"]
            for r in requests
        ]

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        """Batches of similar length (longest first, so an out-of-memory shows at once);
        latency_s is each row's share of its batch's wall time."""
        if decoding.batch_size < 1:
            raise ConfigError("batch_size must be at least 1")
        encoded = self.encode(requests)
        order = sorted(range(len(requests)), key=lambda i: (-len(encoded[i]), i))
        for start in range(0, len(order), decoding.batch_size):
            chunk = order[start : start + decoding.batch_size]
            completions = self._generate_batch(
                [requests[i] for i in chunk], [encoded[i] for i in chunk], decoding
            )
            yield from zip(chunk, completions, strict=True)

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
