"""Per benchmark family: which judge runs in the workers, which metrics it reports, and
how examples are grouped in the summary (Spider hardness, BIRD difficulty)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import metrics
from harness.metrics import Reporting


@dataclass(frozen=True)
class Family:
    judge: str  # "module:function", imported inside the worker
    # "module:function" (rows, bench, options) -> (failures, details): the selftest verdict
    # on gold scored against itself.
    selftest: str
    reporting: Reporting  # the metrics it reports and how its examples are grouped
    # Whether a row is a pure function of its inputs and can be stored and copied (see
    # harness.scoring.verdict_cache); BIRD's time limits follow the gold's measured time.
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
    judge="harness.scoring.spider_judge:judge_spider",
    selftest="harness.selftest:spider_verdict",
    reporting=metrics.SPIDER,
    reusable_verdicts=True,
    preload=(
        "harness.scoring.spider_judge",
        "harness.scoring.exact_match",
        "harness.scoring.failures",
    ),
)
BIRD = Family(
    judge="harness.scoring.bird_judge:judge_bird",
    selftest="harness.scoring.bird_selftest:bird_verdict",
    reporting=metrics.BIRD,
    preload=("harness.scoring.bird_judge",),
    vote_all_failed="random",
)

# No database to execute on: exact set match and a normalized string match, no EX.
NO_DATABASE = Family(
    judge="harness.scoring.nodb_judge:judge_nodb",
    selftest="harness.scoring.nodb_judge:nodb_verdict",
    reporting=metrics.NO_DATABASE,
)

FAMILIES: dict[str, Family] = {
    "spider": SPIDER,
    "fixture": SPIDER,
    "bird": BIRD,
    "create-context": NO_DATABASE,
}


def resolve(target: str) -> Callable[..., Any]:
    """The function a "module:function" string names, imported on first use."""
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)
