"""Leaderboard: run folders in, LEADERBOARD.md + leaderboard.json + accuracy_vs_size.png out.

Each (benchmark, split) gets its own table: numbers measured on different questions are
never ranked against each other. leaderboard.json keeps every entry's per-question 0/1
vectors keyed by question id, so any two leaderboards can later be compared paired
(`harness diff`). Nothing time-dependent is written, so rebuilding from the same runs
gives byte-identical files.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness import __version__
from harness.display import pct, pct_ci
from harness.errors import ConfigError, DataError, HarnessError
from harness.identity import (
    data_files_sha256,
    run_identity,
    run_provenance,
)
from harness.io import jsonl_objects
from harness.metrics import METRIC_LABELS, SAMPLED_PREFIXES, sampled_metric_names
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci

SCHEMA_VERSION = 1
# Per-question metrics, in column order. The 0/1 ones are correctness; BIRD's Soft-F1 and
# R-VES are per-question scores in [0, 1] (R-VES can exceed 1).
BINARY_METRICS = ("ex", "ts", "em", "ex_strict")
METRICS = (*BINARY_METRICS, "soft_f1", "r_ves")
# Official level orders (Spider hardness, BIRD difficulty); anything else follows, sorted.
LEVEL_ORDER = ("easy", "medium", "hard", "extra", "simple", "moderate", "challenging")
MD_NAME = "LEADERBOARD.md"
JSON_NAME = "leaderboard.json"
PLOT_NAME = "accuracy_vs_size.png"
NOT_CITABLE_MARK = "†"


class LeaderboardError(HarnessError):
    """Runs cannot be put on a leaderboard as asked (outages, partial runs, mixed data)."""


@dataclass
class Run:
    """One run folder as read from disk."""

    name: str
    path: Path
    summary: dict[str, Any]
    config: dict[str, Any]
    rows: list[dict[str, Any]]


# --------------------------------------------------------------------------- reading runs


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: not found (is this a scored run folder?)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(value, dict):
        raise DataError(f"{path}: expected a JSON object")
    return value


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataError(f"{path}: not found (per-question rows are needed for paired diffs)")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, row in jsonl_objects(lines, path, DataError):
        if "id" not in row:
            raise DataError(f"{path}:{lineno}: a row needs an 'id'")
        row_id = str(row["id"])
        if row_id in seen:
            raise DataError(f"{path}:{lineno}: duplicate id {row_id!r}")
        seen.add(row_id)
        for metric in METRICS:
            value = row.get(metric)
            if value is None:
                continue
            if metric in BINARY_METRICS and value not in (0, 1):
                raise DataError(f"{path}:{lineno}: field {metric!r} must be 0, 1 or null")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"{path}:{lineno}: field {metric!r} must be a number or null")
        if row.get("ex") is None:
            raise DataError(f"{path}:{lineno}: field 'ex' is missing")
        rows.append(row)
    return rows


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def config_name(run_dir: Path, config: Mapping[str, Any]) -> str:
    """The folder name, unless config.toml names the config (top-level or [run] `name`)."""
    named = config.get("name") or (config.get("run") or {}).get("name")
    return str(named) if named else run_dir.resolve().name


def load_run(run_dir: Path) -> Run:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: not a directory")
    summary = _read_json(run_dir / "summary.json")
    if summary.get("schema_version") != 1:
        raise DataError(
            f"{run_dir / 'summary.json'}: schema_version {summary.get('schema_version')!r} "
            "is not supported (expected 1)"
        )
    for key in ("benchmark", "split", "n", "metrics"):
        if key not in summary:
            raise DataError(f"{run_dir / 'summary.json'}: field {key!r} is missing")
    if not summary["n"]:
        raise DataError(f"{run_dir / 'summary.json'}: n is 0 (nothing was scored)")
    config = _read_config(run_dir / "config.toml")
    _check_model_table(run_dir / "config.toml", config.get("model") or {})
    rows = _read_rows(run_dir / "rows.jsonl")
    _check_consistent(run_dir, summary, rows)
    return Run(config_name(run_dir, config), run_dir, summary, config, rows)


def _check_model_table(path: Path, model: Mapping[str, Any]) -> None:
    # Checked here, where the file can be named; identity and the table read these fields.
    adapters = model.get("adapters") or []
    if not isinstance(adapters, list) or not all(isinstance(a, dict) for a in adapters):
        raise ConfigError(
            f"{path}: [model].adapters must be tables with path, weight and sha256 "
            "(as `harness bench` writes them)"
        )
    params = model.get("params")
    if params is not None and (
        isinstance(params, bool) or not isinstance(params, int | float) or params <= 0
    ):
        raise ConfigError(f"{path}: [model].params must be a positive number, got {params!r}")


def _check_consistent(run_dir: Path, summary: Mapping[str, Any], rows: list[dict]) -> None:
    # A leaderboard that silently trusts a stale summary could publish a number that the
    # rows beside it do not support.
    if len(rows) != summary["n"]:
        raise DataError(
            f"{run_dir}: summary.json says n={summary['n']} but rows.jsonl has {len(rows)} rows"
        )
    for metric in (*METRICS, *sampled_metric_names(summary)):
        recorded = (summary["metrics"].get(metric) or {}).get("mean")
        values = [row[metric] for row in rows if row.get(metric) is not None]
        if recorded is None or not values:
            continue
        actual = sum(values) / len(values)
        if abs(actual - recorded) > 1e-9:
            raise DataError(
                f"{run_dir}: summary.json {metric} mean {recorded} disagrees with rows.jsonl "
                f"({actual}); re-score the run"
            )


# --------------------------------------------------------------------------- entries


def _metric_ci(
    recorded: Mapping[str, Any] | None, values: list[int], bootstrap: Mapping[str, Any]
) -> dict[str, Any] | None:
    if recorded and all(recorded.get(k) is not None for k in ("mean", "low", "high")):
        return {k: recorded[k] for k in ("mean", "low", "high")} | {
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
    return ci.as_dict()


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


def make_entry(run: Run, allow_outages: bool, allow_partial: bool) -> dict[str, Any]:
    summary, config = run.summary, run.config
    provenance = run_provenance(summary)
    outages = provenance.excluded.get("outage", 0)
    if outages and not allow_outages:
        raise LeaderboardError(
            f"{run.path}: {outages} prediction(s) are provider outages; resume the run, or "
            "pass --allow-outages to list it as not citable"
        )
    other = {k: v for k, v in provenance.excluded.items() if k != "outage"}
    if other and not allow_partial:
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(other.items()))
        raise LeaderboardError(
            f"{run.path}: partial run ({detail}); pass --allow-partial to list it as not citable"
        )
    bootstrap = summary.get("bootstrap") or {}
    vectors = {
        metric: {
            str(r["id"]): int(r[metric]) if metric in BINARY_METRICS else float(r[metric])
            for r in run.rows
            if r.get(metric) is not None
        }
        for metric in (*METRICS, *sampled_metric_names(summary))
    }
    metrics: dict[str, Any] = {}
    for metric in vectors:
        ci = _metric_ci(summary["metrics"].get(metric), list(vectors[metric].values()), bootstrap)
        if ci is not None:
            metrics[metric] = ci
    by_level: dict[str, Any] = {}
    # Spider groups by hardness, BIRD by difficulty; the table shows whichever is there.
    levels = summary.get("by_hardness") or summary.get("by_difficulty") or {}
    for level, block in levels.items():
        level_metrics = {m: block[m] for m in METRICS if isinstance(block.get(m), dict)}
        by_level[level] = {"n": block.get("n")} | level_metrics
    generation = summary.get("generation") or {}
    cost_per_1k = generation.get("cost_per_1k_questions_usd")
    if cost_per_1k is None and generation.get("cost_usd") is not None:
        n_generated = generation.get("n_with_figures") or summary["n"]
        cost_per_1k = float(generation["cost_usd"]) / n_generated * 1000
    identity = run_identity(summary, config)
    excluded = summary.get("excluded") or {}
    model = config.get("model") or {}
    return {
        "config": run.name,
        "run": run.path.resolve().name,
        "tier": _tier(config),
        "params": _params(config),
        "evidence": summary.get("evidence"),
        "model": {k: model.get(k) for k in ("name", "spec", "backend", "revision")},
        "identity": identity.as_dict(),
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
        "cost_per_1k_usd": cost_per_1k,
        "scorer": summary.get("scorer") or {},
        "bootstrap": bootstrap,
        "data_sha256": (summary.get("data") or {}).get("sha256"),
        "failures": dict(sorted((summary.get("failures") or {}).items())),
        "correct": {m: v for m, v in vectors.items() if v},
    }


# --------------------------------------------------------------------------- tables


def _table_key(summary: Mapping[str, Any]) -> tuple[str, str]:
    return str(summary["benchmark"]), str(summary["split"])


def _check_same_questions(key: tuple[str, str], runs: Sequence[Run]) -> None:
    by_files: dict[str | None, list[str]] = {}
    for run in runs:
        files_sha = data_files_sha256(run.summary.get("data") or {})
        by_files.setdefault(files_sha, []).append(str(run.path))
    if len(by_files) > 1:
        groups = "; ".join(
            f"{(sha or 'unknown')[:12]}: {', '.join(paths)}" for sha, paths in by_files.items()
        )
        raise LeaderboardError(
            f"{key[0]}/{key[1]}: runs were scored on different data files ({groups}); "
            "they cannot share one table"
        )


def _rank(entries: list[dict[str, Any]]) -> None:
    """Competition ranking ("1, 2, 2, 4") by EX point estimate; ties broken by name only
    for the listing order, never for the rank number."""
    entries.sort(key=lambda e: (-e["metrics"]["ex"]["mean"], e["config"]))
    previous = None
    for position, entry in enumerate(entries, 1):
        mean = entry["metrics"]["ex"]["mean"]
        if previous is None or mean != previous[0]:
            previous = (mean, position)
        entry["rank"] = previous[1]


def _datasets(runs: Iterable[Run]) -> dict[str, Any]:
    catalog: dict[str, Any] = {}
    for run in runs:
        data = run.summary.get("data") or {}
        sha = data.get("sha256")
        if sha and sha not in catalog:
            catalog[sha] = {
                "files": dict(sorted((data.get("files") or {}).items())),
                "databases": dict(sorted((data.get("databases") or {}).items())),
            }
    return dict(sorted(catalog.items()))


def build_tables(
    runs: Sequence[Run], allow_outages: bool = False, allow_partial: bool = False
) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        grouped.setdefault(_table_key(run.summary), []).append(run)
    tables = []
    for key in sorted(grouped):
        group = grouped[key]
        _check_same_questions(key, group)
        names: dict[str, Path] = {}
        for run in group:
            if run.name in names:
                raise LeaderboardError(
                    f"{key[0]}/{key[1]}: config name {run.name!r} is used by both "
                    f"{names[run.name]} and {run.path}"
                )
            names[run.name] = run.path
        entries = [make_entry(run, allow_outages, allow_partial) for run in group]
        _rank(entries)
        tables.append(
            {
                "benchmark": key[0],
                "split": key[1],
                "entries": entries,
                "datasets": _datasets(group),
            }
        )
    return tables


# --------------------------------------------------------------------------- markdown


def format_params(params: int | None) -> str:
    if params is None:
        return "—"
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if params >= scale:
            return f"{params / scale:.3g}{suffix}"
    return str(params)


def _levels(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    present = {level for e in entries for level in e["by_level"]}
    known = [level for level in LEVEL_ORDER if level in present]
    return known + sorted(present - set(known))


def table_markdown(table: Mapping[str, Any]) -> str:
    entries = table["entries"]
    sampled = {m for e in entries for m in e["metrics"] if m.startswith(SAMPLED_PREFIXES)}
    metrics = [m for m in METRICS if any(m in e["metrics"] for e in entries)] + sorted(sampled)
    levels = _levels(entries)
    show_speed = any(e["tokens_per_s"] is not None for e in entries)
    show_cost = any(e["cost_per_1k_usd"] is not None for e in entries)
    # BIRD: with or without the evidence hints is part of what was measured.
    show_evidence = any(e.get("evidence") is not None for e in entries)
    headers = ["rank", "config", "tier", "params"]
    headers += ["evidence"] if show_evidence else []
    headers += [f"{METRIC_LABELS.get(m, m)} [95% CI]" for m in metrics]
    headers += [f"EX {level}" for level in levels]
    headers += ["n"]
    headers += ["tokens/s"] if show_speed else []
    headers += ["$ / 1k q"] if show_cost else []
    body = []
    for e in entries:
        name = e["config"] + ("" if e["citable"] else f" {NOT_CITABLE_MARK}")
        row = [e["rank"], name, e["tier"], format_params(e["params"])]
        if show_evidence:
            row += [{True: "yes", False: "no"}.get(e.get("evidence"), "—")]
        row += [pct_ci(e["metrics"].get(m)) for m in metrics]
        row += [pct((e["by_level"].get(lv, {}).get("ex") or {}).get("mean")) for lv in levels]
        row += [str(e["n"]) if e["n"] == e["n_total"] else f"{e['n']} of {e['n_total']}"]
        if show_speed:
            row += ["—" if e["tokens_per_s"] is None else f"{e['tokens_per_s']:.1f}"]
        if show_cost:
            row += ["—" if e["cost_per_1k_usd"] is None else f"{e['cost_per_1k_usd']:.2f}"]
        body.append(row)
    # Numbers right-aligned so the decimal points line up; names left.
    align = ["right", "left", "left"] + ["right"] * (len(headers) - 3)
    if show_evidence:
        align[4] = "left"
    text = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True, colalign=align)
    return text + "\n\n" + _footer(table)


def _group_configs(entries: Iterable[Mapping[str, Any]], key) -> dict[str, list[str]]:
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


def _footer(table: Mapping[str, Any]) -> str:
    entries = table["entries"]
    lines = []
    boot = _group_configs(
        entries,
        lambda e: "{} percentile bootstrap over questions, {:,} resamples, seed {}".format(
            f"{round(100 * float(e['bootstrap'].get('confidence', DEFAULT_CONFIDENCE)))}%",
            int(e["bootstrap"].get("resamples", DEFAULT_RESAMPLES)),
            e["bootstrap"].get("seed", DEFAULT_SEED),
        ),
    )
    lines.append(
        "Accuracies in %. EX = execution accuracy, TS = test-suite accuracy, EM = exact set "
        "match (EX strict, Soft-F1, R-VES: BIRD's); [low, high] = "
        + "; ".join(_with_configs(boot))
        + ". Ranked by the EX point estimate: overlapping CIs do not show a difference; "
        "`harness diff` tests pairs on the same questions."
    )
    scorers = _group_configs(
        entries, lambda e: _scorer_text(e["scorer"], e["identity"]["fields"]["scorer.version"])
    )
    lines.append("Evaluator: " + "; ".join(_with_configs(scorers)) + ".")
    if len(scorers) > 1:
        lines.append(
            "⚠ Configs in this table were scored with different evaluator settings; "
            "their numbers are not directly comparable."
        )

    def data_text(e: Mapping[str, Any]) -> str:
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

    def harness_text(e: Mapping[str, Any]) -> str:
        p = e["provenance"]
        commit = f"commit `{p['harness_commit']}`" if p["harness_commit"] else "commit unknown"
        state = {True: "dirty tree", False: "clean tree", None: "tree state unknown"}[p["dirty"]]
        return f"{p['harness_version'] or 'version unknown'} at {commit} ({state})"

    lines.append("Harness: " + "; ".join(_with_configs(_group_configs(entries, harness_text))))
    not_citable = [e for e in entries if not e["citable"]]
    if not_citable:
        notes = []
        for e in not_citable:
            reasons = list(e["provenance"]["not_citable_reasons"])
            if e["excluded"]["db_ids"]:
                reasons.append("missing databases: " + ", ".join(e["excluded"]["db_ids"]))
            notes.append(f"{e['config']} ({'; '.join(reasons)})")
        partial = any(e["excluded"]["count"] for e in not_citable)
        lines.append(
            f"{NOT_CITABLE_MARK} Not citable: "
            + "; ".join(notes)
            + (
                ". Partial runs are scored on fewer questions than the split (see n)."
                if partial
                else "."
            )
        )
    return "\n\n".join(lines)


def leaderboard_markdown(leaderboard: Mapping[str, Any]) -> str:
    parts = ["# Leaderboard", ""]
    if not leaderboard["tables"]:
        parts.append("No runs.")
    for table in leaderboard["tables"]:
        parts += [f"## {table['benchmark']} / {table['split']}", "", table_markdown(table), ""]
    return "\n".join(parts).rstrip() + "\n"


# --------------------------------------------------------------------------- output


class _atomic_path:
    """Yields a temporary path beside `path`; renames it over `path` on success."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> Path:
        # Not mkstemp: its 0600 mode would survive the rename into a published file.
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with _atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def build_leaderboard(
    run_dirs: Sequence[Path | str],
    out_dir: Path | str,
    allow_outages: bool = False,
    allow_partial: bool = False,
    plot: bool = True,
    html: bool = True,
) -> dict[str, Any]:
    """Read run folders, write LEADERBOARD.md, leaderboard.json, the plot and index.html;
    return the JSON."""
    if not run_dirs:
        raise ConfigError("no run folders given")
    runs = [load_run(Path(d)) for d in run_dirs]
    leaderboard = {
        "schema_version": SCHEMA_VERSION,
        "kind": "harness-leaderboard",
        "built_with": __version__,
        "tables": build_tables(runs, allow_outages=allow_outages, allow_partial=allow_partial),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / JSON_NAME, json.dumps(leaderboard, indent=1, ensure_ascii=False) + "\n")
    write_text_atomic(out / MD_NAME, leaderboard_markdown(leaderboard))
    if plot:
        from harness.report.plots import write_plots

        write_plots(leaderboard, out)
    if html:
        from harness.report.html import HTML_NAME, build_html

        write_text_atomic(out / HTML_NAME, build_html(leaderboard, runs))
    return leaderboard


def load_leaderboard(source: Path | str | Mapping[str, Any]) -> dict[str, Any]:
    """A leaderboard.json file (or an already loaded dict), checked for its schema version."""
    if isinstance(source, Mapping):
        value = dict(source)
        where = "leaderboard"
    else:
        value = _read_json(Path(source))
        where = str(source)
    if value.get("schema_version") != SCHEMA_VERSION or not isinstance(value.get("tables"), list):
        raise DataError(f"{where}: not a harness leaderboard.json (schema_version 1, 'tables')")
    return value
