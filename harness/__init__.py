"""harness: a text-to-SQL benchmark harness scored as the official evaluators score."""

__version__ = "0.1.0"
