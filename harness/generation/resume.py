"""Resuming a run folder: which (example, sample) rows are still owed (outage rows are
owed again), what the rows on disk add up to, and the split order a finished file is
rewritten in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.backends.prices import PRICES_AS_OF, PRICES_VERIFIED
from harness.generation.run_folder import PREDICTIONS
from harness.generation.sampling import RowKey, row_key, wanted_keys
from harness.io import write_jsonl
from harness.records import Example, Prediction


@dataclass
class GenerationResult:
    run_dir: Path
    n_total: int  # rows in scope: examples (after --limit) x samples
    n_done: int  # of those, rows with an answer (errors included, outages not)
    n_new: int  # rows produced by this call
    outage_ids: list[str] = field(default_factory=list)
    errors: int = 0
    cached: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0

    @property
    def outages(self) -> int:
        return len(self.outage_ids)

    @property
    def complete(self) -> bool:
        return not self.outage_ids and self.n_done == self.n_total

    def message(self) -> str:
        head = (
            f"{self.run_dir / PREDICTIONS}: {self.n_done}/{self.n_total} answered "
            f"({self.n_new} new, {self.cached} from cache, {self.errors} model errors) "
            f"in {self.wall_s:.1f}s"
        )
        if self.cost_usd:
            checked = "" if PRICES_VERIFIED else ", unverified"
            head += f", ~${self.cost_usd:.4f} (list prices as of {PRICES_AS_OF}{checked})"
        if self.outage_ids:
            head += (
                f"\nINCOMPLETE: {self.outages} row(s) hit a provider outage and are not scored; "
                "rerun the same command to retry only those"
            )
        return head


@dataclass
class Resumption:
    """What a run folder's rows leave to do for `examples` x `n_samples`."""

    wanted: list[RowKey]
    answered: dict[RowKey, Prediction]  # rows with an answer (outage rows are not)
    pending: list[tuple[Example, int]]  # (example, sample) still to generate, in split order

    @classmethod
    def of(cls, rows: list[Prediction], examples: list[Example], n_samples: int) -> Resumption:
        answered = {row_key(r): r for r in rows if not r.get("outage")}
        wanted = wanted_keys(examples, n_samples)
        by_id = {e.id: e for e in examples}
        pending = [(by_id[i], k) for i, k in wanted if (i, k) not in answered]
        return cls(wanted, answered, pending)


def tally(result: GenerationResult, rows: list[Prediction], examples: list[Example]) -> None:
    """Fill `result` from the rows on disk that are in scope (the last row per pair wins)."""
    in_scope = {e.id for e in examples}
    final = {row_key(r): r for r in rows if r["id"] in in_scope}
    result.n_done = sum(1 for r in final.values() if not r.get("outage"))
    outage_of = {key[0] for key, r in final.items() if r.get("outage")}
    result.outage_ids = [e.id for e in examples if e.id in outage_of]
    result.errors = sum(1 for r in final.values() if r.get("error") and not r.get("outage"))
    result.tokens_in = sum(r.get("tokens_in") or 0 for r in final.values())
    result.tokens_out = sum(r.get("tokens_out") or 0 for r in final.values())
    costs = [c for r in final.values() if (c := r.get("cost_usd")) is not None]
    result.cost_usd = round(sum(costs), 6) if costs else None


def put_in_order(
    path: Path, rows: list[Prediction], examples: list[Example], wanted: list[RowKey]
) -> None:
    """Rows were appended as they finished; a complete file is rewritten in split order
    (rows of examples out of scope, from a run without --limit, kept at the end)."""
    in_scope = {e.id for e in examples}
    final = {row_key(r): r for r in rows if r["id"] in in_scope}
    if len(final) != len(wanted) or [row_key(r) for r in rows] == wanted:
        return
    order = {e.id: i for i, e in enumerate(examples)}
    extra = [r for r in rows if r["id"] not in in_scope]
    ordered = sorted(final.values(), key=lambda r: (order[r["id"]], row_key(r)[1]))
    write_jsonl(path, [*ordered, *extra])
