"""index.html: one self-contained page (inline CSS, JS and data; nothing fetched).

The leaderboard, per-level breakdown and CI chart are rendered here, so they read without
JavaScript; the question explorer and the "what changed" view are drawn by the page's own
script from the embedded JSON, rows rendered lazily (only those in view), which is what
keeps Spider dev x 20 runs quick to open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from harness.display import MISSING, ci_bounds, pct
from harness.leaderboard.columns import (
    BIRD_LEVELS,
    METRICS,
    failure_labels_by_count,
    format_params,
    ordered_levels,
)
from harness.leaderboard.load import Run
from harness.metrics import label
from harness.records import Leaderboard, Row, SplitTable
from harness.report.data import page_data, read_questions
from harness.report.svg import ci_chart

HTML_NAME = "index.html"
TEMPLATES = Path(__file__).parent / "templates"


def _ci(ci: Mapping[str, Any] | None) -> Markup:
    if not ci:
        return Markup(MISSING)
    return Markup('{}<span class="ci"> {}</span>').format(
        pct(ci["mean"]), ci_bounds(ci["low"], ci["high"])
    )


def _json_script(value: Any) -> Markup:
    # Inside <script>, "</script>" or "<!--" in a question would end the block early.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _split_table_view(table: SplitTable, index: int) -> dict[str, Any]:
    entries = table["entries"]
    metrics = [m for m in METRICS if any(m in e["metrics"] for e in entries)]
    levels = ordered_levels(entries)
    title = f"{table['benchmark']} / {table['split']}"
    chart_items = [
        {"name": e["config"], "citable": e["citable"]} | e["metrics"]["ex"] for e in entries
    ]
    return {
        "index": index,
        "title": title,
        "entries": entries,
        "metrics": [(m, label(m)) for m in metrics],
        "levels": levels,
        "level_name": "difficulty" if any(lv in BIRD_LEVELS for lv in levels) else "hardness",
        "chart": Markup(ci_chart(chart_items, f"EX by run, {title}")),
        "any_not_citable": any(not e["citable"] for e in entries),
        # A break opportunity after each "_", so a dozen label columns fit without scrolling.
        "failure_labels": [
            (k, k.replace("_", "_\u200b")) for k in failure_labels_by_count(entries)
        ],
    }


def render_html(leaderboard: Leaderboard, data: list[dict[str, Any]]) -> str:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(ci=_ci, pct=pct, params=format_params)
    template = env.get_template("index.html.j2")
    return template.render(
        tables=[_split_table_view(t, i) for i, t in enumerate(leaderboard["tables"])],
        css=Markup((TEMPLATES / "report.css").read_text(encoding="utf-8")),
        js=Markup((TEMPLATES / "report.js").read_text(encoding="utf-8")),
        data=_json_script(data),
        built_with=leaderboard.get("built_with", ""),
    )


def build_html(leaderboard: Leaderboard, runs: Sequence[Run]) -> str:
    """`runs`: the loaded run folders the leaderboard came from."""
    rows: dict[tuple[str, str], dict[str, list[Row]]] = {}
    questions: dict[tuple[str, str], dict[str, str]] = {}
    for run in runs:
        key = (str(run.summary["benchmark"]), str(run.summary["split"]))
        rows.setdefault(key, {})[run.name] = run.rows
        for qid, text in read_questions(run.path).items():
            questions.setdefault(key, {}).setdefault(qid, text)
    return render_html(leaderboard, page_data(leaderboard, rows, questions))
