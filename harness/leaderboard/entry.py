"""One run folder to one leaderboard entry: its CIs, per-level figures, identity,
provenance and per-question vectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.identity import run_identity, run_provenance
from harness.leaderboard.columns import BINARY_METRICS, METRICS
from harness.leaderboard.load import Run
from harness.metrics import sampled_metric_names
from harness.records import LeaderboardEntry, MetricCI
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci


class LeaderboardError(HarnessError):
    """Runs cannot be put on a leaderboard as asked (outages, partial runs, mixed data)."""


def _metric_ci(
    recorded: Mapping[str, Any] | None, values: list[float], bootstrap: Mapping[str, Any]
) -> MetricCI | None:
    if recorded and all(recorded.get(k) is not None for k in ("mean", "low", "high")):
        return {k: recorded[k] for k in ("mean", "low", "high")} | {  # type: ignore[return-value]
            "n": recorded.get("n", len(values))
        }
    if not values:
        return None
    ci = bootstrap_ci(
        values,
        resamples=int(bootstrap.get("resamples", DEFAULT_RESAMPLES)),
        seed=int(bootstrap.get("seed", DEFAULT_SEED)),
        confidence=float(bootstrap.get("confidence", DEFAULT_CONFIDENCE)),
    )
    return ci.as_dict()  # type: ignore[return-value]


def _tier(config: Mapping[str, Any]) -> str:
    model = config.get("model") or {}
    if model.get("tier"):
        return str(model["tier"])
    if model.get("backend") == "replay" or str(model.get("spec", "")).startswith("replay:"):
        return "replay"
    return "unknown"


def _params(config: Mapping[str, Any]) -> int | None:
    value = (config.get("model") or {}).get("params")  # checked by load_run
    return None if value is None else int(value)


def _check_complete(run: Run, allow_outages: bool, allow_partial: bool) -> None:
    excluded = run_provenance(run.summary).excluded
    outages = excluded.get("outage", 0)
    if outages and not allow_outages:
        raise LeaderboardError(
            f"{run.path}: {outages} prediction(s) are provider outages; resume the run, or "
            "pass --allow-outages to list it as not citable"
        )
    other = {k: v for k, v in excluded.items() if k != "outage"}
    if other and not allow_partial:
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(other.items()))
        raise LeaderboardError(
            f"{run.path}: partial run ({detail}); pass --allow-partial to list it as not citable"
        )


def _cost_per_1k(generation: Mapping[str, Any], n: int) -> float | None:
    cost_per_1k = generation.get("cost_per_1k_questions_usd")
    if cost_per_1k is None and generation.get("cost_usd") is not None:
        n_generated = generation.get("n_with_figures") or n
        cost_per_1k = float(generation["cost_usd"]) / n_generated * 1000
    return cost_per_1k


def make_entry(run: Run, allow_outages: bool, allow_partial: bool) -> LeaderboardEntry:
    _check_complete(run, allow_outages, allow_partial)
    summary, config = run.summary, run.config
    provenance = run_provenance(summary)
    bootstrap = summary.get("bootstrap") or {}
    vectors = {
        metric: {
            str(r["id"]): int(r[metric]) if metric in BINARY_METRICS else float(r[metric])  # type: ignore[literal-required]
            for r in run.rows
            if r.get(metric) is not None
        }
        for metric in (*METRICS, *sampled_metric_names(summary))
    }
    metrics: dict[str, MetricCI] = {}
    for metric in vectors:
        ci = _metric_ci(summary["metrics"].get(metric), list(vectors[metric].values()), bootstrap)
        if ci is not None:
            metrics[metric] = ci
    by_level: dict[str, Any] = {}
    # Spider groups by hardness, BIRD by difficulty; the table shows whichever is there.
    levels = summary.get("by_hardness") or summary.get("by_difficulty") or {}
    for level, block in levels.items():
        level_metrics = {m: block[m] for m in METRICS if isinstance(block.get(m), dict)}  # type: ignore[literal-required]
        by_level[level] = {"n": block.get("n")} | level_metrics
    generation = summary.get("generation") or {}
    excluded = summary.get("excluded") or {}
    model = config.get("model") or {}
    return {
        "config": run.name,
        "run": run.path.resolve().name,
        "tier": _tier(config),
        "params": _params(config),
        "evidence": summary.get("evidence"),
        "model": {k: model.get(k) for k in ("name", "spec", "backend", "revision")},
        "identity": run_identity(summary, config).as_dict(),
        "provenance": provenance.as_dict(),
        "citable": provenance.citable,
        "n": summary["n"],
        "n_total": summary.get("n_total", summary["n"]),
        "excluded": {
            "count": int(excluded.get("count") or 0),
            "reasons": provenance.excluded,
            "db_ids": sorted(excluded.get("db_ids") or []),
        },
        "metrics": metrics,
        "by_level": by_level,
        "tokens_per_s": generation.get("tokens_per_s"),
        "cost_per_1k_usd": _cost_per_1k(generation, summary["n"]),
        "scorer": summary.get("scorer") or {},
        "bootstrap": bootstrap,
        "data_sha256": (summary.get("data") or {}).get("sha256"),
        "failures": dict(sorted((summary.get("failures") or {}).items())),
        "correct": {m: v for m, v in vectors.items() if v},
    }
