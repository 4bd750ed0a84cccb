"""`harness sweep`: expand the grid, run its cells (or one shard of them), report.

DIR/<cell>/ is each cell's run folder (what `harness bench --out DIR/<cell>` writes);
DIR/leaderboard/ holds the combined leaderboard and the comparison with the baseline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tabulate import tabulate

from harness.errors import ConfigError, HarnessError
from harness.scoring.options import ScoreOptions
from harness.sweep.cells import (
    CellOutcome,
    CellRunner,
    cell_state,
    check_config,
    plan_tasks,
    summary_ex,
)
from harness.sweep.executors import make_executor
from harness.sweep.grid import Cell, Grid, read_grid
from harness.sweep.report import SweepLeaderboard, status_table, write_sweep_leaderboard

Echo = Callable[[str], None]


@dataclass
class SweepResult:
    grid: Grid
    outcomes: list[CellOutcome] = field(default_factory=list)
    leaderboard: SweepLeaderboard | None = None

    @property
    def failed(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if not o.ok]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """ "I/N" with 0 <= I < N (SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX count from 0)."""
    if text is None:
        return None
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return i, n


def shard_cells(cells: list[Cell], shard: tuple[int, int] | None) -> list[Cell]:
    """Every N-th cell of the grid, from the I-th: the same split on every machine."""
    if shard is None:
        return cells
    i, n = shard
    return [c for c in cells if c.index % n == i]


def dry_run(grid_path: Path, out_dir: Path, shard: str | None = None) -> str:
    """The cells, their folders, their task (shared base model) and whether they are done."""
    grid = read_grid(grid_path)
    cells = shard_cells(grid.cells, parse_shard(shard))
    rows = []
    for t, task in enumerate(plan_tasks(cells), 1):
        for cell in task.cells:
            folder = Path(out_dir) / cell.name
            try:
                check_config(cell, folder)
                state = cell_state(folder)
            except HarnessError as exc:
                state = f"refused: {' '.join(str(exc).split())}"
            gpus = f"{task.gpus} GPU" if task.gpus else "none"
            mark = " (baseline)" if cell.name == grid.baseline else ""
            rows.append([f"{cell.name}{mark}", str(folder), state, t, task.kind, gpus])
    headers = ["cell", "folder", "state", "task", "backend", "resources"]
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    tasks = len(plan_tasks(cells))
    return f"{table}\n\n{len(cells)} cell(s) in {tasks} task(s); retries per cell: {grid.retries}"


def run_sweep(
    grid_path: Path,
    out_dir: Path,
    score_options: ScoreOptions | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    shard: str | None = None,
    progress: bool = False,
    echo: Echo | None = None,
) -> SweepResult:
    """Run every cell not already done; build DIR/leaderboard/ unless this is one shard."""
    grid = read_grid(grid_path)
    score_options = score_options or ScoreOptions()
    shard_spec = parse_shard(shard)
    cells = shard_cells(grid.cells, shard_spec)
    runner_exec = make_executor(executor, ray_address)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    runner = CellRunner(out_dir.resolve(), score_options, grid.retries, os.getcwd(), progress)
    result = SweepResult(grid)

    def record(outcome: CellOutcome) -> None:
        result.outcomes.append(outcome)
        if echo:
            detail = f": {outcome.reason}" if outcome.reason else ""
            echo(f"cell {outcome.name}: {outcome.status}{detail}")

    runner_exec.run(plan_tasks(cells), runner, record)
    order = {c.name: c.index for c in grid.cells}
    result.outcomes.sort(key=lambda o: order[o.name])
    if shard_spec is None:
        finished = [o.name for o in result.outcomes if o.ok]
        result.leaderboard = write_sweep_leaderboard(
            grid, out_dir, finished, score_options.resamples, score_options.seed
        )
    return result


def merge_sweep(
    grid_path: Path, out_dir: Path, score_options: ScoreOptions | None = None
) -> SweepResult:
    """The leaderboard from what the shards wrote; cells not finished are reported."""
    grid = read_grid(grid_path)
    score_options = score_options or ScoreOptions()
    result = SweepResult(grid)
    for cell in grid.cells:
        folder = Path(out_dir) / cell.name
        try:
            check_config(cell, folder)
            state = cell_state(folder, score_options)
        except HarnessError as exc:
            result.outcomes.append(CellOutcome(cell.name, "failed", " ".join(str(exc).split())))
            continue
        if state == "done":
            result.outcomes.append(CellOutcome(cell.name, "already done", ex=summary_ex(folder)))
        else:
            reason = {
                "new": "not run yet",
                "partial": "partial: rerun its shard",
                "stale": "scored with other scoring options: rerun its shard",
            }[state]
            result.outcomes.append(CellOutcome(cell.name, "failed", reason))
    finished = [o.name for o in result.outcomes if o.ok]
    result.leaderboard = write_sweep_leaderboard(
        grid, Path(out_dir), finished, score_options.resamples, score_options.seed
    )
    return result


def report_text(result: SweepResult) -> str:
    lines = [status_table(result.outcomes), ""]
    board = result.leaderboard
    if board is not None:
        lines.append(f"leaderboard: {board.path}")
        if board.baseline is None:
            lines.append(f"no comparison: the baseline cell {result.grid.baseline!r} is not done")
    failed = result.failed
    counts = {s: sum(o.status == s for o in result.outcomes) for s in _STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    lines.append(f"{len(result.outcomes)} cell(s): {summary}")
    if failed:
        lines.append("rerun the same command to retry the failed cells (finished rows are kept)")
    return "\n".join(lines)


_STATUSES = ("done", "resumed", "rescored", "already done", "failed")
