"""Score predictions against a loaded benchmark: the stage between predictions and
rows.jsonl + summary.json. Takes records (BenchmarkData, PredictionSet) and ScoreOptions;
knows nothing of models, benchmark loaders or prediction file formats (the score
pipeline above reads the files)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness import __version__
from harness.aggregate import aggregate
from harness.errors import ConfigError, MissingDatabaseError, PredictionsError
from harness.hashing import sha256_file, sha256_text
from harness.io import dumps, write_json, write_jsonl
from harness.provenance import git_state
from harness.records import (
    SUMMARY_SCHEMA_VERSION,
    BenchmarkData,
    Example,
    PredictionSet,
    Row,
    Summary,
)
from harness.scoring.engine.dispatch import dispatch
from harness.scoring.engine.gold_cache import CacheStats, default_cache_dir, prepare_cache
from harness.scoring.engine.worker import JudgeTask, WorkerContext
from harness.scoring.families import (
    FAMILIES,
    Family,
    check_inputs,
    static_fields,
    summary_fields,
)
from harness.scoring.options import ScoreOptions
from harness.scoring.sampled import VOTE_TIMEOUT_S, combine, sampled_metrics

# Bumped only when a verdict could change (not with every harness release), so runs
# scored by different harness versions stay comparable in a leaderboard diff.
SCORER_VERSION = "1"


def family_of(data: BenchmarkData) -> Family:
    try:
        return FAMILIES[data.name]
    except KeyError:
        raise ConfigError(f"no scorer for benchmark {data.name!r}") from None


def _data_provenance(
    data: BenchmarkData, examples: list[Example], db_sha: dict[str, str]
) -> dict[str, Any]:
    files = {p.name: sha256_file(p) for p in data.data_files if p.is_file()}
    dbs: dict[str, str] = {}
    for ex in examples:
        for path in ex.db_paths:
            name = ex.db_id if path == ex.db_paths[0] else f"{ex.db_id}/{path.name}"
            dbs.setdefault(name, db_sha[str(path)])
    combined = sha256_text(dumps({"files": files, "databases": dict(sorted(dbs.items()))}))
    return {"files": files, "databases": dict(sorted(dbs.items())), "sha256": combined}


def check_databases(data: BenchmarkData, options: ScoreOptions) -> None:
    """Refuse, before anything runs, a benchmark with missing databases unless a partial
    score was asked for (--allow-partial)."""
    missing = set(data.missing_db_ids)
    if missing and not options.allow_missing_db:
        n_affected = sum(1 for e in data.examples if e.db_id in missing)
        where = str(data.data_files[0].parent) if data.data_files else "the data directory"
        raise MissingDatabaseError(sorted(missing), n_affected, where)


def score_benchmark(
    data: BenchmarkData,
    predictions: PredictionSet,
    out_dir: Path,
    options: ScoreOptions,
    predictions_path: Path | None = None,
) -> Summary:
    """Score every example that can be scored; write rows.jsonl and summary.json."""
    started = time.perf_counter()
    family = family_of(data)
    check_inputs(family, options)
    check_databases(data, options)
    missing_db = set(data.missing_db_ids)
    outage = set(predictions.outage_ids)
    no_pred = set(predictions.missing_ids)
    to_score = [
        e
        for e in data.examples
        if e.db_id not in missing_db and e.id not in outage and e.id not in no_pred
    ]
    excluded_missing = [e.id for e in data.examples if e.db_id in missing_db]
    excluded_outage = [e.id for e in data.examples if e.id in outage and e.db_id not in missing_db]
    excluded_no_pred = [
        e.id for e in data.examples if e.id in no_pred and e.db_id not in missing_db
    ]

    # Each database file is hashed once per run (examples share a handful of files).
    paths = {str(p): p for e in to_score for p in e.db_paths}
    db_sha = {key: sha256_file(path) for key, path in paths.items()}
    cache_dir = None if options.no_cache else (options.cache_dir or default_cache_dir())
    cache_stats = CacheStats()
    if cache_dir is not None and to_score:
        # Set up once, here, before any worker opens it (see gold_cache's docstring).
        unusable = prepare_cache(cache_dir)
        if unusable is not None:
            cache_stats.failed(f"cache not usable, every gold query was run: {unusable}")
            cache_dir = None
    context = WorkerContext(
        limits=options.limits(),
        db_sha256=db_sha,
        tables=data.tables,
        cache_dir=cache_dir,
        family=data.name if data.name in FAMILIES else "spider",
    )
    joined = predictions.samples or predictions.sql
    unjoined = [e.id for e in to_score if e.id not in joined]
    if unjoined:
        # The readers refuse or list these (join_to_split); an empty prediction in their
        # place could score correct (BIRD, gold without rows).
        raise PredictionsError(
            f"no prediction for {len(unjoined)} example(s): {', '.join(unjoined[:10])}"
        )
    n_samples = len(next(iter(predictions.samples.values()), [""]))
    if predictions.samples:
        # One task per distinct SQL of an example: equal samples get one verdict.
        tasks = []
        task_of: dict[tuple[str, str], int] = {}
        for e in to_score:
            for sql in predictions.samples[e.id]:
                if (e.id, sql) not in task_of:
                    task_of[(e.id, sql)] = len(tasks)
                    tasks.append(JudgeTask(e, sql, options, vote=True))
    else:
        tasks = [JudgeTask(e, predictions.sql[e.id], options) for e in to_score]
    jobs = options.jobs or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(tasks)))
    variants = max((len(e.db_paths) for e in to_score), default=1)
    hard_timeout = options.task_deadline_s(variants, bool(predictions.samples), VOTE_TIMEOUT_S)

    done = dispatch(tasks, context, family, options, jobs, hard_timeout, cache_dir)
    cache_stats.add(done.gold_cache)
    cache_stats.add(done.verdict_cache)
    final_rows = done.rows
    fill_unjudged(family, tasks, final_rows, context)
    if predictions.samples:
        final_rows = [
            combine(
                e,
                [final_rows[task_of[(e.id, sql)]] for sql in predictions.samples[e.id]],
                family.vote_all_failed,
                options.seed,
            )
            for e in to_score
        ]
    n_split = data.n_split or len(data.examples)
    n_unrequested = n_split - len(data.examples)
    for ex, row in zip(to_score, final_rows, strict=True):
        if ex.difficulty and "difficulty" not in row:
            row["difficulty"] = ex.difficulty

    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_dir / "rows.jsonl", final_rows)
    wall = time.perf_counter() - started
    commit, dirty = git_state()
    excluded = excluded_missing + excluded_outage + excluded_no_pred
    summary: Summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "harness_version": __version__,
        "harness_commit": commit,
        "dirty": dirty,
        "benchmark": data.name,
        "split": data.split,
        "test_suite": data.test_suite,
        "n": len(final_rows),
        "n_total": n_split,
        "excluded": {
            "count": len(excluded) + n_unrequested,
            "reasons": {
                "missing_database": len(excluded_missing),
                "outage": len(excluded_outage),
                "missing_prediction": len(excluded_no_pred),
                "limit": n_unrequested,
            },
            "db_ids": sorted(missing_db),
            "ids": excluded,
        },
        "complete": not excluded and not n_unrequested,
    }
    extra = sampled_metrics(n_samples) if predictions.samples else ()
    summary.update(aggregate(final_rows, family.reporting, options.resamples, options.seed, extra))
    if predictions.samples:
        summary["sampling"] = {
            "samples": n_samples,
            "correct_by": "ts" if data.test_suite else "ex",
            "pass_at_k": "unbiased estimator 1 - C(n-c,k)/C(n,k)",
            "vote": "OmniSQL major_voting: execution result as a set of rows, largest group, "
            "tie to the earliest; failed executions do not vote",
            "vote_all_failed": family.vote_all_failed,
            "top_level_verdicts": "sample 0",
        }
    summary["bootstrap"] = {
        "method": "percentile",
        "resamples": options.resamples,
        "seed": options.seed,
        "confidence": 0.95,
    }
    scorer: dict[str, Any] = {
        "name": "native",
        "version": SCORER_VERSION,
        "semantics": family.semantics,
        "timeout_s": options.timeout_s,
    }
    own_fields, sections = summary_fields(family, final_rows, to_score, options)
    scorer.update(own_fields)
    summary.update(sections)  # type: ignore[typeddict-item]
    summary["scorer"] = scorer
    summary["data"] = _data_provenance(data, to_score, db_sha)
    if predictions_path is not None:
        summary["predictions"] = {
            "path": str(predictions_path),
            "sha256": sha256_file(Path(predictions_path)),
            "format": predictions.fmt,
        }
    summary["gold_cache"] = {
        "enabled": not options.no_cache,
        "failures": cache_stats.failures,
        "first_failure": cache_stats.first_failure,
    }
    summary["timing"] = {
        "wall_s": round(wall, 3),
        "examples_per_s": round(len(final_rows) / wall, 2) if wall else None,
        # How the gold results were found (varies with the cache's state, as timing does).
        "gold_cache": {"hits": cache_stats.hits, "misses": cache_stats.misses},
        "verdicts": {"reused": done.reused, "duplicates": done.duplicates, "judged": done.judged},
    }
    gen = _generation_figures(predictions, [e.id for e in to_score])
    if gen:
        summary["generation"] = gen
    summary["options"] = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
    }
    write_json(out_dir / "summary.json", summary)
    return summary


def fill_unjudged(
    family: Family, tasks: list[JudgeTask], rows: list[Row], context: WorkerContext
) -> None:
    """A row whose worker crashed or hung still gets what can be judged without running
    the prediction (Spider: hardness and EM), so it lands in the right group. The fill
    is looked up only when such a row exists: it imports the judge (and sqlglot), which
    the scoring process otherwise never needs."""
    unjudged = [(t, r) for t, r in zip(tasks, rows, strict=True) if family.group_field not in r]
    if not unjudged:
        return
    fill = static_fields(family)
    if fill is None:
        return
    for task, row in unjudged:
        row.update(fill(task, context))


def _generation_figures(preds: PredictionSet, ids: list[str]) -> dict[str, Any] | None:
    metas = [preds.meta[i] for i in ids if i in preds.meta]
    if not metas:
        return None

    def total(key: str) -> float | None:
        vals = [m[key] for m in metas if isinstance(m.get(key), (int, float))]
        return float(sum(vals)) if vals else None

    out: dict[str, Any] = {
        "n_with_figures": len(metas),
        "tokens_in": total("tokens_in"),
        "tokens_out": total("tokens_out"),
        "latency_s": total("latency_s"),
        "cost_usd": total("cost_usd"),
    }
    if out["tokens_out"] and out["latency_s"]:
        out["tokens_per_s"] = out["tokens_out"] / out["latency_s"]
    if out["cost_usd"] is not None:
        out["cost_per_1k_questions_usd"] = out["cost_usd"] / len(metas) * 1000
    return out
