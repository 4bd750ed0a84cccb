"""What a run folder's config.toml records (the resolved configuration; secrets never
enter it), and the check that a resumed run measures what the folder's first run did."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.backends.api import scrub_url
from harness.backends.base import AdapterSpec, Backend, ModelSpec
from harness.config import RunConfig
from harness.generation.prompts import recorded_spec
from harness.generation.routing import Router
from harness.generation.run_folder import CONFIG, RunDirError
from harness.generation.sampling import decoding_table
from harness.prompting.formats import DEFAULT_FORMAT, load_format, resolve_spec
from harness.prompting.templates import template_sha256

# Labels, not measurements: may differ between a run and its resumption.
_LABEL_KEYS = {"model.name", "model.tier"}
# Known only once the backend is loaded (a hub revision resolves to a commit).
_RESOLVED_KEYS = {"model.revision", "model.params", "prompt.template", "prompt.template_sha256"}
_PATH_KEYS = {"benchmark.data_dir", "benchmark.db_dir", "prompt.shots_from"}
# Where a format file lives is not what it is: its name and sha256 are compared instead.
_LOCATION_KEYS = {"prompt.format_file"}


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _default_name(target: str, cfg: RunConfig) -> str:
    name = target
    if cfg.model.adapters:
        name += "+" + "+".join(Path(a.rpartition("@")[0] or a).name for a in cfg.model.adapters)
    if cfg.model.route:
        name += f"+routes:{Path(cfg.model.route).stem}"
    return name


def template_mode(backend: Backend) -> str:
    return backend.template_id().split("\0", 1)[0]


def resolve_tables(
    cfg: RunConfig,
    spec: ModelSpec,
    adapters: list[AdapterSpec],
    router: Router | None,
    backend: Backend | None,
) -> dict[str, Any]:
    """The config.toml mapping. Without a backend, the keys it resolves are left out."""
    kind = spec.kind
    model: dict[str, Any] = {
        "spec": cfg.model.spec,
        "backend": kind,
        "name": cfg.model.name or _default_name(spec.target, cfg),
        "revision": backend.revision if backend else None,
        "dtype": cfg.model.dtype if kind in ("hf", "vllm") else None,
        "adapters": [
            {
                "path": a.source or str(a.path),
                "weight": 1.0 if a.weight is None else a.weight,
                "sha256": a.sha256,
            }
            for a in adapters
        ],
        "combination": cfg.model.combination
        if len(adapters) > 1 or any(a.weight is not None for a in adapters)
        else None,
        "route": cfg.model.route,
        "route_sha256": router.sha256 if router else None,
        "route_adapters": (
            {name: (a.sha256 if a else "base") for name, a in sorted(router.adapters().items())}
            if router
            else None
        ),
        "base_url": scrub_url(cfg.model.base_url),
        "tier": cfg.model.tier or (backend.tier if backend else None) or None,
        "params": backend.params if backend else None,
    }
    if not model["adapters"]:
        del model["adapters"]
    uses_prompts = backend.uses_prompts if backend else spec.backend_class.uses_prompts
    prompt: dict[str, Any] = {}
    if uses_prompts:
        fmt = load_format(cfg.prompt.format)
        schema = resolve_spec(fmt, cfg.benchmark.name, cfg.prompt.schema, cfg.prompt.rows)
        prompt = {
            "format": fmt.name,
            # A format file (not a shipped one): where it was read, to rebuild the prompts.
            "format_file": None if fmt.origin == fmt.name else fmt.origin,
            "format_sha256": fmt.sha256,
            **recorded_spec(schema),
            "shots": cfg.prompt.shots,
            "shots_from": cfg.prompt.shots_from if cfg.prompt.shots else None,
            "template": template_mode(backend) if backend else None,
            "template_sha256": template_sha256(backend.template_id()) if backend else None,
        }
    tables = {
        "model": model,
        "benchmark": asdict(cfg.benchmark),
        "prompt": prompt,
        "decoding": decoding_table(cfg.decoding),
        "run": {k: v for k, v in asdict(cfg.run).items() if k not in ("cache",)},
    }
    return {k: v for k, v in _drop_none(tables).items() if v}


def _comparable(tables: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Dotted keys of what a run measures; adapter and route files by content, not path."""
    flat: dict[str, Any] = {}
    for section in ("model", "benchmark", "prompt", "decoding"):
        for key, value in (tables.get(section) or {}).items():
            name = f"{section}.{key}"
            if name in skip or name in _LABEL_KEYS | _LOCATION_KEYS or name == "model.route":
                continue
            if name == "model.adapters":
                value = [(a.get("sha256"), a.get("weight")) for a in value]
            elif name in _PATH_KEYS and isinstance(value, str) and Path(value).exists():
                value = str(Path(value).resolve())
            flat[name] = value
    return flat


def check_same_config(
    run_dir: Path, old: dict[str, Any], new: dict[str, Any], resolved: bool
) -> None:
    skip = set() if resolved else _RESOLVED_KEYS
    old_prompt = old.get("prompt")
    if old_prompt and "format" not in old_prompt:
        # Written before prompt formats existed: that wording is the harness format's.
        harness = load_format(DEFAULT_FORMAT)
        old = {**old, "prompt": {**old_prompt, "format": harness.name}}
        old["prompt"]["format_sha256"] = harness.sha256
    a, b = _comparable(old, skip), _comparable(new, skip)
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if differ:
        detail = ", ".join(f"{k} ({a.get(k)!r} -> {b.get(k)!r})" for k in differ)
        raise RunDirError(
            f"{run_dir / CONFIG} holds a different configuration; differing keys: {detail}. "
            "Use another --out, or delete the run folder to start over"
        )
