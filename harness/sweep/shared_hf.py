"""One loaded hf base model for all the cells of a task (adapters, prompts, shots differ).

Each cell still gets its own `HFBackend`, built on the shared model and tokenizer; adapters
are attached for the cell (peft injects LoRA layers into the base modules in place) and
removed again when the cell's backend closes (peft `unload`, without merging), so the next
cell sees the base model exactly as loaded.
"""

from __future__ import annotations

from typing import Any

import torch

from harness.backends.base import Backend, BackendOptions, ModelSpec, load_backend
from harness.backends.hf import HFBackend


class _SharedHFBackend(HFBackend):
    def __init__(self, owner: SharedBaseModels, key: tuple[Any, ...], *args: Any, **kw: Any):
        self._owner = owner
        self._key = key
        super().__init__(*args, **kw)

    def close(self) -> None:
        model = self.model
        if hasattr(model, "unload") and hasattr(model, "peft_config"):
            model = model.unload()
        self._owner.models[self._key] = (model, self.tokenizer)
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


class SharedBaseModels:
    """A BackendLoader: hf specs load their base model once, other specs load as usual."""

    def __init__(self) -> None:
        self.models: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        self.loads = 0  # how many times a base model was read from disk or the hub

    def __call__(self, spec: ModelSpec, options: BackendOptions) -> Backend:
        if spec.kind != "hf":
            return load_backend(spec, options)
        target = spec.target
        key = (target, options.revision, options.dtype, options.device_map)
        if key not in self.models:
            self.models[key] = HFBackend._load(target, options)
            self.loads += 1
        model, tokenizer = self.models[key]
        return _SharedHFBackend(self, key, target, options, model=model, tokenizer=tokenizer)

    def close(self) -> None:
        self.models.clear()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
