"""Run configuration: a TOML file (`evals/configs/*.toml`) with command-line overrides.

    [model]      spec, revision, dtype, adapters = ["path@0.7", ...], route, base_url,
                 combination, name, tier
    [benchmark]  name, split, data_dir, db_dir
    [prompt]     format (a shipped prompt format's name or a format file's path), schema,
                 shots, shots_from, rows, template
    [decoding]   max_new_tokens, temperature, top_p, seed, batch_size, samples
    [run]        limit, concurrency, max_retries, retry_base_s, timeout_s, device_map,
                 tensor_parallel_size, api_key_env, cache, cache_path

[run] holds how a run is carried out, not what it measures: it may change between a run
and its resumption. Relative paths are relative to the working directory. API keys come
from the environment only; a config that holds one is refused.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints

from harness.errors import ConfigError
from harness.io import read_toml
from harness.prompting.formats import load_format, resolve_spec
from harness.prompting.schema import REPRESENTATIONS
from harness.prompting.templates import TEMPLATE_MODES

TIERS = ("open", "frontier")
_SECRET = re.compile(r"(api_?key|secret|password|passwd|token|credential|authorization)", re.I)
_NOT_SECRET = {"api_key_env", "max_new_tokens"}


def _choice(choices: tuple[str, ...], default: str | None) -> Any:
    """A field whose value is one of `choices` (None allowed only as the default): the
    checks and the command line's choice lists read them from the field's metadata."""
    return field(default=default, metadata={"choices": choices})


@dataclass
class ModelConfig:
    spec: str = ""
    revision: str | None = None
    dtype: str = "auto"
    adapters: list[str] = field(default_factory=list)
    route: str | None = None
    base_url: str | None = None
    combination: str = "cat"
    name: str | None = None
    tier: str | None = _choice(TIERS, None)


@dataclass
class BenchmarkConfig:
    name: str = "spider"
    split: str = "dev"
    data_dir: str | None = None
    db_dir: str | None = None
    # BIRD's evidence hints in the prompt (and recorded in the score: it changes results a lot)
    evidence: bool = True


@dataclass
class PromptConfig:
    format: str = "harness"  # prompt format: shipped name or path (harness/prompting/formats)
    schema: str | None = _choice(REPRESENTATIONS, None)  # None: the format's representation
    shots: int = 0
    shots_from: str = "train"  # a split of the same benchmark, or a JSONL file of shots
    rows: int | None = None  # None: the format's (3 for the harness format)
    template: str = _choice(TEMPLATE_MODES, "auto")  # local models; APIs take messages


@dataclass
class DecodingConfig:
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 8
    # Completions per example (sampled: pass@k and maj@N); 1 is plain greedy-style output.
    samples: int = 1


@dataclass
class RunOptions:
    limit: int | None = None
    concurrency: int = 8
    max_retries: int = 5
    retry_base_s: float = 1.0
    timeout_s: float = 120.0
    device_map: str | None = None
    tensor_parallel_size: int = 1
    api_key_env: str | None = None
    cache: bool = True
    cache_path: str | None = None


@dataclass
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    run: RunOptions = field(default_factory=RunOptions)


SECTIONS = tuple(f.name for f in fields(RunConfig))
_SECTION_TYPES: dict[str, type] = {
    "model": ModelConfig,
    "benchmark": BenchmarkConfig,
    "prompt": PromptConfig,
    "decoding": DecodingConfig,
    "run": RunOptions,
}


@dataclass(frozen=True)
class FieldInfo:
    """One config key as the command line sees it: its type, default and choices."""

    key: str  # "section.key"
    type: type  # int, float, str, bool or list (of strings)
    default: Any
    choices: tuple[str, ...] | None = None


def field_info(dotted: str) -> FieldInfo:
    section, key = dotted.split(".", 1)
    if section not in _SECTION_TYPES:
        raise KeyError(dotted)
    found = {f.name: f for f in fields(_SECTION_TYPES[section])}[key]
    default = [] if found.default_factory is not MISSING else found.default
    allowed = _allowed_types(section, key)
    return FieldInfo(dotted, allowed[0], default, found.metadata.get("choices"))


def _check_secrets(data: dict[str, Any], where: str, prefix: str = "") -> None:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _check_secrets(value, where, name + ".")
        elif _SECRET.search(key) and key not in _NOT_SECRET:
            raise ConfigError(
                f"{where}: key {name!r} looks like a secret; API keys come from the environment "
                "only (e.g. OPENAI_API_KEY, or name the variable with run.api_key_env)"
            )


def _allowed_types(section: str, key: str) -> tuple[type, ...]:
    hint = get_type_hints(_SECTION_TYPES[section])[key]
    args = get_args(hint) if get_origin(hint) is UnionType else (hint,)
    return tuple(get_origin(a) or a for a in args if a is not type(None))


def _coerce(section: str, key: str, value: Any, where: str) -> Any:
    """Check a value against the field's declared type (TOML has already typed it)."""
    allowed = _allowed_types(section, key)
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    # bool is an int subclass: `shots = true` must not pass as 1.
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        names = " or ".join(t.__name__ for t in allowed)
        raise ConfigError(f"{where}: {section}.{key} must be {names}, got {value!r}")
    if isinstance(value, list) and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {section}.{key} must be a list of strings")
    return value


def apply(cfg: RunConfig, data: dict[str, Any], where: str) -> None:
    """Set values from a {section: {key: value}} mapping, refusing unknown keys."""
    for section, table in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{where}: unknown table [{section}]; known: {', '.join(SECTIONS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table")
        target = getattr(cfg, section)
        known = {f.name for f in fields(target)}
        for key, value in table.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown key {section}.{key}; known: {', '.join(sorted(known))}"
                )
            setattr(target, key, _coerce(section, key, value, where))


def validate(cfg: RunConfig, require_model: bool = True) -> None:
    if require_model and not cfg.model.spec:
        raise ConfigError("no model given (--model SPEC or [model] spec in the config file)")
    load_format(cfg.prompt.format)  # an unknown name or a bad file is reported here
    for section in SECTIONS:
        table = getattr(cfg, section)
        for f in fields(table):
            value, choices = getattr(table, f.name), f.metadata.get("choices")
            if choices and value is not None and value not in choices:
                raise ConfigError(f"unknown {f.name} {value!r}; known: {', '.join(choices)}")
    if cfg.model.adapters and cfg.model.route:
        raise ConfigError("give either adapters or a routes file, not both")
    checks = [
        (cfg.prompt.shots >= 0, "shots must be >= 0"),
        (cfg.prompt.rows is None or cfg.prompt.rows >= 0, "rows must be >= 0"),
        (cfg.decoding.max_new_tokens >= 1, "max_new_tokens must be >= 1"),
        (cfg.decoding.temperature >= 0, "temperature must be >= 0"),
        (0 < cfg.decoding.top_p <= 1, "top_p must be in (0, 1]"),
        (cfg.decoding.batch_size >= 1, "batch_size must be >= 1"),
        (cfg.decoding.samples >= 1, "samples must be >= 1"),
        (cfg.run.concurrency >= 1, "concurrency must be >= 1"),
        (cfg.run.max_retries >= 0, "max_retries must be >= 0"),
        (cfg.run.retry_base_s >= 0, "retry_base_s must be >= 0"),
        (cfg.run.timeout_s > 0, "timeout_s must be > 0"),
        (cfg.run.tensor_parallel_size >= 1, "tensor_parallel_size must be >= 1"),
        (cfg.run.limit is None or cfg.run.limit >= 1, "limit must be >= 1"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)


def load_config(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    require_model: bool = True,
) -> RunConfig:
    """The file's values, then each non-None override ("section.key" -> value) on top."""
    cfg = RunConfig()
    if path is not None:
        path = Path(path)
        data = read_toml(path, ConfigError, missing="config file not found")
        _check_secrets(data, str(path))
        apply(cfg, data, str(path))
    return finish_config(cfg, overrides, require_model)


def config_from_tables(data: dict[str, Any], where: str) -> RunConfig:
    """A config from already parsed tables (a sweep cell: a grid's base plus its values)."""
    cfg = RunConfig()
    _check_secrets(data, where)
    apply(cfg, data, where)
    return finish_config(cfg, None)


def finish_config(
    cfg: RunConfig, overrides: dict[str, Any] | None, require_model: bool = True
) -> RunConfig:
    """Each non-None override ("section.key" -> value) on top, then the checks."""
    nested: dict[str, dict[str, Any]] = {}
    for dotted, value in (overrides or {}).items():
        if value is None or value == () or value == []:
            continue  # an option not given on the command line
        section, key = dotted.split(".", 1)
        nested.setdefault(section, {})[key] = list(value) if isinstance(value, tuple) else value
    apply(cfg, nested, "command line")
    validate(cfg, require_model)
    # The schema settings the prompt format gives this benchmark, unless set: a loaded
    # config says what the run renders.
    spec = resolve_spec(
        load_format(cfg.prompt.format), cfg.benchmark.name, cfg.prompt.schema, cfg.prompt.rows
    )
    cfg.prompt.schema = spec.representation
    if cfg.prompt.rows is None:
        cfg.prompt.rows = spec.rows
    return cfg
