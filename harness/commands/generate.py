"""`harness generate`: run a model on a benchmark into a resumable run folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from harness.commands._options import benchmark_options
from harness.prompting.formats import shipped_formats
from harness.prompting.schema import REPRESENTATIONS

# Option name -> dotted config key; options left at their default do not override the
# config file.
OPTION_KEYS: dict[str, str] = {
    "model": "model.spec",
    "adapter": "model.adapters",
    "route": "model.route",
    "revision": "model.revision",
    "dtype": "model.dtype",
    "base_url": "model.base_url",
    "combination": "model.combination",
    "name": "model.name",
    "tier": "model.tier",
    "bench": "benchmark.name",
    "data_dir": "benchmark.data_dir",
    "split": "benchmark.split",
    "db_dir": "benchmark.db_dir",
    "evidence": "benchmark.evidence",
    "prompt_format": "prompt.format",
    "schema": "prompt.schema",
    "shots": "prompt.shots",
    "shots_from": "prompt.shots_from",
    "rows": "prompt.rows",
    "template": "prompt.template",
    "max_new_tokens": "decoding.max_new_tokens",
    "temperature": "decoding.temperature",
    "top_p": "decoding.top_p",
    "seed": "decoding.seed",
    "batch_size": "decoding.batch_size",
    "samples": "decoding.samples",
    "limit": "run.limit",
    "concurrency": "run.concurrency",
    "max_retries": "run.max_retries",
    "retry_base": "run.retry_base_s",
    "request_timeout": "run.timeout_s",
    "device_map": "run.device_map",
    "tensor_parallel_size": "run.tensor_parallel_size",
    "api_key_env": "run.api_key_env",
    "response_cache": "run.cache_path",
    "cache_path": "run.cache_path",  # deprecated spelling of --response-cache
}

EXIT_INCOMPLETE = 3


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


def prompt_options() -> list[Callable[[Any], Any]]:
    """--prompt, --schema and --rows (shared with `harness prompts`)."""
    return [
        click.option(
            "--prompt",
            "--prompt-format",
            "prompt_format",
            default="harness",
            show_default=True,
            metavar="NAME|PATH",
            help=f"Prompt format: {', '.join(shipped_formats())}, or a format .toml file.",
        ),
        click.option(
            "--schema",
            type=click.Choice(REPRESENTATIONS),
            default=None,
            help="Schema representation (default: the prompt format's; harness: keys).",
        ),
        click.option(
            "--rows",
            type=int,
            default=None,
            help="Sample rows per table (rows, sqlite_master; default: the format's, or 3).",
        ),
    ]


def generation_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `generate` and `bench` (not --seed / --no-cache: bench shares them
    with scoring, so each command declares those itself)."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="TOML run config (evals/configs/*.toml); options override it.",
        ),
        click.option(
            "--model",
            help="hf:ID|PATH (default for a bare id), vllm:ID, "
            "openai:MODEL, anthropic:MODEL, replay:PREDICTIONS_FILE.",
        ),
        click.option(
            "--out",
            "out_dir",
            type=click.Path(path_type=Path, file_okay=False),
            required=True,
            help="Run folder (resumed when it exists).",
        ),
        click.option(
            "--adapter",
            multiple=True,
            metavar="PATH[@WEIGHT]",
            help="PEFT LoRA adapter; repeat with @WEIGHT for a weighted composition.",
        ),
        click.option(
            "--route",
            type=click.Path(path_type=Path, dir_okay=False),
            help="ROUTES.toml: send each example to one named adapter.",
        ),
        click.option(
            "--combination",
            default="cat",
            show_default=True,
            help="peft add_weighted_adapter combination_type (cat is exact).",
        ),
        click.option("--revision", help="Model revision (branch, tag or commit)."),
        click.option(
            "--dtype", default="auto", show_default=True, help="auto, bfloat16, float16 or float32."
        ),
        click.option("--base-url", help="OpenAI-compatible server URL (vLLM serve, gateways)."),
        click.option("--name", help="Display name of the model in tables."),
        click.option(
            "--tier",
            type=click.Choice(["open", "frontier"]),
            help="Leaderboard tier (default: by backend).",
        ),
        benchmark_options,
        *prompt_options(),
        click.option(
            "--shots",
            type=int,
            default=0,
            show_default=True,
            help="Few-shot demonstrations per question.",
        ),
        click.option(
            "--shots-from",
            default="train",
            show_default=True,
            help="Split of the same benchmark, or a JSONL file of {question, sql}.",
        ),
        click.option(
            "--template",
            type=click.Choice(["auto", "chat", "plain"]),
            default="auto",
            show_default=True,
            help="Local models: chat template or plain prompt.",
        ),
        click.option("--limit", type=int, help="Only the first N examples."),
        click.option(
            "--evidence/--no-evidence",
            default=True,
            show_default=True,
            help="BIRD: put the question's evidence hint in the prompt.",
        ),
        click.option("--batch-size", type=int, default=8, show_default=True),
        click.option("--max-new-tokens", type=int, default=256, show_default=True),
        click.option("--temperature", type=float, default=0.0, show_default=True),
        click.option("--top-p", type=float, default=1.0, show_default=True),
        click.option(
            "--samples",
            type=int,
            default=1,
            show_default=True,
            help="Completions per example (needs --temperature > 0): pass@k and maj@N.",
        ),
        click.option(
            "--concurrency", type=int, default=8, show_default=True, help="API requests in flight."
        ),
        click.option(
            "--max-retries",
            type=int,
            default=5,
            show_default=True,
            help="API retries on 429/5xx/timeouts before a row is an outage.",
        ),
        click.option(
            "--retry-base",
            type=float,
            default=1.0,
            show_default=True,
            help="First API backoff in seconds (doubles per retry).",
        ),
        click.option(
            "--request-timeout",
            type=float,
            default=120.0,
            show_default=True,
            help="API request timeout in seconds.",
        ),
        click.option("--device-map", help="accelerate device_map (default: auto on GPU)."),
        click.option(
            "--tensor-parallel-size",
            type=int,
            default=1,
            show_default=True,
            help="vLLM tensor parallelism.",
        ),
        click.option("--api-key-env", help="Environment variable holding the API key."),
        click.option(
            "--response-cache",
            type=click.Path(path_type=Path, dir_okay=False),
            help="File of the model-response cache (default ~/.cache/harness/responses.sqlite).",
        ),
        click.option("--cache-path", type=click.Path(path_type=Path, dir_okay=False), hidden=True),
        click.option("--progress/--no-progress", default=True, help="Progress bars on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(name="generate")
@generation_options
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Decoding and few-shot selection seed."
)
@click.option("--no-cache", is_flag=True, help="Bypass the model-response cache.")
@click.pass_context
def command(
    ctx: click.Context, config_file: Path | None, out_dir: Path, progress: bool, **params: Any
) -> None:
    """Run a model on a benchmark into OUT/predictions.jsonl (resumable; exit status 3 when
    provider outages left rows unanswered: rerun the same command to retry them)."""
    from harness.config import load_config
    from harness.generation import generate

    cfg = load_config(config_file, overrides_from(ctx, params))
    result = generate(cfg, out_dir, progress=progress)
    click.echo(result.message(), err=True)
    if not result.complete:
        raise click.exceptions.Exit(EXIT_INCOMPLETE)
