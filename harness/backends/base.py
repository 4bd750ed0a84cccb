"""One small interface every way of getting completions implements, and the registry that
finds a backend by the prefix of a model spec ("hf:", "vllm:", "openai:", ...).

The shape follows lm-evaluation-harness's `LM` + model registry: a backend is named by a
short key, its module is imported only when a spec asks for it (so `import harness.backends.base`
never pulls in torch or an SDK), and the run loop sees nothing but `generate`.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from harness.errors import ConfigError, HarnessError

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


class BackendError(HarnessError):
    """A backend cannot run at all (bad credentials, unknown model, missing dependency)."""


@dataclass(frozen=True)
class Decoding:
    """Decoding parameters; everything here can change a completion."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
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

    revision: str | None = None
    dtype: str = "auto"
    device_map: str | None = None
    adapters: list[AdapterSpec] = field(default_factory=list)
    combination: str = "cat"
    # Route name -> adapter (None = the base model), when a ROUTES.toml is in use.
    routes: dict[str, AdapterSpec | None] = field(default_factory=dict)
    base_url: str | None = None
    api_key_env: str | None = None
    concurrency: int = 8
    max_retries: int = 5
    retry_base_s: float = 1.0
    timeout_s: float = 120.0
    tensor_parallel_size: int = 1
    template: str = "auto"  # auto | chat | plain (local models only)


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
# dependency (torch, vllm, an SDK) only matters to the backend that needs it.
REGISTRY: dict[str, str] = {
    "hf": "harness.backends.hf:HFBackend",
    "vllm": "harness.backends.vllm:VLLMBackend",
    "openai": "harness.backends.openai_api:OpenAIBackend",
    "anthropic": "harness.backends.anthropic_api:AnthropicBackend",
    "replay": "harness.backends.replay:ReplayBackend",
}

# Which pip extra provides each backend's dependencies (for the error message).
EXTRAS: dict[str, str] = {"hf": "hf", "vllm": "vllm", "openai": "api", "anthropic": "api"}

DEFAULT_KIND = "hf"


def register_backend(kind: str, target: str) -> None:
    """Add a backend from outside this package: `target` is "module:Class"."""
    REGISTRY[kind] = target


def parse_spec(spec: str) -> tuple[str, str]:
    """Split "kind:target"; a bare hub id or local path means the hf backend."""
    spec = spec.strip()
    if not spec:
        raise ConfigError("empty model spec")
    kind, sep, target = spec.partition(":")
    if sep and kind in REGISTRY:
        if not target:
            raise ConfigError(f"model spec {spec!r} names no model after {kind!r}")
        return kind, target
    # Hub ids never contain ":"; an unknown prefix is almost surely a typo, unless the
    # whole spec is an existing local path.
    if sep and not Path(spec).exists():
        raise ConfigError(
            f"unknown backend {kind!r} in model spec {spec!r}; known: {', '.join(sorted(REGISTRY))}"
        )
    return DEFAULT_KIND, spec


def backend_class(kind: str) -> type[Backend]:
    if kind not in REGISTRY:
        raise ConfigError(f"unknown backend {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    module_name, _, class_name = REGISTRY[kind].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and not exc.name.startswith("harness"):
            extra = EXTRAS.get(kind)
            hint = f" (pip install 'harness[{extra}]')" if extra else ""
            raise ConfigError(
                f"backend {kind!r} needs the Python package {exc.name!r}, "
                f"which is not installed{hint}"
            ) from None
        raise
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ConfigError(f"backend {kind!r}: {REGISTRY[kind]!r} names no Backend class")
    return cls


def load_backend(spec: str, options: BackendOptions | None = None) -> Backend:
    kind, target = parse_spec(spec)
    return backend_class(kind)(target, options or BackendOptions())
