"""What `harness reproduce` prints and writes: the dry-run plan with each row's resolved
setup, the published-vs-reproduced markdown table, and reproduced.json's records."""

from __future__ import annotations

import shlex
import tomllib
from typing import Any

from harness.config import BenchmarkConfig, DecodingConfig, PromptConfig
from harness.display import pct, pct_interval, pp
from harness.pipeline.published import Outcome, Planned, Table

_DECODING, _BENCHMARK, _PROMPT = DecodingConfig(), BenchmarkConfig(), PromptConfig()


def resolved_setup(table: Table, p: Planned) -> list[tuple[str, Any]]:
    """The row's full setup, one (name, value) per line: what it runs and what it compares."""
    cfg = tomllib.loads(p.config_text)
    model, prompt = cfg.get("model", {}), cfg.get("prompt", {})
    decoding, bench = cfg.get("decoding", {}), cfg.get("benchmark", {})
    pub, src = p.row.published, table.source
    setup: list[tuple[str, Any]] = [
        ("model", model.get("spec")),
        ("revision", model.get("revision") or "not pinned (the run records the resolved one)"),
        (
            "benchmark",
            f"{bench.get('name', _BENCHMARK.name)}/{bench.get('split', _BENCHMARK.split)}",
        ),
        ("test_suite", p.row.setup.get("test_suite", bool(bench.get("db_dir")))),
        ("prompt_format", p.row.setup.get("prompt_format", "harness")),
        ("schema", prompt.get("schema") or _default_schema(p)),
        ("shots", prompt.get("shots", _PROMPT.shots)),
        ("temperature", decoding.get("temperature", _DECODING.temperature)),
        ("top_p", decoding.get("top_p", _DECODING.top_p)),
        ("samples", decoding.get("samples", _DECODING.samples)),
        ("max_new_tokens", decoding.get("max_new_tokens", _DECODING.max_new_tokens)),
        ("metric", p.row.metric),
    ]
    setup += [(k, v) for k, v in p.row.setup.items() if k not in dict(setup)]
    published = f"{pub.value}" + (f" [{pub.low}, {pub.high}]" if pub.low is not None else "")
    setup.append(("published", published + (f" on n={pub.n}" if pub.n else "")))
    setup.append(("source", f"{src.get('url') or src.get('name', '')} @ {src.get('commit', '?')}"))
    return setup


def _default_schema(p: Planned) -> str:
    if p.row.setup.get("prompt_format", "harness") != "harness":
        return "as the prompt format renders it"
    return "keys (default)"


def render_plan(table: Table, planned: list[Planned]) -> str:
    """What --dry-run prints: per row, its resolved setup, the config file it would write
    and the command."""
    out = [f"# {table.title} ({table.path})", ""]
    for p in planned:
        out.append(f"## {p.row.id}: {p.row.label}")
        out += [f"# {name}: {value}" for name, value in resolved_setup(table, p)]
        if p.problem:
            out.append(f"# cannot run yet: {p.problem}")
        out.append(f"cat > {shlex.quote(str(p.config_path))} <<'EOF'")
        out.append(p.config_text.rstrip("\n"))
        out.append("EOF")
        out.append(p.shell())
        out.append("")
    return "\n".join(out)


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "row": o.row.id,
        "run_dir": str(o.run_dir),
        "published": vars(o.row.published),
        "reproduced": {"mean": o.mean, "low": o.low, "high": o.high, "n": o.n},
        "n_total": o.n_total,
        "excluded": o.excluded,
        "delta": o.delta,
        "published_within_reproduced_ci": o.within_ci,
        "error": o.error or None,
    }


# ---------------------------------------------------------------- the markdown table


def describe_outcome(o: Outcome) -> str:
    if o.error:
        return f"not reproduced: {o.error}"
    return (
        f"{pct_interval(o.mean, o.low, o.high)} on n={o.n}; published "
        f"{pct(o.row.published.value)}; Δ {pp(o.delta or 0.0)} pp"
    )


def render_markdown(table: Table, outcomes: list[Outcome]) -> str:
    metrics = {o.row.metric for o in outcomes} or {table.metric}
    # One metric for the whole table goes in the header; mixed ones go in each row's label.
    mixed = len(metrics) > 1
    metric = "" if mixed else next(iter(metrics)).upper()
    src = table.source
    lines = [f"## {table.title}", ""]
    if src:
        cite = src.get("name", "")
        if src.get("url"):
            cite = f"[{cite or src['url']}]({src['url']})"
        lines += [f"Source: {cite}" + (f" ({src['commit']})" if src.get("commit") else ""), ""]
    head = f"| row | model | published {metric} [95% CI] | reproduced {metric} [95% CI] | Δ pp "
    lines += [
        head.replace("  ", " ") + "| published in reproduced CI | n |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for o in outcomes:
        pub = o.row.published
        model = str(o.row.config.get("model", {}).get("spec", ""))
        label = f"{o.row.label} ({o.row.metric})" if mixed else o.row.label
        published = pct_interval(pub.value, pub.low, pub.high)
        if o.error:
            notes.append(f"- `{o.row.id}`: not reproduced: {o.error}")
            lines.append(f"| {label} | `{model}` | {published} | not run | — | — | — |")
            continue
        inside = {True: "yes", False: "no", None: "—"}[o.within_ci]
        n = f"{o.n}"
        if pub.n is not None and o.n != pub.n:
            n += f" (published: {pub.n})"
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(o.excluded.items()))
            notes.append(
                f"- `{o.row.id}`: reproduced on {o.n} examples, the published number on "
                f"{pub.n}"
                + (f" (excluded: {reasons})" if reasons else "")
                + "; the two are not directly comparable."
            )
        lines.append(
            f"| {label} | `{model}` | {published} | {pct_interval(o.mean, o.low, o.high)} "
            f"| {pp(o.delta) if o.delta is not None else '—'} | {inside} | {n} |"
        )
    scale = f"{metric} in %" if metric else "Scores in %"
    lines += ["", f"{scale}; Δ pp = reproduced − published, in percentage points."]
    if notes:
        lines += ["", *notes]
    if table.notes:
        lines += ["", table.notes.strip()]
    return "\n".join(lines) + "\n"
