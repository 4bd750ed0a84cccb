"""The command-line options that set run-config keys (`generate`, `bench`, `prompts`).

Each option is declared once, here, by the config key it sets: its type, its default and
its choice list are read from the config dataclasses (harness/config.py), so a default
or a choice is written only there. An option left at its default does not override the
config file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from harness.commands._options import benchmark_options
from harness.config import field_info
from harness.prompting.formats import shipped_formats

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_PATH = click.Path(path_type=Path, dir_okay=False)

# Option name -> dotted config key, filled as the options below are declared (the
# benchmark's options are shared with commands that take no run config: _options.py).
OPTION_KEYS: dict[str, str] = {
    "bench": "benchmark.name",
    "data_dir": "benchmark.data_dir",
    "split": "benchmark.split",
    "db_dir": "benchmark.db_dir",
    "seed": "decoding.seed",  # declared by each command (bench shares it with scoring)
}
# Option name -> its click decorator, in the order `harness generate --help` lists them.
_DECLARED: dict[str, Decorator] = {}


def _name(decls: tuple[str, ...]) -> str:
    """The parameter name click gives an option declared with `decls`."""
    explicit = [d for d in decls if not d.startswith("-")]
    return explicit[0] if explicit else decls[0].split("/")[0].lstrip("-").replace("-", "_")


def config_option(key: str, *decls: str, **kwargs: Any) -> Decorator:
    """A click option for config `key`: type, default and choices from the config field
    (`kwargs` adds help, a metavar, or a click type such as a path)."""
    info = field_info(key)
    # An empty string is the config's "not set" (model.spec): no default to show.
    kw: dict[str, Any] = {"default": info.default if info.default != "" else None}
    if info.type is list:
        kw.update(multiple=True, default=None)
    elif info.choices:
        kw["type"] = click.Choice(info.choices)
    elif info.type is not bool:
        kw["type"] = info.type
    if kw["default"] is not None:
        kw["show_default"] = True
    kw.update(kwargs)
    OPTION_KEYS[_name(decls)] = key
    return click.option(*decls, **kw)


def _declare(key: str, *decls: str, **kwargs: Any) -> None:
    _DECLARED[_name(decls)] = config_option(key, *decls, **kwargs)


_declare(
    "model.spec",
    "--model",
    help="hf:ID|PATH (default for a bare id), vllm:ID, "
    "openai:MODEL, anthropic:MODEL, replay:PREDICTIONS_FILE.",
)
_declare(
    "model.adapters",
    "--adapter",
    metavar="PATH[@WEIGHT]",
    help="PEFT LoRA adapter; repeat with @WEIGHT for a weighted composition.",
)
_declare(
    "model.route",
    "--route",
    type=_PATH,
    help="ROUTES.toml: send each example to one named adapter.",
)
_declare(
    "model.combination",
    "--combination",
    help="peft add_weighted_adapter combination_type (cat is exact).",
)
_declare("model.revision", "--revision", help="Model revision (branch, tag or commit).")
_declare("model.dtype", "--dtype", help="auto, bfloat16, float16 or float32.")
_declare(
    "model.base_url", "--base-url", help="OpenAI-compatible server URL (vLLM serve, gateways)."
)
_declare("model.name", "--name", help="Display name of the model in tables.")
_declare("model.tier", "--tier", help="Leaderboard tier (default: by backend).")
_declare(
    "prompt.format",
    "--prompt",
    "--prompt-format",
    "prompt_format",
    metavar="NAME|PATH",
    help=f"Prompt format: {', '.join(shipped_formats())}, or a format .toml file.",
)
_declare(
    "prompt.schema",
    "--schema",
    help="Schema representation (default: the prompt format's; harness: keys).",
)
_declare(
    "prompt.rows",
    "--rows",
    help="Sample rows per table (rows, sqlite_master; default: the format's, or 3).",
)
_declare("prompt.shots", "--shots", help="Few-shot demonstrations per question.")
_declare(
    "prompt.shots_from",
    "--shots-from",
    help="Split of the same benchmark, or a JSONL file of {question, sql}.",
)
_declare("prompt.template", "--template", help="Local models: chat template or plain prompt.")
_declare("run.limit", "--limit", help="Only the first N examples.")
_declare(
    "benchmark.evidence",
    "--evidence/--no-evidence",
    help="BIRD: put the question's evidence hint in the prompt.",
)
_declare("decoding.batch_size", "--batch-size")
_declare("decoding.max_new_tokens", "--max-new-tokens")
_declare("decoding.temperature", "--temperature")
_declare("decoding.top_p", "--top-p")
_declare(
    "decoding.samples",
    "--samples",
    help="Completions per example (needs --temperature > 0): pass@k and maj@N.",
)
_declare("run.concurrency", "--concurrency", help="API requests in flight.")
_declare(
    "run.max_retries",
    "--max-retries",
    help="API retries on 429/5xx/timeouts before a row is an outage.",
)
_declare(
    "run.retry_base_s",
    "--retry-base",
    help="First API backoff in seconds (doubles per retry).",
)
_declare("run.timeout_s", "--request-timeout", help="API request timeout in seconds.")
_declare("run.device_map", "--device-map", help="accelerate device_map (default: auto on GPU).")
_declare("run.tensor_parallel_size", "--tensor-parallel-size", help="vLLM tensor parallelism.")
_declare("run.api_key_env", "--api-key-env", help="Environment variable holding the API key.")
_declare(
    "run.cache_path",
    "--response-cache",
    type=_PATH,
    help="File of the model-response cache (default ~/.cache/harness/responses.sqlite).",
)
# The deprecated spelling of --response-cache, kept working (hidden).
_declare("run.cache_path", "--cache-path", type=_PATH, hidden=True)

# What `harness prompts` shares with `harness generate`: what decides a prompt's text.
PROMPT_OPTIONS = ("prompt_format", "schema", "rows", "shots", "shots_from", "evidence", "limit")


def run_options(*names: str) -> Decorator:
    """The declared options `names`, in that order."""
    chosen = [_DECLARED[n] for n in names]

    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(chosen):
            func = option(func)
        return func

    return apply


def seed_option(help: str) -> Decorator:
    return config_option("decoding.seed", "--seed", help=help)


def overrides_from(ctx: click.Context, params: dict[str, Any]) -> dict[str, Any]:
    """Config overrides from the options the user actually gave."""
    out: dict[str, Any] = {}
    for name, key in OPTION_KEYS.items():
        if name not in params or ctx.get_parameter_source(name) == ParameterSource.DEFAULT:
            continue
        value = params[name]
        if isinstance(value, Path):
            value = str(value)
        elif isinstance(value, tuple):
            value = [str(v) for v in value]
        out[key] = value
    if "run.cache_path" in out and ctx.get_parameter_source("cache_path") != (
        ParameterSource.DEFAULT
    ):
        click.echo("harness: note: --cache-path is now --response-cache", err=True)
    if params.get("no_cache"):
        out["run.cache"] = False
    return out


def generation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `generate` and `bench` (not --seed / --no-cache: bench shares them
    with scoring, so each command declares those itself)."""
    names = list(_DECLARED)
    model_end = names.index("prompt_format")  # the benchmark's options come after the model's
    options = [
        click.option(
            "--config",
            "config_file",
            type=_PATH,
            help="TOML run config (evals/configs/*.toml); options override it.",
        ),
        run_options("model"),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(path_type=Path, file_okay=False),
            required=True,
            help="Run folder (resumed when it exists).",
        ),
        run_options(*names[1:model_end]),
        benchmark_options,
        run_options(*names[model_end:]),
        click.option("--progress/--no-progress", default=True, help="Progress bars on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
