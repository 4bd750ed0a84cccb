"""The generation stage: a benchmark through a backend into a run folder that loses nothing.

RUN_DIR/config.toml is the resolved configuration (secrets never enter it);
RUN_DIR/predictions.jsonl gets one line per example, appended and flushed as each row
completes. Rerunning the same command resumes: done ids are skipped, a torn last line (a
kill mid-write) is dropped and redone, outage rows are retried, and a different
configuration is refused. A finished file is rewritten (atomically) in split order.
With `decoding.samples` N > 1 a row is one (example, sample) pair, carrying "sample"
(0..N-1), and resumption, outages and the order work per pair.

The model spec is parsed once, here, and the parsed ModelSpec is what every helper and
the backend registry get.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from harness.backends.adapters import parse_adapters
from harness.backends.base import Backend, Completion, ModelSpec, Request, parse_spec
from harness.benchmarks.base import load_benchmark
from harness.config import DecodingConfig, RunConfig
from harness.generation.backend import BackendLoader, backend_options, decoding_of, open_backend
from harness.generation.prompts import Prompt, PromptBuilder
from harness.generation.resume import GenerationResult, Resumption, put_in_order, tally
from harness.generation.routing import RouteDecision, Router
from harness.generation.run_config import check_same_config, resolve_tables, template_mode
from harness.generation.run_folder import (
    CONFIG,
    PREDICTIONS,
    Appender,
    RunDirError,
    read_predictions_file,
    read_run_config,
    run_lock,
)
from harness.generation.sampling import check_samples
from harness.io import write_atomic, write_jsonl
from harness.progress import make_progress
from harness.prompting.extract import extract_sql
from harness.records import BenchmarkData, Example, Prediction


def _short(spec: ModelSpec, width: int = 32) -> str:
    target = spec.target
    name = f"{spec.kind}:{Path(target).name if '/' in target and Path(target).exists() else target}"
    return name if len(name) <= width else name[: width - 1] + "…"


def make_row(
    ex: Example,
    c: Completion,
    route: RouteDecision | None,
    sample: int | None = None,
    prefix: str = "",
) -> Prediction:
    """`prefix`: the start of the answer that the prompt itself ended with (a base model
    continued from "SELECT "); extraction reads it back, raw_completion stays as generated."""
    if c.outage:
        sql = ""
    elif c.sql is not None:
        sql = c.sql
    else:
        sql = extract_sql(prefix + c.text)
    row: Prediction = {"id": ex.id}
    if sample is not None:
        row["sample"] = sample
    row |= {
        "db_id": ex.db_id,
        "question": ex.question,
        "raw_completion": c.text,
        "sql": sql,
        "latency_s": c.latency_s,
        "tokens_in": c.tokens_in,
        "tokens_out": c.tokens_out,
        "error": c.error,
        "outage": c.outage,
    }
    if route is not None:
        row.update(route=route.route, route_reason=route.reason, route_confidence=route.confidence)
    row["cost_usd"] = c.cost_usd
    row["cached"] = c.cached
    return row


def generate(
    cfg: RunConfig, out_dir: Path, progress: bool = True, loader: BackendLoader | None = None
) -> GenerationResult:
    """Run `cfg` into `out_dir` (resuming whatever is there); see the module docstring."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    spec = parse_spec(cfg.model.spec)
    # What can fail on the inputs (data, the few-shot pool) fails before the run folder
    # exists: a refused run leaves no config.toml to block its corrected command.
    b = cfg.benchmark
    data = load_benchmark(
        b.name, data_dir=b.data_dir, split=b.split, db_dir=b.db_dir, evidence=b.evidence
    )
    builder = PromptBuilder(cfg, data) if spec.backend_class.uses_prompts else None
    out_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(out_dir):
        result = _generate_locked(cfg, spec, out_dir, progress, data, builder, loader)
    result.wall_s = time.perf_counter() - started
    return result


def _generate_locked(
    cfg: RunConfig,
    spec: ModelSpec,
    out_dir: Path,
    progress: bool,
    data: BenchmarkData,
    builder: PromptBuilder | None,
    loader: BackendLoader | None = None,
) -> GenerationResult:
    check_samples(spec, cfg.decoding)
    adapters = parse_adapters(cfg.model.adapters)
    router = Router.from_file(Path(cfg.model.route)) if cfg.model.route else None
    config_path = out_dir / CONFIG
    old = read_run_config(config_path)
    pred_path = out_dir / PREDICTIONS
    generated = pred_path.is_file() and pred_path.stat().st_size > 0
    if old is None and generated:
        raise RunDirError(
            f"{out_dir} holds {PREDICTIONS} but no {CONFIG}: not resuming a run of unknown "
            "configuration; use another --out"
        )
    if not generated:
        old = None  # nothing was generated under the old config: a new one replaces it
    if old is not None:
        unresolved = resolve_tables(cfg, spec, adapters, router, None)
        check_same_config(out_dir, old, unresolved, resolved=False)

    examples = data.examples[: cfg.run.limit] if cfg.run.limit else data.examples
    rows = read_predictions_file(pred_path)
    todo = Resumption.of(rows, examples, cfg.decoding.samples)
    result = GenerationResult(out_dir, len(todo.wanted), 0, 0)

    if todo.pending or old is None:
        options = backend_options(cfg, adapters, router)
        with open_backend(spec, options, cfg.run.cache, cfg.run.cache_path, loader) as backend:
            tables = resolve_tables(cfg, spec, adapters, router, backend)
            if old is not None:
                check_same_config(out_dir, old, tables, resolved=True)
            write_atomic(config_path, tomli_w.dumps(tables))
            if len(todo.answered) < len(rows):
                # Outage rows are replaced, never duplicated: drop them before redoing them.
                write_jsonl(pred_path, list(todo.answered.values()))
            if todo.pending:
                prompts = builder if backend.uses_prompts else None
                plain = template_mode(backend) == "plain"
                prepared = _prepare(data, todo.pending, router, prompts, plain, progress)
                _generate_rows(backend, spec, prepared, cfg.decoding, pred_path, result, progress)
        rows = read_predictions_file(pred_path)

    tally(result, rows, examples)
    put_in_order(pred_path, rows, examples, todo.wanted)
    return result


@dataclass
class _Prepared:
    """The requests for the pending rows, with each one's (example, sample), route and
    answer prefix."""

    pending: list[tuple[Example, int]]
    requests: list[Request] = field(default_factory=list)
    routes: list[RouteDecision | None] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)


@contextmanager
def _appending(path: Path) -> Iterator[Callable[[Prediction], None]]:
    appender = Appender(path)
    try:
        yield appender.write
    finally:
        appender.close()


def _prepare(
    data: BenchmarkData,
    pending: list[tuple[Example, int]],
    router: Router | None,
    builder: PromptBuilder | None,
    plain: bool,
    progress: bool,
) -> _Prepared:
    """The requests for `pending`, each example's prompt and route decided once whatever
    the number of its samples."""
    index = {e.id: i for i, e in enumerate(data.examples)}
    out = _Prepared(pending)
    prepared: dict[str, tuple[Prompt | None, RouteDecision | None]] = {}
    with make_progress(progress) as bar:
        task = bar.add_task("prepare", total=len(pending))
        for ex, sample in pending:
            if ex.id not in prepared:
                decision = (
                    router.classify(data.name, builder.example_schema(ex))
                    if router and builder
                    else None
                )
                prepared[ex.id] = (builder.prompt(ex) if builder else None, decision)
            prompt, decision = prepared[ex.id]
            out.requests.append(
                Request(
                    ex.id,
                    index[ex.id],
                    prompt.messages if prompt else (),
                    adapter=decision.route if decision else None,
                    sample=sample,
                    text=prompt.text if prompt else None,
                )
            )
            out.routes.append(decision)
            out.prefixes.append(prompt.completion_prefix if prompt and plain else "")
            bar.advance(task)
    return out


def _generate_rows(
    backend: Backend,
    spec: ModelSpec,
    prepared: _Prepared,
    decoding: DecodingConfig,
    pred_path: Path,
    result: GenerationResult,
    progress: bool,
) -> None:
    """Each completion appended to predictions.jsonl as it comes."""
    sampled = decoding.samples > 1
    with make_progress(progress) as bar, _appending(pred_path) as append:
        task = bar.add_task(f"generate {_short(spec)}", total=len(prepared.requests))
        for i, completion in backend.generate(prepared.requests, decoding_of(decoding)):
            ex, sample = prepared.pending[i]
            route, prefix = prepared.routes[i], prepared.prefixes[i]
            append(make_row(ex, completion, route, sample if sampled else None, prefix))
            result.n_new += 1
            result.cached += completion.cached
            bar.advance(task)
