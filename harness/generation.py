"""The generation stage: a benchmark through a backend into a run folder that loses nothing.

RUN_DIR/config.toml is the resolved configuration (secrets never enter it);
RUN_DIR/predictions.jsonl gets one line per example, appended and flushed as each row
completes. Rerunning the same command resumes: done ids are skipped, a torn last line (a
kill mid-write) is dropped and redone, outage rows are retried, and a different
configuration is refused. A finished file is rewritten (atomically) in split order.
With `decoding.samples` N > 1 a row is one (example, sample) pair, carrying "sample"
(0..N-1), and resumption, outages and the order work per pair.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from harness.backends.adapters import parse_adapters
from harness.backends.api import scrub_url
from harness.backends.base import (
    Backend,
    BackendOptions,
    Completion,
    Decoding,
    Request,
    load_backend,
    parse_spec,
)
from harness.backends.prices import PRICES_AS_OF, PRICES_VERIFIED
from harness.backends.routing import RouteDecision, Router
from harness.benchmarks.base import load_benchmark
from harness.config import RunConfig
from harness.errors import HarnessError, PredictionsError
from harness.io import dumps, jsonl_objects, write_atomic, write_jsonl
from harness.progress import make_progress
from harness.prompting.builder import Prompt, PromptBuilder, recorded_spec
from harness.prompting.extract import extract_sql
from harness.prompting.formats import DEFAULT_FORMAT, load_format, resolve_spec
from harness.prompting.templates import template_sha256
from harness.records import BenchmarkData, Example
from harness.samples import check_samples, decoding_table, row_key, wanted_keys

PREDICTIONS = "predictions.jsonl"
CONFIG = "config.toml"
LOCK = ".lock"

# Labels, not measurements: may differ between a run and its resumption.
_LABEL_KEYS = {"model.name", "model.tier"}
# Known only once the backend is loaded (a hub revision resolves to a commit).
_RESOLVED_KEYS = {"model.revision", "model.params", "prompt.template", "prompt.template_sha256"}
_PATH_KEYS = {"benchmark.data_dir", "benchmark.db_dir", "prompt.shots_from"}
# Where a format file lives is not what it is: its name and sha256 are compared instead.
_LOCATION_KEYS = {"prompt.format_file"}


# How a run gets its backend from a spec; a sweep passes one that shares a loaded base model.
BackendLoader = Callable[[str, BackendOptions], Backend]


class RunDirError(HarnessError):
    """RUN_DIR belongs to another configuration, or another process is writing it."""


@dataclass
class GenerationResult:
    run_dir: Path
    n_total: int  # rows in scope: examples (after --limit) x samples
    n_done: int  # of those, rows with an answer (errors included, outages not)
    n_new: int  # rows produced by this call
    outage_ids: list[str] = field(default_factory=list)
    errors: int = 0
    cached: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0

    @property
    def outages(self) -> int:
        return len(self.outage_ids)

    @property
    def complete(self) -> bool:
        return not self.outage_ids and self.n_done == self.n_total

    def message(self) -> str:
        head = (
            f"{self.run_dir / PREDICTIONS}: {self.n_done}/{self.n_total} answered "
            f"({self.n_new} new, {self.cached} from cache, {self.errors} model errors) "
            f"in {self.wall_s:.1f}s"
        )
        if self.cost_usd:
            checked = "" if PRICES_VERIFIED else ", unverified"
            head += f", ~${self.cost_usd:.4f} (list prices as of {PRICES_AS_OF}{checked})"
        if self.outage_ids:
            head += (
                f"\nINCOMPLETE: {self.outages} row(s) hit a provider outage and are not scored; "
                "rerun the same command to retry only those"
            )
        return head


# ---------------------------------------------------------------- predictions file


def read_predictions_file(path: Path, repair: bool = True) -> list[dict[str, Any]]:
    """Rows of a predictions.jsonl. A last line without its newline is what a kill in the
    middle of a write leaves: it is cut off (when `repair`) and its example redone."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as fh:
            fh.truncate(end)
    rows = []
    lines = data[:end].decode("utf-8").split("\n")[:-1]
    for lineno, row in jsonl_objects(lines, path, PredictionsError):
        if "id" not in row:
            raise PredictionsError(f"{path}:{lineno}: expected an object with an 'id'")
        rows.append(row)
    return rows


class _Appender:
    """Appends whole lines with one unbuffered write each (O_APPEND): every row that was
    written is on disk for the next reader, whatever happens to this process afterwards."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, row: dict[str, Any]) -> None:
        data = (dumps(row) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        os.close(self.fd)


@contextmanager
def _run_lock(run_dir: Path) -> Iterator[None]:
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"{run_dir}: another `harness generate` is writing this run"
            ) from None
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- config.toml


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


def resolve_tables(
    cfg: RunConfig, adapters: list, router: Router | None, backend: Backend | None
) -> dict[str, Any]:
    """The config.toml mapping. Without a backend, the keys it resolves are left out."""
    kind, target = parse_spec(cfg.model.spec)
    model: dict[str, Any] = {
        "spec": cfg.model.spec,
        "backend": kind,
        "name": cfg.model.name or _default_name(target, cfg),
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
    uses_prompts = backend.uses_prompts if backend else kind != "replay"
    prompt: dict[str, Any] = {}
    if uses_prompts:
        fmt = load_format(cfg.prompt.format)
        spec = resolve_spec(fmt, cfg.benchmark.name, cfg.prompt.schema, cfg.prompt.rows)
        prompt = {
            "format": fmt.name,
            # A format file (not a shipped one): where it was read, to rebuild the prompts.
            "format_file": None if fmt.origin == fmt.name else fmt.origin,
            "format_sha256": fmt.sha256,
            **recorded_spec(spec),
            "shots": cfg.prompt.shots,
            "shots_from": cfg.prompt.shots_from if cfg.prompt.shots else None,
            "template": _template_mode(backend) if backend else None,
            "template_sha256": template_sha256(backend.template_id()) if backend else None,
        }
    tables = {
        "model": model,
        "benchmark": asdict(cfg.benchmark),
        "prompt": prompt,
        "decoding": decoding_table(cfg),
        "run": {k: v for k, v in asdict(cfg.run).items() if k not in ("cache",)},
    }
    return {k: v for k, v in _drop_none(tables).items() if v}


def _template_mode(backend: Backend) -> str:
    return backend.template_id().split("\0", 1)[0]


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


def _read_config(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RunDirError(f"{path}: invalid TOML ({exc}); delete it or use another --out") from None


# ---------------------------------------------------------------- progress


def _short(kind: str, target: str, width: int = 32) -> str:
    name = f"{kind}:{Path(target).name if '/' in target and Path(target).exists() else target}"
    return name if len(name) <= width else name[: width - 1] + "…"


# ---------------------------------------------------------------- the run


def backend_options(cfg: RunConfig, adapters: list, router: Router | None) -> BackendOptions:
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


def _open_backend(
    cfg: RunConfig, options: BackendOptions, loader: BackendLoader | None = None
) -> Backend:
    backend = (loader or load_backend)(cfg.model.spec, options)
    if not cfg.run.cache or not backend.cache_responses:
        return backend
    from harness.backends.cache import CachedBackend, ResponseCache, default_cache_path

    path = Path(cfg.run.cache_path) if cfg.run.cache_path else default_cache_path()
    return CachedBackend(backend, ResponseCache(path))


def make_row(
    ex: Example,
    c: Completion,
    route: RouteDecision | None,
    sample: int | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """`prefix`: the start of the answer that the prompt itself ended with (a base model
    continued from "SELECT "); extraction reads it back, raw_completion stays as generated."""
    if c.outage:
        sql = ""
    elif c.sql is not None:
        sql = c.sql
    else:
        sql = extract_sql(prefix + c.text)
    row: dict[str, Any] = {"id": ex.id}
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
    # What can fail on the inputs (data, the few-shot pool) fails before the run folder
    # exists: a refused run leaves no config.toml to block its corrected command.
    b = cfg.benchmark
    bench = load_benchmark(
        b.name, data_dir=b.data_dir, split=b.split, db_dir=b.db_dir, evidence=b.evidence
    )
    builder = PromptBuilder(cfg, bench) if parse_spec(cfg.model.spec)[0] != "replay" else None
    out_dir.mkdir(parents=True, exist_ok=True)
    with _run_lock(out_dir):
        return _generate_locked(cfg, out_dir, progress, started, bench, builder, loader)


def _generate_locked(
    cfg: RunConfig,
    out_dir: Path,
    progress: bool,
    started: float,
    bench: BenchmarkData,
    builder: PromptBuilder | None,
    loader: BackendLoader | None = None,
) -> GenerationResult:
    check_samples(cfg)
    adapters = parse_adapters(cfg.model.adapters)
    router = Router.from_file(Path(cfg.model.route)) if cfg.model.route else None
    config_path = out_dir / CONFIG
    old = _read_config(config_path)
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
        check_same_config(out_dir, old, resolve_tables(cfg, adapters, router, None), resolved=False)

    examples = bench.examples[: cfg.run.limit] if cfg.run.limit else bench.examples
    rows = read_predictions_file(pred_path)
    answered = {row_key(r): r for r in rows if not r.get("outage")}
    wanted = wanted_keys(examples, cfg.decoding.samples)
    by_id = {e.id: e for e in examples}
    pending = [(by_id[i], k) for i, k in wanted if (i, k) not in answered]
    result = GenerationResult(out_dir, len(wanted), 0, 0)

    if pending or old is None:
        options = backend_options(cfg, adapters, router)
        with _open_backend(cfg, options, loader) as backend:
            tables = resolve_tables(cfg, adapters, router, backend)
            if old is not None:
                check_same_config(out_dir, old, tables, resolved=True)
            write_atomic(config_path, tomli_w.dumps(tables))
            if len(answered) < len(rows):
                # Outage rows are replaced, never duplicated: drop them before redoing them.
                write_jsonl(pred_path, list(answered.values()))
            prompts = builder if backend.uses_prompts else None
            _run_pending(cfg, bench, pending, backend, router, prompts, pred_path, result, progress)
        rows = read_predictions_file(pred_path)

    in_scope = {e.id for e in examples}
    final = {row_key(r): r for r in rows if r["id"] in in_scope}
    result.n_done = sum(1 for r in final.values() if not r.get("outage"))
    outage_of = {key[0] for key, r in final.items() if r.get("outage")}
    result.outage_ids = [e.id for e in examples if e.id in outage_of]
    result.errors = sum(1 for r in final.values() if r.get("error") and not r.get("outage"))
    result.tokens_in = sum(r.get("tokens_in") or 0 for r in final.values())
    result.tokens_out = sum(r.get("tokens_out") or 0 for r in final.values())
    costs = [r["cost_usd"] for r in final.values() if r.get("cost_usd") is not None]
    result.cost_usd = round(sum(costs), 6) if costs else None
    order = {e.id: i for i, e in enumerate(examples)}
    if len(final) == len(wanted) and [row_key(r) for r in rows] != wanted:
        # Rows were appended as they finished; a complete file reads in split order.
        extra = [r for r in rows if r["id"] not in in_scope]
        ordered = sorted(final.values(), key=lambda r: (order[r["id"]], row_key(r)[1]))
        write_jsonl(pred_path, ordered + extra)
    result.wall_s = time.perf_counter() - started
    return result


def _run_pending(
    cfg: RunConfig,
    bench: BenchmarkData,
    pending: list[tuple[Example, int]],
    backend: Backend,
    router: Router | None,
    builder: PromptBuilder | None,
    pred_path: Path,
    result: GenerationResult,
    progress: bool,
) -> None:
    if not pending:
        return
    index = {e.id: i for i, e in enumerate(bench.examples)}
    requests: list[Request] = []
    routes: list[RouteDecision | None] = []
    prefixes: list[str] = []
    plain = _template_mode(backend) == "plain"
    prepared: dict[str, tuple[Prompt | None, RouteDecision | None]] = {}
    with make_progress(progress) as bar:
        task = bar.add_task("prepare", total=len(pending))
        for ex, sample in pending:
            if ex.id not in prepared:  # once per example, whatever the number of samples
                decision = (
                    router.classify(bench.name, builder.example_schema(ex))
                    if router and builder
                    else None
                )
                prepared[ex.id] = (builder.prompt(ex) if builder else None, decision)
            prompt, decision = prepared[ex.id]
            requests.append(
                Request(
                    ex.id,
                    index[ex.id],
                    prompt.messages if prompt else (),
                    adapter=decision.route if decision else None,
                    sample=sample,
                    text=prompt.text if prompt else None,
                )
            )
            routes.append(decision)
            prefixes.append(prompt.completion_prefix if prompt and plain else "")
            bar.advance(task)
    decoding = Decoding(
        max_new_tokens=cfg.decoding.max_new_tokens,
        temperature=cfg.decoding.temperature,
        top_p=cfg.decoding.top_p,
        seed=cfg.decoding.seed,
        batch_size=cfg.decoding.batch_size,
    )
    appender = _Appender(pred_path)
    try:
        with make_progress(progress) as bar:
            task = bar.add_task(
                f"generate {_short(backend.kind, backend.target)}", total=len(requests)
            )
            sampled = cfg.decoding.samples > 1
            for i, completion in backend.generate(requests, decoding):
                ex, sample = pending[i]
                row = make_row(ex, completion, routes[i], sample if sampled else None, prefixes[i])
                appender.write(row)
                result.n_new += 1
                result.cached += completion.cached
                bar.advance(task)
    finally:
        appender.close()


def bench(
    cfg: RunConfig,
    out_dir: Path,
    score_options: Any,
    progress: bool = True,
    loader: BackendLoader | None = None,
) -> tuple[GenerationResult, dict[str, Any]]:
    """`harness bench`: generate into `out_dir`, then score that predictions file there.
    Outage rows are excluded by the scorer and reported as such, never scored wrong."""
    from harness.pipeline.score import score_files
    from harness.scoring.scorer import check_databases

    if cfg.run.limit:
        # The scorer then judges the same first N examples and marks the score partial.
        score_options = dataclasses.replace(score_options, limit=cfg.run.limit)
    b = cfg.benchmark
    # A database the scorer would refuse is refused before hours of generation.
    data = load_benchmark(b.name, data_dir=b.data_dir, split=b.split, db_dir=b.db_dir)
    check_databases(data.limited(cfg.run.limit), score_options)
    result = generate(cfg, out_dir, progress=progress, loader=loader)
    summary = score_files(
        b.name,
        Path(b.data_dir) if b.data_dir else None,
        b.split,
        Path(out_dir) / PREDICTIONS,
        Path(out_dir),
        Path(b.db_dir) if b.db_dir else None,
        score_options,
        evidence=b.evidence,
    )
    return result, summary
