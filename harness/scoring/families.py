"""Per benchmark family: which judge runs in the workers, which verdict the selftest
applies, which metrics it reports, how examples are grouped in the summary (Spider
hardness, BIRD difficulty), and what else its summary.json records. Everything a
family adds is looked up by its name in a registry, so the scorer has no branch per
family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import metrics
from harness.metrics import Reporting
from harness.records import Example, Row
from harness.registry import Registry
from harness.scoring.engine.worker import JudgeTask, WorkerContext
from harness.scoring.options import ScoreOptions
from harness.scoring.selftest import Verdict

# (task, worker context) -> row; imported inside the worker, on first use.
Judge = Callable[[JudgeTask, WorkerContext], Row]
# (gold-vs-gold rows, benchmark, options) -> (failures, details): the selftest verdict.
SelftestVerdict = Verdict

JUDGES: Registry[Judge] = Registry(
    "judge",
    {
        "spider": "harness.scoring.spider.judge:judge_spider",
        "bird": "harness.scoring.bird.judge:judge_bird",
        "no-database": "harness.scoring.nodb_judge:judge_nodb",
    },
    callable,
    "a judge function",
)
SELFTEST_VERDICTS: Registry[SelftestVerdict] = Registry(
    "selftest verdict",
    {
        "spider": "harness.scoring.selftest:spider_verdict",
        "bird": "harness.scoring.bird.selftest:bird_verdict",
        "no-database": "harness.scoring.selftest:nodb_verdict",
    },
    callable,
    "a verdict function",
)
# (rows, examples, options) -> (what summary.json's "scorer" adds for the family, the
# sections it adds to summary.json). A family without an entry adds nothing.
SummaryFields = Callable[
    [list[Row], list[Example], ScoreOptions], tuple[dict[str, Any], dict[str, Any]]
]
SUMMARY_FIELDS: Registry[SummaryFields] = Registry(
    "summary fields",
    {
        "spider": "harness.scoring.spider.summary:summary_fields",
        "bird": "harness.scoring.bird.references:summary_fields",
    },
    callable,
    "a function",
)
# (task, context) -> the fields a row can get without running the prediction (Spider's
# hardness and EM), for a row whose worker crashed or hung: it still lands in the right
# per-hardness group. Called in the scoring process.
STATIC_FIELDS: Registry[Judge] = Registry(
    "static fields",
    {
        "spider": "harness.scoring.spider.judge:static_fields",
        "no-database": "harness.scoring.spider.judge:static_fields",
    },
    callable,
    "a function",
)
# options -> None, raising before any worker starts when the family's own inputs (BIRD's
# reviewed exception list) are broken.
INPUT_CHECKS: Registry[Callable[[ScoreOptions], None]] = Registry(
    "input check",
    {"bird": "harness.scoring.bird.references:check_inputs"},
    callable,
    "a function",
)


@dataclass(frozen=True)
class Family:
    name: str  # its judge and selftest verdict in JUDGES and SELFTEST_VERDICTS
    reporting: Reporting  # the metrics it reports and how its examples are grouped
    # Whether a row is a pure function of its inputs and can be stored and copied (see
    # harness.scoring.engine.verdict_cache); BIRD's time limits follow the gold's measured time.
    reusable_verdicts: bool = False
    # Modules the worker server imports once, before forking workers (the judge's heavy
    # imports: sqlglot and the official grammar), instead of every worker importing them.
    preload: tuple[str, ...] = ()
    # maj@N when no sample executes: "wrong", or "random" (one sample's verdict); see sampled.py
    vote_all_failed: str = "wrong"

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.reporting.metrics

    @property
    def group_field(self) -> str:
        return self.reporting.group_field

    @property
    def semantics(self) -> str:
        return self.reporting.semantics


SPIDER = Family(
    name="spider",
    reporting=metrics.SPIDER,
    reusable_verdicts=True,
    preload=(
        "harness.scoring.spider.judge",
        "harness.scoring.exact_match",
        "harness.scoring.failures",
    ),
)
BIRD = Family(
    name="bird",
    reporting=metrics.BIRD,
    preload=("harness.scoring.bird.judge",),
    vote_all_failed="random",
)

# No database to execute on: exact set match and a normalized string match, no EX.
NO_DATABASE = Family(
    name="no-database",
    reporting=metrics.NO_DATABASE,
)

FAMILIES: dict[str, Family] = {
    "spider": SPIDER,
    "fixture": SPIDER,
    "bird": BIRD,
    "create-context": NO_DATABASE,
}


def judge_of(family: Family) -> Judge:
    return JUDGES.get(family.name)


def selftest_verdict(family: Family) -> SelftestVerdict:
    return SELFTEST_VERDICTS.get(family.name)


def static_fields(family: Family) -> Judge | None:
    return STATIC_FIELDS.get(family.name) if family.name in STATIC_FIELDS else None


def check_inputs(family: Family, options: ScoreOptions) -> None:
    if family.name in INPUT_CHECKS:
        INPUT_CHECKS.get(family.name)(options)


def summary_fields(
    family: Family, rows: list[Row], examples: list[Example], options: ScoreOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    if family.name not in SUMMARY_FIELDS:
        return {}, {}
    return SUMMARY_FIELDS.get(family.name)(rows, examples, options)
