"""The record types shared by every layer; each has a single home here.

On disk they are JSON objects, one per line (JSONL), so a person can read and diff them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

Hardness = Literal["easy", "medium", "hard", "extra"]


@dataclass(frozen=True)
class Example:
    """One benchmark question.

    `id` is stable: the example's 0-based index in its split, as a string, unless the
    benchmark has its own id (BIRD's question_id, a fixture's id).
    `db_paths` lists every database variant the query is judged on (one for plain Spider,
    several in test-suite mode); empty when the database is missing.
    """

    id: str
    db_id: str
    question: str
    gold_sql: str
    db_paths: tuple[Path, ...] = ()
    evidence: str = ""
    difficulty: str = ""  # the benchmark's own label (BIRD: simple/moderate/challenging)
    context: str = ""  # CREATE TABLE text for fixtures without a database
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Prediction(TypedDict, total=False):
    """One line of predictions.jsonl (the generation stage's output)."""

    id: str
    db_id: str
    question: str
    raw_completion: str
    sql: str
    latency_s: float
    tokens_in: int
    tokens_out: int
    error: str | None
    # A provider failure that survived the retries: not a model error, never scored.
    outage: bool
    cost_usd: float | None
    cached: bool  # served from the response cache (latency and cost are the original's)
    route: str  # with --route: the adapter this example was sent to, and why
    route_reason: str
    route_confidence: float


class Row(TypedDict, total=False):
    """One line of rows.jsonl (the scoring stage's output)."""

    id: str
    db_id: str
    hardness: str
    pred_sql: str
    gold_sql: str
    ex: int
    em: int | None
    ts: int | None
    error: str | None
    mismatch: dict[str, Any] | None
    failure: str | None
