"""Paired comparison of two leaderboards: the pull-request comment and the promotion gate.

A config in BASE and the config of the same name in HEAD are compared on the question ids
both scored, and only when their run identities agree on everything the comparison is not
about. By default that is everything except the model and the prompt (a new adapter, a
new template); data, scorer and decoding must match, otherwise the row names the fields
that differ and carries no Δ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.display import MISSING, ci_bounds, ci_level, pct, pp
from harness.errors import ConfigError, HarnessError
from harness.identity import SUBJECT_GROUPS, differing_fields, matches_any
from harness.leaderboard.load import load_leaderboard
from harness.metrics import label
from harness.records import Leaderboard, MetricCI
from harness.stats import (
    CI,
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    McNemar,
    holm,
    mcnemar_exact,
    paired_bootstrap_diff,
)

COMMENT_MARKER = "<!-- harness-leaderboard-diff -->"
DEFAULT_VARY: tuple[str, ...] = SUBJECT_GROUPS


class NotComparableError(HarnessError):
    """The gate was asked to compare two entries that did not measure the same thing."""


@dataclass
class Comparison:
    """One config's row in the diff."""

    benchmark: str
    split: str
    config: str
    status: str  # "compared" | "added" | "removed" | "not_comparable"
    base_ex: MetricCI | None = None
    head_ex: MetricCI | None = None
    n_paired: int = 0
    delta: CI | None = None
    mcnemar: McNemar | None = None
    p_holm: float | None = None
    blocking: list[str] = field(default_factory=list)  # fields that forbid a Δ
    changed: list[str] = field(default_factory=list)  # allowed identity differences

    @property
    def significant(self) -> bool:
        d = self.delta
        return d is not None and (d.low > 0 or d.high < 0)

    @property
    def direction(self) -> str:
        if not self.significant:
            return ""
        assert self.delta is not None
        return "▲" if self.delta.low > 0 else "▼"


@dataclass
class GateResult:
    passed: bool
    min_pp: float
    comparison: Comparison
    line: str


@dataclass
class DiffResult:
    """`passed` is the gate decision; True when no gate was asked for."""

    markdown: str
    passed: bool
    comparisons: list[Comparison]
    gate: GateResult | None = None


# --------------------------------------------------------------------------- comparing

EntriesBySplit = dict[tuple[str, str], dict[str, dict[str, Any]]]


def _entries(leaderboard: Leaderboard) -> EntriesBySplit:
    out: EntriesBySplit = {}
    for table in leaderboard["tables"]:
        key = (table["benchmark"], table["split"])
        configs = out.setdefault(key, {})
        for entry in table["entries"]:
            configs[entry["config"]] = entry | {"_datasets": table.get("datasets", {})}
    return out


def _data_blockers(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """Why two dataset hashes differ, or [] when only the set of databases differs.

    A run with a missing database has a different dataset hash than a full run, yet the
    questions both scored are the same questions on the same bytes; they pair fine.
    """
    b = base["_datasets"].get(base["data_sha256"])
    h = head["_datasets"].get(head["data_sha256"])
    if not b or not h:
        return ["data.sha256"]
    blockers = []
    if b["files"] != h["files"]:
        names = sorted(
            k for k in set(b["files"]) | set(h["files"]) if b["files"].get(k) != h["files"].get(k)
        )
        blockers += [f"data.files.{name}" for name in names]
    shared = set(b["databases"]) & set(h["databases"])
    blockers += [
        f"data.databases.{db}" for db in sorted(shared) if b["databases"][db] != h["databases"][db]
    ]
    return blockers


def blocking_fields(
    base: Mapping[str, Any], head: Mapping[str, Any], vary: Sequence[str] = DEFAULT_VARY
) -> tuple[list[str], list[str]]:
    """(fields that forbid a paired Δ, identity fields that differ but are allowed to)."""
    diffs = differing_fields(base["identity"]["fields"], head["identity"]["fields"])
    allowed = [f for f in diffs if matches_any(f, vary)]
    blocking = []
    for name in diffs:
        if name in allowed:
            continue
        if name == "data.sha256":
            blocking += _data_blockers(base, head)
        else:
            blocking.append(name)
    return blocking, allowed


def compare_entries(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    vary: Sequence[str] = DEFAULT_VARY,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Comparison:
    """Paired EX comparison of two leaderboard entries (head minus base)."""
    blocking, allowed = blocking_fields(base, head, vary)
    row = Comparison(
        benchmark=head["identity"]["fields"].get("benchmark.name") or "",
        split=head["identity"]["fields"].get("benchmark.split") or "",
        config=head["config"],
        status="not_comparable" if blocking else "compared",
        base_ex=base["metrics"]["ex"],
        head_ex=head["metrics"]["ex"],
        blocking=blocking,
        changed=allowed,
    )
    if blocking:
        return row
    base_vec, head_vec = base["correct"]["ex"], head["correct"]["ex"]
    ids = [i for i in base_vec if i in head_vec]
    if not ids:
        row.status, row.blocking = "not_comparable", ["no common question ids"]
        return row
    a = [base_vec[i] for i in ids]
    b = [head_vec[i] for i in ids]
    row.n_paired = len(ids)
    row.delta = paired_bootstrap_diff(a, b, resamples=resamples, seed=seed, confidence=confidence)
    row.mcnemar = mcnemar_exact(a, b)
    return row


def compare_leaderboards(
    base: Leaderboard,
    head: Leaderboard,
    vary: Sequence[str] = DEFAULT_VARY,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> list[Comparison]:
    base_entries, head_entries = _entries(base), _entries(head)
    rows: list[Comparison] = []
    for key in sorted(set(base_entries) | set(head_entries)):
        b_configs = base_entries.get(key, {})
        h_configs = head_entries.get(key, {})
        for name in sorted(set(b_configs) | set(h_configs)):
            if name not in b_configs:
                ex = h_configs[name]["metrics"]["ex"]
                rows.append(Comparison(*key, name, "added", head_ex=ex))
            elif name not in h_configs:
                ex = b_configs[name]["metrics"]["ex"]
                rows.append(Comparison(*key, name, "removed", base_ex=ex))
            else:
                row = compare_entries(
                    b_configs[name], h_configs[name], vary, resamples, seed, confidence
                )
                row.benchmark, row.split = key
                rows.append(row)
    # One base compared with many heads is a family of tests: Holm keeps the chance of any
    # false "significant" at 5% across the whole comment.
    tested = [r for r in rows if r.mcnemar is not None]
    for row, adjusted in zip(tested, holm([r.mcnemar.p_value for r in tested]), strict=True):
        row.p_holm = adjusted
    return rows


# --------------------------------------------------------------------------- gate


def _find(entries: EntriesBySplit, spec: str, role: str) -> dict[str, Any]:
    """`NAME` or `BENCHMARK/SPLIT:NAME`."""
    where = None
    name = spec
    if ":" in spec and "/" in spec.split(":", 1)[0]:
        prefix, name = spec.split(":", 1)
        bench, split = prefix.split("/", 1)
        where = (bench, split)
    found = [
        (key, configs[name])
        for key, configs in entries.items()
        if name in configs and (where is None or key == where)
    ]
    if not found:
        known = sorted(f"{k[0]}/{k[1]}:{n}" for k, c in entries.items() for n in c)
        raise ConfigError(f"{role} {spec!r} is not in the leaderboard; known: {', '.join(known)}")
    if len(found) > 1:
        raise ConfigError(
            f"{role} {spec!r} is in several tables; name one as BENCHMARK/SPLIT:{name}"
        )
    return found[0][1]


def _only_entry(entries: EntriesBySplit, role: str) -> dict[str, Any]:
    flat = [e for configs in entries.values() for e in configs.values()]
    if len(flat) != 1:
        raise ConfigError(
            f"--gate needs --baseline and --candidate: the {role} leaderboard has "
            f"{len(flat)} configs"
        )
    return flat[0]


def clears(delta: CI, min_pp: float) -> bool:
    """A gate's test: Δ at least `min_pp` points and its paired CI above 0."""
    # Δ is a mean of 0/±1 over n questions; the tolerance absorbs float noise only.
    return 100 * delta.mean >= min_pp - 1e-9 and delta.low > 0


def delta_text(metric_label: str, delta: CI, confidence: float) -> str:
    """A paired Δ as every gate line states it: Δ EX +4.0 pp [95% CI +0.8, +7.2]."""
    bounds = ci_bounds(delta.low, delta.high, pp, ci_level(confidence))
    return f"Δ {metric_label} {pp(delta.mean)} pp {bounds}"


def gate(
    base: Leaderboard,
    head: Leaderboard,
    min_pp: float,
    baseline: str | None = None,
    candidate: str | None = None,
    vary: Sequence[str] = DEFAULT_VARY,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> GateResult:
    """Pass iff candidate EX - baseline EX ≥ min_pp points and the paired CI lies above 0."""
    base_entries, head_entries = _entries(base), _entries(head)
    b = _find(base_entries, baseline, "baseline") if baseline else _only_entry(base_entries, "base")
    h = (
        _find(head_entries, candidate, "candidate")
        if candidate
        else _only_entry(head_entries, "head")
    )
    row = compare_entries(b, h, vary, resamples, seed, confidence)
    if row.status != "compared":
        raise NotComparableError(
            f"cannot gate {h['config']!r} against {b['config']!r}: they differ in "
            f"{', '.join(row.blocking)} (a Δ would mix two measurements)"
        )
    assert row.delta is not None and row.mcnemar is not None
    passed = clears(row.delta, min_pp)
    line = (
        f"{'pass' if passed else 'fail'}: candidate {h['config']!r} vs baseline "
        f"{b['config']!r}: {delta_text(label('ex'), row.delta, confidence)}, "
        f"McNemar p {_p_relation(row.mcnemar.p_value)}, n = {row.n_paired} paired; "
        f"needs Δ ≥ {min_pp:+.1f} pp and CI above 0"
    )
    return GateResult(passed, min_pp, row, line)


# --------------------------------------------------------------------------- markdown

# Two different comparisons share a diff: each config against its own earlier run, and
# the gate's candidate against its baseline; each headline says which one it is.
VERDICT = "**Verdict (each config, head vs base):**"
GATE = "**Gate (candidate in head vs baseline in base):**"


def _pct(ci: Mapping[str, Any] | None) -> str:
    return pct(ci.get("mean")) if ci else MISSING


def _p(p: float | None) -> str:
    if p is None:
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _p_relation(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _row_cells(row: Comparison) -> list[str]:
    cells = [row.config, _pct(row.base_ex), _pct(row.head_ex)]
    if row.status == "added":
        return [*cells, "new", "", "", "", "", "added"]
    if row.status == "removed":
        return [*cells, "gone", "", "", "", "", "removed"]
    if row.status == "not_comparable":
        return [
            *cells,
            MISSING,
            "",
            "",
            "",
            "",
            "not compared: differs in " + ", ".join(row.blocking),
        ]
    d, m = row.delta, row.mcnemar
    assert d is not None and m is not None
    delta = f"{row.direction} {pp(d.mean)}".strip()
    notes = []
    if row.changed:
        notes.append("changed: " + ", ".join(row.changed))
    n_base = (row.base_ex or {}).get("n")
    n_head = (row.head_ex or {}).get("n")
    if row.n_paired != n_base or row.n_paired != n_head:
        notes.append(f"paired on {row.n_paired} common ids")
    return [
        *cells,
        delta,
        ci_bounds(d.low, d.high, pp),
        _p(m.p_value),
        _p(row.p_holm),
        str(row.n_paired),
        "; ".join(notes),
    ]


def verdict(rows: Sequence[Comparison]) -> str:
    gains = [r.config for r in rows if r.direction == "▲"]
    losses = [r.config for r in rows if r.direction == "▼"]
    noise = [r for r in rows if r.status == "compared" and not r.significant]
    counts = {s: sum(r.status == s for r in rows) for s in ("added", "removed", "not_comparable")}
    parts = []
    if gains:
        parts.append(f"▲ {len(gains)} significant gain(s) ({', '.join(gains)})")
    if losses:
        parts.append(f"▼ {len(losses)} significant loss(es) ({', '.join(losses)})")
    if noise:
        parts.append(f"{len(noise)} within noise")
    if counts["added"]:
        parts.append(f"{counts['added']} added")
    if counts["removed"]:
        parts.append(f"{counts['removed']} removed")
    if counts["not_comparable"]:
        parts.append(f"{counts['not_comparable']} not comparable")
    if not parts:
        return f"{VERDICT} no configs in either leaderboard."
    if not gains and not losses:
        parts.insert(0, "no significant change")
    return f"{VERDICT} " + "; ".join(parts) + "."


def diff_markdown(
    rows: Sequence[Comparison],
    confidence: float = DEFAULT_CONFIDENCE,
    gate_result: GateResult | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    title: str = "Leaderboard diff",
) -> str:
    level = ci_level(confidence)
    headers = [
        "config",
        "base EX",
        "head EX",
        "Δ pp",
        f"{level}% CI of Δ",
        "p (McNemar)",
        "p (Holm)",
        "n paired",
        "note",
    ]
    lines = [COMMENT_MARKER, f"## {title}", "", verdict(rows), ""]
    if gate_result is not None:
        lines += [f"{GATE} `{gate_result.line}`", ""]
    by_split: dict[tuple[str, str], list[Comparison]] = {}
    for row in rows:
        by_split.setdefault((row.benchmark, row.split), []).append(row)
    for (bench, split), group in by_split.items():
        body = [_row_cells(r) for r in group]
        lines += [
            f"### {bench} / {split}",
            "",
            tabulate(body, headers=headers, tablefmt="github", disable_numparse=True),
            "",
        ]
    lines.append(
        f"EX in %; Δ = head − base on the question ids both scored; {level}% CI of Δ from a "
        f"paired percentile bootstrap over questions ({resamples:,} resamples, seed {seed}); "
        "p = exact McNemar test on the discordant questions, "
        "Holm-adjusted across this comment. ▲/▼ only where the paired CI excludes 0. Rows "
        "whose runs differ in data, scorer or decoding are not compared."
    )
    return "\n".join(lines).rstrip() + "\n"


def diff_leaderboards(
    base_json: Path | str | Leaderboard,
    head_json: Path | str | Leaderboard,
    gate_pp: float | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    vary: Iterable[str] = (),
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = DEFAULT_CONFIDENCE,
) -> DiffResult:
    """Compare two leaderboards; with `gate_pp`, also decide candidate vs baseline.

    `vary` adds identity fields (dotted names or groups) that may differ between compared
    entries, on top of the model and prompt.
    """
    if (baseline or candidate) and gate_pp is None:
        raise ConfigError("--baseline/--candidate are only used with --gate")
    base = load_leaderboard(base_json)
    head = load_leaderboard(head_json)
    allowed = tuple(DEFAULT_VARY) + tuple(vary)
    rows = compare_leaderboards(base, head, allowed, resamples, seed, confidence)
    gate_result = None
    if gate_pp is not None:
        gate_result = gate(
            base, head, gate_pp, baseline, candidate, allowed, resamples, seed, confidence
        )
    markdown = diff_markdown(rows, confidence, gate_result, resamples, seed)
    return DiffResult(
        markdown=markdown,
        passed=gate_result.passed if gate_result else True,
        comparisons=rows,
        gate=gate_result,
    )
