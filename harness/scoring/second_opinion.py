"""`harness score --evaluator official|both`: the official Spider evaluator beside ours.

The official evaluator prints only aggregate tables, so it is compared with the native
summary level by level (count, EX, EM as printed, to 3 decimals); every difference is
listed. Only Spider-format benchmarks can be sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.display import pct
from harness.errors import ConfigError, HarnessError
from harness.io import write_json
from harness.scoring.scorer import (
    ScoreOptions,
    check_databases,
    load_for_scoring,
    score_benchmark,
)

if TYPE_CHECKING:  # imported where used: a native score need not load the bridge
    from harness.scoring.official_bridge import Disagreement, OfficialResult

EVALUATORS = ("native", "official", "both")


class ScorersDisagree(HarnessError):
    """`--evaluator both` found a metric on which the two scorers differ."""


@dataclass
class ScoreReport:
    summary: dict[str, Any] | None  # native summary.json (None for --evaluator official)
    official: OfficialResult | None = None
    disagreements: list[Disagreement] = field(default_factory=list)


def render_official(result: OfficialResult) -> str:
    from tabulate import tabulate

    from harness.scoring.official_bridge import LEVELS

    table = [["count", *[result.counts.get(level, 0) for level in LEVELS]]]
    if result.ex is not None:
        table.append(["EX", *[pct(result.ex.get(level, 0)) for level in LEVELS]])
    if result.em is not None:
        table.append(["EM", *[pct(result.em.get(level, 0)) for level in LEVELS]])
    text = tabulate(table, headers=["official", *LEVELS], tablefmt="github", disable_numparse=True)
    text += "\n\naccuracies in % (the evaluator prints fractions to 3 decimals: the same figures)"
    tokenizer = "minimal punkt_tab" if result.punkt.get("minimal") else "nltk punkt_tab"
    if result.punkt_sensitive_ids:
        tokenizer += f"; {len(result.punkt_sensitive_ids)} ids may depend on its parameters"
    commit = result.commit[:7] or "?"
    return text + f"\n\nofficial evaluator (test-suite-sql-eval {commit}, {tokenizer})"


def score_with(
    evaluator: str,
    bench: str,
    data_dir: Path | None,
    split: str,
    pred_path: Path,
    out_dir: Path,
    db_dir: Path | None,
    options: ScoreOptions,
    evaluator_dir: Path | None = None,
) -> ScoreReport:
    if evaluator not in EVALUATORS:
        raise ConfigError(f"--evaluator must be one of {', '.join(EVALUATORS)}")
    data, preds = load_for_scoring(
        bench, data_dir, split, pred_path, db_dir, limit=options.limit,
        allow_missing_predictions=options.allow_missing_predictions,
    )  # fmt: skip
    if evaluator == "native":
        return ScoreReport(score_benchmark(data, preds, out_dir, options, Path(pred_path)))
    if data.name not in ("spider", "fixture"):
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
    result = run_official(
        data, preds.sql, official_dir, keep_distinct=options.keep_distinct,
        plug_value=options.plug_value, etype="all" if options.em else "exec", only_ids=ids,
        timeout_s=options.timeout_s,
    )  # fmt: skip
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
