"""nltk's punkt_tab for the official Spider evaluator, and when its parameters cannot matter.

The official evaluator tokenizes SQL with `nltk.word_tokenize` (process_sql.py), which first
splits the text into sentences with the Punkt model and then runs the Treebank word
tokenizer on each sentence. Punkt's parameters (abbreviations, collocations, sentence
starters, orthographic contexts) are consulted only at *candidate* breaks: a `.`, `?` or
`!` followed by whitespace or by punctuation, as nltk's `period_context_re` finds them.
A text with no candidate is one sentence under every parameter set, so its tokens do not
depend on the model at all. Before tokenizing, the evaluator swaps every quoted literal
for a `__val_i_j__` key; what remains of a Spider query is keywords, names, numbers and
operators, and none of the 1,034 Spider dev gold queries has a candidate break (a test
checks it on the real file). That is why a minimal punkt_tab, four empty parameter files,
tokenizes them exactly as nltk's published English model does, and why it can be set up
offline at prepare time. A prediction that does have a candidate break (a literal-free
`.` or `?` before a space) could tokenize differently; the bridge lists such ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.prepare.record import read_record

PUNKT_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")
LANGUAGE = "english"
# Where the evaluator's punkt_tab lives, relative to the evaluator folder (manifest companion).
EVALUATOR_PUNKT = Path("nltk_data") / "tokenizers" / "punkt_tab"
# The manifest asset (spider/manifest.toml) whose record says which punkt_tab is installed.
ASSET = "nltk-punkt-tab"
MINIMAL_SOURCE = "minimal punkt_tab (empty parameter files) written by harness prepare"


def write_minimal(root: Path) -> list[str]:
    """Write `root/english/<file>` for each punkt_tab parameter file, empty; returns the
    relative paths written. Empty files load as empty parameter sets in nltk."""
    (root / LANGUAGE).mkdir(parents=True, exist_ok=True)
    written = []
    for name in PUNKT_FILES:
        (root / LANGUAGE / name).write_text("", encoding="utf-8")
        written.append(f"{LANGUAGE}/{name}")
    return written


def missing_files(punkt_dir: Path) -> list[str]:
    return [name for name in PUNKT_FILES if not (punkt_dir / LANGUAGE / name).is_file()]


def installed(punkt_dir: Path) -> dict[str, Any]:
    """Which punkt_tab a prepared evaluator has: its prepare record's source and archive
    hash, and whether it is the minimal one."""
    record = read_record(ASSET, punkt_dir)
    if record is None:
        return {"source": "unrecorded (not put there by harness prepare)", "minimal": False}
    return {
        "source": str(record.get("source", "")),
        "archive_sha256": str(record.get("archive_sha256", "")),
        "minimal": bool(record.get("minimal", False)),
    }


def evaluator_text(sql: str) -> str | None:
    """The text the official evaluator hands to word_tokenize: single quotes become double
    quotes and each quoted span becomes a key (test-suite-sql-eval e97acc5, process_sql.py
    `tokenize`). None when the quotes are unbalanced (the evaluator asserts on that before
    tokenizing, so no punkt model is involved)."""
    text = str(sql).replace("'", '"')
    quotes = [i for i, char in enumerate(text) if char == '"']
    if len(quotes) % 2:
        return None
    for i in range(len(quotes) - 1, -1, -2):
        start, end = quotes[i - 1], quotes[i]
        text = text[:start] + f"__val_{start}_{end}__" + text[end + 1 :]
    return text


def has_candidate_break(sql: str) -> bool:
    """Whether Punkt's parameters could change how the evaluator tokenizes `sql`."""
    from nltk.tokenize.punkt import PunktLanguageVars

    text = evaluator_text(sql)
    if text is None:
        return False
    return PunktLanguageVars().period_context_re().search(text) is not None


def sensitive_ids(texts: Iterable[tuple[str, str]]) -> list[str] | None:
    """The ids whose SQL has a candidate break (see the module docstring); None when nltk
    is not importable here, so the check could not run."""
    try:
        import nltk.tokenize.punkt  # noqa: F401
    except ImportError:
        return None
    return sorted({key for key, sql in texts if has_candidate_break(sql)})
