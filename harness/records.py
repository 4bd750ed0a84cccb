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


# --------------------------------------------------------------------------- summary.json
# (its format version: SUMMARY_SCHEMA_VERSION, above)


class MetricCI(TypedDict, total=False):
    """A metric's mean with its percentile bootstrap CI, as fractions (stats.CI.as_dict)."""

    mean: float
    low: float
    high: float
    n: int


class GroupFigures(TypedDict, total=False):
    """One hardness/difficulty group in summary.json: its size and a MetricCI per metric,
    keyed by metric name (the keys beside `n` vary with the family)."""

    n: int


class Excluded(TypedDict, total=False):
    count: int
    reasons: dict[str, int]  # missing_database, outage, missing_prediction, limit
    db_ids: list[str]
    ids: list[str]


class DataProvenance(TypedDict, total=False):
    """What was scored: sha256 of every data file and database, and of both together."""

    sha256: str
    files: dict[str, str]
    databases: dict[str, str]


class Summary(TypedDict, total=False):
    """summary.json, the scoring stage's figures for one run (top-level fields).

    `metrics` maps a metric name (see harness/metrics.py; a sampled run adds pass@k and
    maj@N) to its MetricCI; the groups sit under `by_hardness` (Spider, no-database) or
    `by_difficulty` (BIRD). `failures` counts wrong answers per failure label.
    """

    schema_version: int
    harness_version: str
    harness_commit: str | None
    dirty: bool | None
    benchmark: str
    split: str
    test_suite: bool
    n: int
    n_total: int
    excluded: Excluded
    complete: bool
    metrics: dict[str, MetricCI]
    by_hardness: dict[str, GroupFigures]
    by_difficulty: dict[str, GroupFigures]
    failures: dict[str, int]
    sampling: dict[str, Any]
    bootstrap: dict[str, Any]  # method, resamples, seed, confidence
    scorer: dict[str, Any]  # name, version, semantics and the family's scoring options
    reference: dict[str, Any]  # BIRD: invalid gold references
    evidence: bool | None  # BIRD: whether the prompts carried the evidence hints
    data: DataProvenance
    predictions: dict[str, Any]  # path, sha256, format
    gold_cache: dict[str, Any]
    timing: dict[str, Any]
    generation: dict[str, Any]  # tokens, latency, cost when the predictions carry them
    options: dict[str, Any]
    official: dict[str, Any]  # the official evaluator's figures, when it ran beside


# --------------------------------------------------------------------------- leaderboard.json

LEADERBOARD_SCHEMA_VERSION = 1


class LeaderboardEntry(TypedDict, total=False):
    """One run's line in a leaderboard table, with its per-question vectors in `correct`
    (metric -> question id -> value: 0/1 for the binary metrics, a score otherwise)."""

    config: str
    run: str
    tier: str
    params: int | None
    evidence: bool | None
    model: dict[str, Any]
    identity: dict[str, Any]  # identity.Identity.as_dict()
    provenance: dict[str, Any]  # identity.Provenance.as_dict()
    citable: bool
    n: int
    n_total: int
    excluded: dict[str, Any]
    metrics: dict[str, MetricCI]
    by_level: dict[str, dict[str, Any]]  # level -> {"n": ..., metric: MetricCI}
    tokens_per_s: float | None
    cost_per_1k_usd: float | None
    scorer: dict[str, Any]
    bootstrap: dict[str, Any]
    data_sha256: str | None
    failures: dict[str, int]
    correct: dict[str, dict[str, float]]
    rank: int


class SplitTable(TypedDict):
    """The leaderboard of one (benchmark, split): runs on other questions never share one."""

    benchmark: str
    split: str
    entries: list[LeaderboardEntry]
    datasets: dict[str, DataProvenance]  # data sha256 -> its files and databases


class Leaderboard(TypedDict):
    """leaderboard.json."""

    schema_version: int
    kind: str
    built_with: str
    tables: list[SplitTable]
