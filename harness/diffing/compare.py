"""Which identity fields forbid a paired Δ, and the paired EX comparison of two entries or
of every config two leaderboards share (Holm-adjusted across them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HarnessError
from harness.identity import SUBJECT_GROUPS, differing_fields, matches_any
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


EntriesBySplit = dict[tuple[str, str], dict[str, dict[str, Any]]]


def entries_by_split(leaderboard: Leaderboard) -> EntriesBySplit:
    """(benchmark, split) -> config -> entry, each carrying its table's datasets."""
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
    base_entries, head_entries = entries_by_split(base), entries_by_split(head)
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
