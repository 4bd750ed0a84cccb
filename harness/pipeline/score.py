"""`harness score`: read a benchmark and a predictions file from disk, then score them with
the native scorer, the official evaluator, or both. This is the one entry to scoring
from files: `--limit`, `--timeout` and the rest of ScoreOptions apply to either
evaluator the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import metrics
from harness.benchmarks.base import load_benchmark
from harness.errors import ConfigError, HarnessError
from harness.io import write_json
from harness.predictions import read_for_benchmark
from harness.records import BenchmarkData, PredictionSet, Summary
from harness.scoring.options import EVALUATORS, ScoreOptions
from harness.scoring.scorer import check_databases, family_of, score_benchmark

if TYPE_CHECKING:  # imported where used: a native score need not load the bridge
    from harness.scoring.official_bridge import Disagreement, OfficialResult


class ScorersDisagree(HarnessError):
    """`--evaluator both` found a metric on which the two scorers differ."""


@dataclass
class ScoreReport:
    summary: Summary | None  # native summary.json (None for --evaluator official)
    official: OfficialResult | None = None
    disagreements: list[Disagreement] = field(default_factory=list)


@dataclass
class BenchmarkSource:
    """Where a benchmark split is read from (what --bench/--data-dir/--split/--db-dir say),
    and the loader's own options (BIRD's `evidence`)."""

    name: str
    data_dir: Path | None = None
    split: str = "dev"
    db_dir: Path | None = None
    loader_options: dict[str, Any] = field(default_factory=dict)

    def load(self) -> BenchmarkData:
        return load_benchmark(
            self.name, data_dir=self.data_dir, split=self.split, db_dir=self.db_dir,
            **self.loader_options,
        )  # fmt: skip


def load_for_scoring(
    source: BenchmarkSource, pred_path: Path, options: ScoreOptions
) -> tuple[BenchmarkData, PredictionSet]:
    """The split's first `options.limit` examples (all when None) and their predictions,
    joined by id (errors name the file and line). The predictions are read against the
    whole split, so a file for the whole split and one for just the first `limit`
    questions are both accepted."""
    data = source.load()
    preds = _read(data, pred_path, options)
    return data.limited(options.limit), preds


def _read(data: BenchmarkData, pred_path: Path, options: ScoreOptions) -> PredictionSet:
    return read_for_benchmark(
        data, Path(pred_path), limit=options.limit, allow_missing=options.allow_missing_predictions
    )


def score(
    source: BenchmarkSource,
    pred_path: Path,
    out_dir: Path,
    options: ScoreOptions,
    evaluator: str = "native",
    evaluator_dir: Path | None = None,
) -> ScoreReport:
    """Score one predictions file into `out_dir` (rows.jsonl and summary.json; official.json
    too when the official evaluator runs)."""
    if evaluator not in EVALUATORS:
        raise ConfigError(f"--evaluator must be one of {', '.join(EVALUATORS)}")
    data, preds = load_for_scoring(source, pred_path, options)
    out_dir = Path(out_dir)
    if evaluator == "native":
        return ScoreReport(score_benchmark(data, preds, out_dir, options, Path(pred_path)))
    if family_of(data).semantics != metrics.SPIDER.semantics:
        raise ConfigError(f"the official Spider evaluator cannot score {data.name!r}")
    from harness.scoring.official_bridge import compare, find_evaluator, run_official

    official_dir = evaluator_dir or find_evaluator()
    summary = None
    if evaluator == "both":
        summary = score_benchmark(data, preds, out_dir, options, Path(pred_path))
    else:
        check_databases(data, options)
    left_out = set(preds.outage_ids) | set(preds.missing_ids)
    ids = [e.id for e in data.examples if e.db_paths and e.id not in left_out]
    result = run_official(data, preds.sql, official_dir, options, only_ids=ids)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "official.json", result.as_dict())
    report = ScoreReport(summary, result)
    if summary is not None:
        report.disagreements = compare(summary, result)
        summary["official"] = {
            **result.as_dict(),
            "disagreements": [d.describe() for d in report.disagreements],
        }
        write_json(out_dir / "summary.json", summary)
    return report


def score_files(
    bench: str,
    data_dir: Path | None,
    split: str,
    pred_path: Path,
    out_dir: Path,
    db_dir: Path | None = None,
    options: ScoreOptions | None = None,
    **loader_options: Any,
) -> Summary:
    """The native summary.json of one predictions file (library use; `score` is the CLI's)."""
    source = BenchmarkSource(bench, data_dir, split, db_dir, loader_options)
    summary = score(source, pred_path, out_dir, options or ScoreOptions()).summary
    assert summary is not None  # the native evaluator always writes one
    return summary


def score_many(
    source: BenchmarkSource, pred_paths: list[Path], out_dir: Path, options: ScoreOptions
) -> list[tuple[Path, Summary]]:
    """Several predictions files against one benchmark, each into `out_dir/<file stem>/`.

    Cheaper than one `harness score` per file: the benchmark is loaded once, the worker
    server starts once, and with the cache on each file reuses every verdict an earlier
    file reached for the same question and SQL (see verdict_cache). Every file is read
    and checked before anything is scored.
    """
    stems = [Path(p).stem for p in pred_paths]
    clashes = sorted({s for s in stems if stems.count(s) > 1})
    if clashes:
        raise ConfigError(
            f"--pred files must have distinct names (each gets {out_dir}/<name>/): "
            f"{', '.join(clashes)} given more than once"
        )
    data = source.load()
    loaded = [(Path(p), _read(data, Path(p), options)) for p in pred_paths]
    data = data.limited(options.limit)
    return [
        (path, score_benchmark(data, preds, Path(out_dir) / path.stem, options, path))
        for path, preds in loaded
    ]
