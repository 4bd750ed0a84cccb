"""Which optional extra (pyproject `[project.optional-dependencies]`) provides a module.

The CLI reports a missing optional dependency as one line naming the extra to install;
any other ImportError, including one inside this package, is a bug and surfaces as one.
A test keeps this table equal to pyproject's extras.
"""

from __future__ import annotations

# top-level module -> extra
OPTIONAL_MODULES: dict[str, str] = {
    "torch": "hf",
    "transformers": "hf",
    "peft": "hf",
    "accelerate": "hf",
    "tokenizers": "hf",
    "vllm": "vllm",
    "nltk": "official",
    "sqlparse": "official",
    "openai": "api",
    "anthropic": "api",
    "pyjnius": "omnisql",
    "ray": "ray",
}


def missing_extra(exc: ImportError) -> str | None:
    """The extra whose absence caused `exc`, or None when it is not a missing optional
    dependency (a broken import of our own, or of a core dependency)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    return OPTIONAL_MODULES.get(exc.name.split(".")[0])
