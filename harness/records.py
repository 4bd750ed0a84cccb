"""The record types shared by every layer; each has a single home here.

On disk they are JSON objects, one per line (JSONL), so a person can read and diff them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

Hardness = Literal["easy", "medium", "hard", "extra"]

# summary.json's format; bumped when a field changes meaning. Readers refuse other versions.
SUMMARY_SCHEMA_VERSION = 1


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
    """One line of predictions.jsonl (the generation stage's output).

    With `--samples N` (N > 1) there is one line per (id, sample): `sample` is 0..N-1, the
    lines of one id appear in sample order once the run is complete, and an unsampled run
    writes no `sample` field at all.
    """

    id: str
    sample: int
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


class SampleVerdict(TypedDict, total=False):
    """One sample's verdicts inside a sampled Row (see harness/scoring/sampled.py)."""

    sample: int
    pred_sql: str
    ex: int
    ts: int
    em: int
    error: str
    failure: str
    # Digest of the sample's result on the first database as a set of rows (what the
    # majority vote groups by); None when it did not execute.
    vote_key: str | None


class Row(TypedDict, total=False):
    """One line of rows.jsonl (the scoring stage's output).

    A sampled run (predictions with `sample`) keeps sample 0's verdicts in the top-level
    fields and adds `samples` (a SampleVerdict per sample), `n_samples`, `n_correct`,
    "pass@1", "pass@N", "maj@N" and `maj_sample` (the vote's winner, None if none ran).
    A benchmark without databases (create-context) has no `ex`/`ts`: `em` and
    `string_match` instead.
    """

    id: str
    db_id: str
    hardness: str | None
    difficulty: str  # the benchmark's own label (BIRD: simple/moderate/challenging)
    pred_sql: str
    gold_sql: str
    ex: int
    em: int | None
    ts: int | None
    error: str | None
    mismatch: dict[str, Any] | None
    failure: str | None
    string_match: int
    # BIRD: the official EX with its strict variant, Soft-F1, R-VES (None when not timed),
    # and whether the gold query itself is invalid (and on the reviewed list).
    ex_strict: int
    soft_f1: float
    r_ves: float | None
    reference_invalid: bool
    reference_listed: bool
    reference_reason: str | None
    vote_key: str | None  # a sample's result digest for the majority vote
    samples: list[SampleVerdict]
    n_samples: int
    n_correct: int
    maj_sample: int | None


@dataclass
class BenchmarkData:
    """A loaded split: its examples, the schema metadata scorers need, and provenance.

    `tables` maps db_id to a Spider-style tables.json entry (column_names_original,
    table_names_original, foreign_keys, ...); exact-set match needs it for foreign keys.
    `data_files` are hashed into summary.json so a number names the bytes it came from.
    `missing_db_ids` lists db_ids whose database file is absent (their examples have
    empty `db_paths`); the scorer refuses them unless told to allow a partial score.
    """

    name: str
    split: str
    examples: list[Example]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_files: list[Path] = field(default_factory=list)
    missing_db_ids: list[str] = field(default_factory=list)
    test_suite: bool = False
    # Examples in the whole split when `examples` was cut to its first N (--limit).
    n_split: int | None = None

    def limited(self, limit: int | None) -> BenchmarkData:
        """The split's first `limit` examples (what `--limit N` generates and scores)."""
        if not limit or limit >= len(self.examples):
            return self
        kept = self.examples[:limit]
        db_ids = {e.db_id for e in kept}
        return BenchmarkData(
            name=self.name, split=self.split, examples=kept, tables=self.tables,
            data_files=self.data_files,
            missing_db_ids=[d for d in self.missing_db_ids if d in db_ids],
            test_suite=self.test_suite, n_split=self.n_split or len(self.examples),
        )  # fmt: skip


@dataclass
class PredictionSet:
    """Predicted SQL by example id, plus the ids whose generation hit a provider outage."""

    sql: dict[str, str]
    outage_ids: list[str] = field(default_factory=list)
    fmt: str = "jsonl"
    # Generation figures (latency, tokens, cost) when the file carries them.
    meta: dict[str, dict[str, object]] = field(default_factory=dict)
    # Questions in scope without a line, accepted only with allow_missing (a partial score).
    missing_ids: list[str] = field(default_factory=list)
    # Sampled files only: each id's SQL by sample index (`sql` then holds sample 0's).
    samples: dict[str, list[str]] = field(default_factory=dict)
