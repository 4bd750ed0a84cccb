"""What summary.json records about a Spider-family score beyond the common fields: the
official flags it followed and the evaluator commit its semantics mirror. (Light to
import: the scoring process reads it without the judge's sqlglot.)"""

from __future__ import annotations

from typing import Any

from harness.records import Example, Row
from harness.scoring.options import ScoreOptions

# github.com/taoyds/test-suite-sql-eval, the evaluator these verdicts reproduce.
OFFICIAL_SPIDER_COMMIT = "e97acc546ecbee8fa27fa8dbf025ef61493a876c"


def summary_fields(
    rows: list[Row], examples: list[Example], options: ScoreOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    scorer = {
        "keep_distinct": options.keep_distinct,
        "plug_value": options.plug_value,
        "official_commit": OFFICIAL_SPIDER_COMMIT,
    }
    return scorer, {}
