"""The scoring options, defined once: each field's default, and the command-line flag and
help it is offered under (`harness/commands/_options.py` builds the click options from
these fields, so a default is written here only).

One ScoreOptions is built from the command line or a config, then handed as is to the
scorer, the workers and the official evaluator's bridge; the per-query Limits come from
it in one place (`limits`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.scoring.engine.sandbox import Limits

# Which commands offer a flag: "scoring" everywhere a run is scored (score, bench,
# selftest, sweep), "files" only where a predictions file is read (score).
SCORING, FILES = "scoring", "files"

# Who scores: ours, the official Spider evaluator run as a program, or both side by side.
EVALUATORS = ("native", "official", "both")


def option(
    default: Any, flag: str | None, help: str, offered: str = SCORING, folder: bool = False
) -> Any:
    """A field with its command-line flag (None: not on the command line); `folder` says a
    path field names a folder, not a file."""
    meta = {} if flag is None else {"flag": flag, "help": help, "offered": offered}
    return field(default=default, metadata={**meta, "folder": folder} if meta else meta)


@dataclass
class ScoreOptions:
    keep_distinct: bool = option(
        False, "--keep-distinct", "Keep DISTINCT when executing (official --keep_distinct)."
    )
    plug_value: bool = option(
        False, "--plug-value", "Also try the prediction with gold literals plugged in (official)."
    )
    timeout_s: float = option(Limits.timeout_s, "--timeout", "Per-query time limit in seconds.")
    jobs: int = option(0, "--jobs", "Worker processes (0 = one per CPU).")
    allow_missing_db: bool = option(
        False,
        "--allow-partial",
        "Score the examples whose database exists; record the rest as excluded (a partial "
        "result, not citable; as `harness leaderboard --allow-partial` lists one).",
    )
    resamples: int = option(10_000, "--resamples", "Bootstrap resamples.")
    seed: int = option(0, "--seed", "Bootstrap seed.")
    # None = the default cache folder; see no_cache
    cache_dir: Path | None = option(
        None,
        "--gold-cache-dir",
        "Folder of the gold-result cache and stored verdicts (default ~/.cache/harness).",
        folder=True,
    )
    no_cache: bool = option(
        False, "--no-cache", "Do not use the gold-result cache or stored verdicts."
    )
    em: bool = option(True, None, "")
    r_ves_repeats: int = option(
        0, "--r-ves", "BIRD: timing repetitions for R-VES (0 = off; it is slow)."
    )
    # BIRD: a prediction may take max(floor, factor x the gold's own time), capped by
    # timeout_s, so the ceiling does not depend on the grader's hardware.
    bird_timeout_factor: float = option(
        10.0,
        "--bird-timeout-factor",
        "BIRD: a prediction may take this many times the gold's time...",
    )
    bird_timeout_floor_s: float = option(
        5.0, "--bird-timeout-floor", "...but never less than this (seconds)."
    )
    # None = bird/reference_exceptions.toml
    bird_exceptions: Path | None = option(
        None,
        "--bird-exceptions",
        "BIRD: reviewed list of known-bad gold queries (default bird/reference_exceptions.toml).",
    )
    limit: int | None = option(
        None,
        "--limit",
        "Score only the split's first N examples (recorded as a partial score); the "
        "predictions may cover the whole split or just those N.",
        FILES,
    )
    allow_missing_predictions: bool = option(
        False,
        "--allow-missing-predictions",
        "Leave out the questions the predictions file lacks (a partial score) instead of "
        "refusing it. A short official-lines file stays an error (its lines pair by position).",
        FILES,
    )

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ConfigError(f"--timeout must be positive, got {self.timeout_s}")
        if self.jobs < 0:
            raise ConfigError(f"--jobs must be >= 0, got {self.jobs}")
        if self.resamples < 1:
            raise ConfigError(f"resamples must be >= 1, got {self.resamples}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"--limit must be >= 1, got {self.limit}")

    def limits(self) -> Limits:
        """The sandbox's per-query limits (the rest of Limits keeps its defaults)."""
        return Limits(timeout_s=self.timeout_s)

    def task_deadline_s(self, variants: int, sampled: bool, vote_s: float) -> float:
        """How long one judged example may take in all before its worker is killed: every
        query it can run (gold and prediction on each database variant, the plug-value
        retries, the R-VES repetitions) at the full per-query limit, plus slack."""
        queries = 2 * variants * (20 if self.plug_value else 1) + 2 * self.r_ves_repeats
        return self.timeout_s * queries + 30.0 + (vote_s if sampled else 0.0)
