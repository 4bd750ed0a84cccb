"""`harness bench`: the generation stage into a run folder, then the scoring stage on the
predictions file it wrote, there."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.benchmarks.base import load_benchmark
from harness.config import RunConfig
from harness.generation.backend import BackendLoader
from harness.generation.generate import generate
from harness.generation.resume import GenerationResult
from harness.generation.run_folder import PREDICTIONS
from harness.pipeline.score import score_files
from harness.records import Summary
from harness.scoring.options import ScoreOptions
from harness.scoring.scorer import check_databases


def bench(
    cfg: RunConfig,
    out_dir: Path,
    score_options: ScoreOptions,
    progress: bool = True,
    loader: BackendLoader | None = None,
) -> tuple[GenerationResult, Summary]:
    """Generate into `out_dir`, then score that predictions file there. Outage rows are
    excluded by the scorer and reported as such, never scored wrong."""
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
