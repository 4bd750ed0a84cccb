"""Two leaderboard.json files in; every shared config compared, the gate decided when
asked, and the markdown comment out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.diffing.compare import DEFAULT_VARY, Comparison, compare_leaderboards
from harness.diffing.promotion import GateResult, gate
from harness.diffing.render import diff_markdown
from harness.errors import ConfigError
from harness.leaderboard.load import load_leaderboard
from harness.records import Leaderboard
from harness.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED


@dataclass
class DiffResult:
    """`passed` is the gate decision; True when no gate was asked for."""

    markdown: str
    passed: bool
    comparisons: list[Comparison]
    gate: GateResult | None = None


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
