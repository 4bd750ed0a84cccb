"""One small interface every way of getting completions implements, and the registry that
finds a backend by the prefix of a model spec ("hf:", "vllm:", "openai:", ...).

The shape follows lm-evaluation-harness's `LM` + model registry: a backend is named by a
short key, its module is imported only when a spec asks for it (so `import harness.backends.base`
never pulls in torch or an SDK), and the run loop sees nothing but `generate`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.config import DecodingConfig, ModelConfig, PromptConfig, RunOptions
from harness.errors import ConfigError, HarnessError
from harness.registry import Registry, subclass_of

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


class BackendError(HarnessError):
    """A backend cannot run at all (bad credentials, unknown model, missing dependency)."""


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; everything here can change a completion."""

    # The defaults are the run config's (written once, in harness/config.py).
    max_new_tokens: int = DecodingConfig.max_new_tokens
    temperature: float = DecodingConfig.temperature
    top_p: float = DecodingConfig.top_p
    seed: int = DecodingConfig.seed
    batch_size: int = DecodingConfig.batch_size
    # Generate exactly max_new_tokens (throughput measurement, as vLLM's ignore_eos).
    ignore_eos: bool = False

    def cache_params(self) -> dict[str, Any]:
        """What keys the response cache (batch size is a throughput knob, not a request field)."""
        return {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            "ignore_eos": self.ignore_eos,
        }


@dataclass(frozen=True)
class Request:
    """One prompt. `index` is the example's position in its split (replay of line files);
    `adapter` names a routed adapter (None: the backend's configured default); `text` is
    the prompt format's base-model text (None: derived from the messages)."""

    id: str
    index: int
    messages: tuple[Message, ...]
    adapter: str | None = None
    sample: int = 0  # which of the example's --samples N completions (0..N-1)
    text: str | None = None


@dataclass
class Completion:
    """What a backend returns for one request.

    `outage` means the provider failed after every retry: not the model's answer, so the
    row is not scored and a rerun retries it. `error` alone is a model-side failure (e.g.
    the prompt is longer than the context) and counts as a wrong answer.
    `sql` is set only by backends that already hold the final SQL (replay).
    """

    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    outage: bool = False
    sql: str | None = None
    cached: bool = False

    @property
    def cacheable(self) -> bool:
        return self.error is None and not self.outage


@dataclass(frozen=True)
class AdapterSpec:
    """A PEFT adapter directory; `weight` None means "use as is" (a plain single LoRA)."""

    path: Path
    weight: float | None = None
    sha256: str = ""
    source: str = ""  # what the user named, when not the local path (a hub id)


@dataclass
class BackendOptions:
    """Everything a backend may need besides its target; each backend checks what applies."""

    # The defaults are the run config's (written once, in harness/config.py).
    revision: str | None = None
    dtype: str = ModelConfig.dtype
    device_map: str | None = None
    adapters: list[AdapterSpec] = field(default_factory=list)
    combination: str = ModelConfig.combination
    # Route name -> adapter (None = the base model), when a ROUTES.toml is in use.
    routes: dict[str, AdapterSpec | None] = field(default_factory=dict)
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = RunOptions.concurrency
    max_retries: int = RunOptions.max_retries
    retry_base_s: float = RunOptions.retry_base_s
    timeout_s: float = RunOptions.timeout_s
    tensor_parallel_size: int = RunOptions.tensor_parallel_size
    template: str = PromptConfig.template  # auto | chat | plain (local models only)


class Backend(ABC):
    """A way of turning prompts into completions.

    Subclasses set `kind` (the registry key), read what they need from `options`, and
    implement `generate`, which may yield completions in any order (as they finish).
    """

    kind: ClassVar[str] = ""
    uses_prompts: ClassVar[bool] = True
    supports_adapters: ClassVar[bool] = False
    # False where answers are not worth caching (replay reads them from a file anyway).
    cache_responses: ClassVar[bool] = True
    tier: ClassVar[str] = "open"
    # True where temperature 0 is deterministic, so several samples there would be copies.
    samples_need_temperature: ClassVar[bool] = True

    def __init__(self, target: str, options: BackendOptions) -> None:
        self.target = target
        self.options = options
        if not self.supports_adapters and (options.adapters or options.routes):
            raise ConfigError(f"backend {self.kind!r} does not take adapters or routes")

    @abstractmethod
    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        """Yield (position in `requests`, completion) once for every request."""

    @property
    def revision(self) -> str | None:
        return self.options.revision

    @property
    def params(self) -> int | None:
        """Parameter count of the base model, when the backend can know it."""
        return None

    def template_id(self) -> str:
        """Text that decides how messages become the model's input (hashed into provenance)."""
        return "messages"

    def identity(self) -> dict[str, Any]:
        """What makes two backends answer the same request the same way (cache key part)."""
        return {
            "backend": self.kind,
            "model": self.target,
            "revision": self.revision,
            "adapters": [[a.sha256, a.weight] for a in self.options.adapters],
            "combination": self.options.combination if self.options.adapters else None,
            "routes": {
                name: (a.sha256 if a else None) for name, a in sorted(self.options.routes.items())
            },
            "template": self.template_id(),
        }

    def close(self) -> None:  # noqa: B027 - optional hook; most backends hold nothing
        """Release what the backend holds (threads, GPU memory)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sample_groups(requests: Sequence[Request]) -> list[list[int]]:
    """Positions of the requests that differ only by sample index, each group in sample
    order, groups in order of first appearance (for backends that draw n samples at once)."""
    groups: dict[tuple[str, str | None, str], list[int]] = {}
    for i, r in enumerate(requests):
        key = (r.id, r.adapter, json.dumps(r.messages, ensure_ascii=False, sort_keys=True))
        groups.setdefault(key, []).append(i)
    return [sorted(g, key=lambda i: requests[i].sample) for g in groups.values()]


# Registry key -> "module:Class"; imported only when a spec names it, so a missing optional
# dependency (torch, vllm, an SDK) only matters to the backend that needs it (the registry
# names the extra to install, from harness/extras.py).
REGISTRY: Registry[type[Backend]] = Registry(
    "backend",
    {
        "hf": "harness.backends.hf:HFBackend",
        "vllm": "harness.backends.vllm:VLLMBackend",
        "openai": "harness.backends.openai_api:OpenAIBackend",
        "anthropic": "harness.backends.anthropic_api:AnthropicBackend",
        "replay": "harness.backends.replay:ReplayBackend",
    },
    subclass_of(Backend),
    "a Backend class",
)
# Add a backend from outside this package: register_backend("kind", "module:Class").
register_backend = REGISTRY.register

DEFAULT_KIND = "hf"


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: the backend's registry key and what it loads ("kind:target")."""

    kind: str
    target: str

    @property
    def backend_class(self) -> type[Backend]:
        return REGISTRY.get(self.kind)


def parse_spec(spec: str) -> ModelSpec:
    """Split "kind:target"; a bare hub id or local path means the hf backend."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty model spec")
    kind, sep, target = spec.partition(":")
    if sep and kind in REGISTRY:
        if not target:
            raise ConfigError(f"model spec {spec!r} names no model after {kind!r}")
        return ModelSpec(kind, target)
    # Hub ids never contain ":"; an unknown prefix is almost surely a typo, unless the
    # whole spec is an existing local path.
    if sep and not Path(spec).exists():
        raise ConfigError(f"{REGISTRY.unknown(kind)} in model spec {spec!r}")
    return ModelSpec(DEFAULT_KIND, spec)


def load_backend(spec: ModelSpec, options: BackendOptions | None = None) -> Backend:
    return spec.backend_class(spec.target, options or BackendOptions())
