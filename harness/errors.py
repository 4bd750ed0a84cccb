"""Specific exception types; the CLI turns each into one clear line (never a traceback)."""


class HarnessError(Exception):
    """Base class for every error the CLI reports as a single line."""


class DataError(HarnessError):
    """A benchmark or data file is missing, malformed or inconsistent (names file/line/field)."""


class MissingDatabaseError(DataError):
    """Some db_ids have no database file; carries the list so the message can name them."""

    def __init__(self, missing: list[str], n_examples: int, where: str) -> None:
        self.missing = sorted(missing)
        self.n_examples = n_examples
        super().__init__(
            f"{len(self.missing)} database(s) missing under {where}: {', '.join(self.missing)} "
            f"({n_examples} examples). Fetch them, or pass --allow-partial to score the rest "
            "(the excluded ids are recorded in summary.json)."
        )


class PredictionsError(DataError):
    """A predictions file does not match the benchmark (bad line, missing or extra ids)."""


class ConfigError(HarnessError):
    """A run config or option combination is invalid."""


class SelftestFailed(HarnessError):
    """Gold scored against itself did not reach 100%."""
