"""Running cells: each is `harness bench` into its own run folder, with bounded retries.

A cell's run folder is the single source of truth: `generate` appends and flushes each
row and resumes from what is there, so a cell that dies (driver killed, worker killed,
machine lost) is simply run again, and finishes with the rows it would have had.
Cells of one hf base model are one task, so the base model is loaded once for them all.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.backends.adapters import parse_adapters
from harness.errors import DataError, HarnessError
from harness.generation.backend import BackendLoader
from harness.generation.routing import Router
from harness.generation.run_config import check_same_config, resolve_tables
from harness.generation.run_folder import CONFIG, PREDICTIONS, RunDirError, read_run_config
from harness.hashing import sha256_file
from harness.io import read_json
from harness.pipeline.bench import bench
from harness.scoring.options import ScoreOptions
from harness.sweep.grid import Cell

SUMMARY = "summary.json"
# ScoreOptions fields that change a score (not jobs, caches, or the limit bench sets itself).
_SCORING_KEYS = (
    "keep_distinct",
    "plug_value",
    "timeout_s",
    "allow_missing_db",
    "resamples",
    "seed",
    "em",
    "r_ves_repeats",
    "bird_timeout_factor",
    "bird_timeout_floor_s",
    "bird_exceptions",
)
WORKER_FILE = ".sweep-worker"  # which host and process is running the cell (for operators)


@dataclass
class CellOutcome:
    name: str
    status: str  # "done" | "resumed" | "rescored" | "already done" | "failed"
    reason: str = ""
    attempts: int = 0
    n_done: int = 0
    n_total: int = 0
    ex: float | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class Task:
    """Cells run one after another in one process (one Ray task)."""

    cells: list[Cell]
    kind: str
    gpus: int = 0  # what the cells' configs ask for
    shared_base: bool = False

    @property
    def label(self) -> str:
        return self.cells[0].name if len(self.cells) == 1 else f"{self.cells[0].name} (+more)"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {text}"


# ---------------------------------------------------------------- grouping


def _base_key(cell: Cell) -> tuple[Any, ...] | None:
    """What loading an hf base model depends on (adapters, prompts, shots are not)."""
    if cell.spec.kind != "hf":
        return None
    m = cell.cfg.model
    return (cell.spec.target, m.revision, m.dtype, cell.cfg.run.device_map)


def _gpus(cell: Cell, kind: str) -> int:
    if kind == "vllm":
        return cell.cfg.run.tensor_parallel_size
    return 1 if kind == "hf" else 0


def plan_tasks(cells: list[Cell]) -> list[Task]:
    """One task per cell, except that cells sharing an hf base model share one task."""
    tasks: list[Task] = []
    by_base: dict[tuple[Any, ...], Task] = {}
    for cell in cells:
        kind = cell.spec.kind
        key = _base_key(cell)
        if key is not None and key in by_base:
            by_base[key].cells.append(cell)
            continue
        task = Task([cell], kind, _gpus(cell, kind), shared_base=key is not None)
        tasks.append(task)
        if key is not None:
            by_base[key] = task
    return tasks


# ---------------------------------------------------------------- state


def _read_summary(run_dir: Path) -> dict[str, Any] | None:
    """The cell's summary.json; None when absent or damaged (the cell is then not done)."""
    try:
        return read_json(run_dir / SUMMARY, DataError)
    except DataError:
        return None


def check_config(cell: Cell, run_dir: Path) -> None:
    """Refuse a folder that holds another configuration (as a single run's resume does)."""
    old = read_run_config(run_dir / CONFIG)
    if old is None:
        return
    cfg = cell.cfg
    router = Router.from_file(Path(cfg.model.route)) if cfg.model.route else None
    new = resolve_tables(cfg, cell.spec, parse_adapters(cfg.model.adapters), router, None)
    check_same_config(run_dir, old, new, resolved=False)


def stale_options(summary: dict[str, Any], options: ScoreOptions) -> list[str]:
    """The scoring options that change a score and differ from those the summary used."""
    used = summary.get("options") or {}
    now = asdict(options)
    return [
        k
        for k in _SCORING_KEYS
        if used.get(k) != (str(now[k]) if isinstance(now[k], Path) else now[k])
    ]


def cell_state(run_dir: Path, options: ScoreOptions | None = None) -> str:
    """The cell's state: "done" (scored, and the score is of the predictions there now),
    "stale" (scored with other scoring options: rescored, not regenerated), "partial" or
    "new"."""
    pred = run_dir / PREDICTIONS
    summary = _read_summary(run_dir)
    if summary is not None and pred.is_file():
        outages = ((summary.get("excluded") or {}).get("reasons") or {}).get("outage", 0)
        scored = (summary.get("predictions") or {}).get("sha256")
        if not outages and scored == sha256_file(pred):
            return "stale" if options and stale_options(summary, options) else "done"
    if pred.is_file() and pred.stat().st_size:
        return "partial"
    return "new"


def summary_ex(run_dir: Path) -> float | None:
    summary = _read_summary(run_dir) or {}
    ex = (summary.get("metrics") or {}).get("ex")
    return ex.get("mean") if isinstance(ex, dict) else None


# ---------------------------------------------------------------- running


@dataclass
class CellRunner:
    """How cells run: where, how they are scored, how often a failure is retried."""

    out_dir: Path
    score_options: ScoreOptions
    retries: int = 1
    cwd: str | None = None  # the driver's working directory (relative paths in configs)
    progress: bool = False

    def run_task(self, task: Task) -> list[CellOutcome]:
        if self.cwd and Path(self.cwd).is_dir():
            os.chdir(self.cwd)  # a Ray worker starts elsewhere; configs name paths from here
        try:
            shared = _shared_loader() if task.shared_base else None
        except Exception as exc:  # e.g. torch missing: these cells fail, the sweep goes on
            return [CellOutcome(c.name, "failed", one_line(exc)) for c in task.cells]
        try:
            return [self.run_cell(cell, shared) for cell in task.cells]
        finally:
            if shared is not None:
                shared.close()

    def run_cell(self, cell: Cell, loader: BackendLoader | None = None) -> CellOutcome:
        run_dir = Path(self.out_dir) / cell.name
        outcome = CellOutcome(cell.name, "failed")
        try:
            check_config(cell, run_dir)
            state = cell_state(run_dir, self.score_options)
        except HarnessError as exc:
            outcome.reason = one_line(exc)
            return outcome
        if state == "done":
            outcome.status = "already done"
            outcome.ex = summary_ex(run_dir)
            return outcome
        for attempt in range(1, self.retries + 2):
            outcome.attempts = attempt
            try:
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / WORKER_FILE).write_text(
                    f"{socket.gethostname()} {os.getpid()}\n", encoding="utf-8"
                )
                result, summary = bench(
                    cell.cfg, run_dir, self.score_options, progress=self.progress, loader=loader
                )
            except RunDirError as exc:  # another config, or another writer: not transient
                outcome.reason = one_line(exc)
                return outcome
            except Exception as exc:  # a cell's failure must not end the sweep
                outcome.reason = one_line(exc)
                continue
            outcome.n_done, outcome.n_total = result.n_done, result.n_total
            outcome.ex = ((summary.get("metrics") or {}).get("ex") or {}).get("mean")
            if result.complete:
                outcome.status = {"partial": "resumed", "stale": "rescored"}.get(state, "done")
                outcome.reason = ""
                return outcome
            outcome.reason = f"{result.outages} row(s) hit provider outages"
        return outcome


def _shared_loader() -> Any:
    # Imported here: torch comes in only when a task has an hf base model to share.
    from harness.sweep.shared_hf import SharedBaseModels

    return SharedBaseModels()
