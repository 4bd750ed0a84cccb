"""Opening a run's backend: the run config's model and run tables as BackendOptions, the
parsed spec to the backend registry (or to a loader a sweep passes), and the response
cache in front of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.backends.base import (
    AdapterSpec,
    Backend,
    BackendOptions,
    Decoding,
    ModelSpec,
    load_backend,
)
from harness.config import DecodingConfig, RunConfig
from harness.generation.routing import Router

# How a run gets its backend from a spec; a sweep passes one that shares a loaded base model.
BackendLoader = Callable[[ModelSpec, BackendOptions], Backend]


def backend_options(
    cfg: RunConfig, adapters: list[AdapterSpec], router: Router | None
) -> BackendOptions:
    return BackendOptions(
        revision=cfg.model.revision,
        dtype=cfg.model.dtype,
        device_map=cfg.run.device_map,
        adapters=adapters,
        combination=cfg.model.combination,
        routes=router.adapters() if router else {},
        base_url=cfg.model.base_url,
        api_key_env=cfg.run.api_key_env,
        concurrency=cfg.run.concurrency,
        max_retries=cfg.run.max_retries,
        retry_base_s=cfg.run.retry_base_s,
        timeout_s=cfg.run.timeout_s,
        tensor_parallel_size=cfg.run.tensor_parallel_size,
        template=cfg.prompt.template,
    )


def decoding_of(decoding: DecodingConfig) -> Decoding:
    """What a backend decodes with (`samples` is the run loop's: one request per sample)."""
    return Decoding(
        max_new_tokens=decoding.max_new_tokens,
        temperature=decoding.temperature,
        top_p=decoding.top_p,
        seed=decoding.seed,
        batch_size=decoding.batch_size,
    )


def open_backend(
    spec: ModelSpec,
    options: BackendOptions,
    cache: bool,
    cache_path: str | None,
    loader: BackendLoader | None = None,
) -> Backend:
    backend = (loader or load_backend)(spec, options)
    if not cache or not backend.cache_responses:
        return backend
    from harness.backends.cache import CachedBackend, ResponseCache, default_cache_path

    path = Path(cache_path) if cache_path else default_cache_path()
    return CachedBackend(backend, ResponseCache(path))
