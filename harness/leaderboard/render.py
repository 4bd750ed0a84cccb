"""LEADERBOARD.md (one markdown table per benchmark split, with its footnotes) and
leaderboard.json, both written atomically."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.display import MISSING, pct, pct_ci
from harness.io import write_atomic
from harness.leaderboard.columns import (
    JSON_NAME,
    MD_NAME,
    METRICS,
    NOT_CITABLE_MARK,
    display_name,
    format_params,
    ordered_levels,
)
from harness.metrics import SAMPLED_PREFIXES, label
from harness.records import Leaderboard, LeaderboardEntry, SplitTable
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED


def _fixed(value: float | None, digits: int) -> str:
    return MISSING if value is None else f"{value:.{digits}f}"


def render_split_table(table: SplitTable) -> str:
    """One split's ranked markdown table, then its footnotes."""
    entries = table["entries"]
    sampled = {m for e in entries for m in e["metrics"] if m.startswith(SAMPLED_PREFIXES)}
    metrics = [m for m in METRICS if any(m in e["metrics"] for e in entries)] + sorted(sampled)
    levels = ordered_levels(entries)
    show_speed = any(e["tokens_per_s"] is not None for e in entries)
    show_cost = any(e["cost_per_1k_usd"] is not None for e in entries)
    # BIRD: with or without the evidence hints is part of what was measured.
    show_evidence = any(e.get("evidence") is not None for e in entries)
    headers = ["rank", "config", "tier", "params"]
    headers += ["evidence"] if show_evidence else []
    headers += [f"{label(m)} [95% CI]" for m in metrics]
    headers += [f"EX {level}" for level in levels]
    headers += ["n"]
    headers += ["tokens/s"] if show_speed else []
    headers += ["$ / 1k q"] if show_cost else []
    body = []
    for e in entries:
        row = [e["rank"], display_name(e), e["tier"], format_params(e["params"])]
        if show_evidence:
            row += [{True: "yes", False: "no"}.get(e.get("evidence"), MISSING)]
        row += [pct_ci(e["metrics"].get(m)) for m in metrics]
        row += [pct((e["by_level"].get(lv, {}).get("ex") or {}).get("mean")) for lv in levels]
        row += [str(e["n"]) if e["n"] == e["n_total"] else f"{e['n']} of {e['n_total']}"]
        if show_speed:
            row += [_fixed(e["tokens_per_s"], 1)]
        if show_cost:
            row += [_fixed(e["cost_per_1k_usd"], 2)]
        body.append(row)
    # Numbers right-aligned so the decimal points line up; names left.
    align = ["right", "left", "left"] + ["right"] * (len(headers) - 3)
    if show_evidence:
        align[4] = "left"
    text = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True, colalign=align)
    return text + "\n\n" + _footer(table)


def _group_configs(
    entries: Iterable[LeaderboardEntry], key: Callable[[LeaderboardEntry], str]
) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for e in entries:
        groups.setdefault(key(e), []).append(e["config"])
    return groups


def _scorer_text(scorer: Mapping[str, Any], version: str | None) -> str:
    flags = ", ".join(
        f"{k}={json.dumps(scorer[k])}"
        for k in ("keep_distinct", "plug_value", "timeout_s")
        if k in scorer
    )
    text = f"{scorer.get('name', 'unknown')} scorer"
    if scorer.get("semantics"):
        text += f", {scorer['semantics']} semantics"
    if flags:
        text += f" ({flags})"
    if scorer.get("official_commit"):
        text += f", official evaluator commit `{scorer['official_commit']}`"
    if version:
        text += f", scorer version {version}"
    return text


def _with_configs(groups: Mapping[str, list[str]]) -> list[str]:
    if len(groups) == 1:
        return list(groups)
    return [f"{text} — {', '.join(names)}" for text, names in groups.items()]


def _bootstrap_text(e: LeaderboardEntry) -> str:
    boot = e["bootstrap"]
    return "{} percentile bootstrap over questions, {:,} resamples, seed {}".format(
        f"{round(100 * float(boot.get('confidence', DEFAULT_CONFIDENCE)))}%",
        int(boot.get("resamples", DEFAULT_RESAMPLES)),
        boot.get("seed", DEFAULT_SEED),
    )


def _harness_text(e: LeaderboardEntry) -> str:
    p = e["provenance"]
    commit = f"commit `{p['harness_commit']}`" if p["harness_commit"] else "commit unknown"
    state = {True: "dirty tree", False: "clean tree", None: "tree state unknown"}[p["dirty"]]
    return f"{p['harness_version'] or 'version unknown'} at {commit} ({state})"


def _not_citable_line(entries: list[LeaderboardEntry]) -> str:
    notes = []
    for e in entries:
        reasons = list(e["provenance"]["not_citable_reasons"])
        if e["excluded"]["db_ids"]:
            reasons.append("missing databases: " + ", ".join(e["excluded"]["db_ids"]))
        notes.append(f"{e['config']} ({'; '.join(reasons)})")
    partial = any(e["excluded"]["count"] for e in entries)
    ending = ". Partial runs are scored on fewer questions than the split (see n)."
    return f"{NOT_CITABLE_MARK} Not citable: " + "; ".join(notes) + (ending if partial else ".")


def _footer(table: SplitTable) -> str:
    entries = table["entries"]
    lines = [
        "Accuracies in %. EX = execution accuracy, TS = test-suite accuracy, EM = exact set "
        "match (EX strict, Soft-F1, R-VES: BIRD's); [low, high] = "
        + "; ".join(_with_configs(_group_configs(entries, _bootstrap_text)))
        + ". Ranked by the EX point estimate: overlapping CIs do not show a difference; "
        "`harness diff` tests pairs on the same questions."
    ]
    scorers = _group_configs(
        entries, lambda e: _scorer_text(e["scorer"], e["identity"]["fields"]["scorer.version"])
    )
    lines.append("Evaluator: " + "; ".join(_with_configs(scorers)) + ".")
    if len(scorers) > 1:
        lines.append(
            "⚠ Configs in this table were scored with different evaluator settings; "
            "their numbers are not directly comparable."
        )

    def data_text(e: LeaderboardEntry) -> str:
        sha = e["data_sha256"]
        if not sha:
            return "dataset sha256 unknown"
        dataset = table["datasets"].get(sha, {})
        files = ", ".join(f"{name} `{h[:12]}`" for name, h in dataset.get("files", {}).items())
        return f"dataset sha256 `{sha}` ({files}; {len(dataset.get('databases', {}))} databases)"

    datasets = _group_configs(entries, data_text)
    lines.append(
        f"Data: {table['benchmark']} {table['split']}, " + "; ".join(_with_configs(datasets)) + "."
    )
    lines.append("Harness: " + "; ".join(_with_configs(_group_configs(entries, _harness_text))))
    not_citable = [e for e in entries if not e["citable"]]
    if not_citable:
        lines.append(_not_citable_line(not_citable))
    return "\n\n".join(lines)


def render_leaderboard_markdown(leaderboard: Leaderboard) -> str:
    """LEADERBOARD.md: a section per (benchmark, split)."""
    parts = ["# Leaderboard", ""]
    if not leaderboard["tables"]:
        parts.append("No runs.")
    for table in leaderboard["tables"]:
        parts += [f"## {table['benchmark']} / {table['split']}", "", render_split_table(table), ""]
    return "\n".join(parts).rstrip() + "\n"


def render_leaderboard_json(leaderboard: Leaderboard) -> str:
    return json.dumps(leaderboard, indent=1, ensure_ascii=False) + "\n"


def write_leaderboard(leaderboard: Leaderboard, out_dir: Path) -> None:
    """leaderboard.json and LEADERBOARD.md in `out_dir`, each replaced atomically."""
    write_atomic(out_dir / JSON_NAME, render_leaderboard_json(leaderboard))
    write_atomic(out_dir / MD_NAME, render_leaderboard_markdown(leaderboard))
