"""Database values that match the question, found as OmniSQL finds them (RUCKBReasoning/
OmniSQL, train_and_evaluate/build_contents_index.py and process_dataset.py):

1. every distinct short string value of every column (not a number, 1 to 40 characters)
   is a document of a BM25 Lucene index, one index per database (built here by Anserini,
   the Lucene toolkit pyserini ships, in this process's JVM, with upstream's options;
   cached under the harness cache root, keyed by the documents' sha256);
2. the question's word n-grams (nltk's word_tokenize, n <= 8) and the question itself are
   queries; each takes the top 10 hits;
3. a hit counts when its longest substring found in the question (lower case) covers more
   than 85% of it; the 20 best (by that share, then length, then hit order) are kept,
   grouped by column.

Needs the `omnisql` extra (pyserini + pyjnius), a JDK (11 or newer) and nltk's punkt_tab.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.dbschema import connect_readonly
from harness.errors import ConfigError
from harness.io import cache_root

TOP_K = 10
MIN_SHARE = 0.85
KEEP = 20
MAX_N = 8
_MAX_CHARS = 40
_SEP = "-**-"
_EXTRA = (
    "pip install 'harness[official,omnisql]' and `pip install --no-deps pyserini==0.22.1`, "
    "and a JDK 11+ (openjdk-17)"
)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def index_documents(db_path: Path) -> list[dict[str, str]]:
    """build_content_index's documents, in its order (which fixes Lucene's doc ids)."""
    docs: list[dict[str, str]] = []
    with closing(connect_readonly(db_path, errors="ignore")) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table';")]
        for table in tables:
            if table == "sqlite_sequence":
                continue
            columns = [r[0] for r in conn.execute(f"SELECT name FROM PRAGMA_TABLE_INFO('{table}')")]
            for column in columns:
                try:
                    rows = conn.execute(
                        f"SELECT DISTINCT `{column}` FROM `{table}` WHERE `{column}` IS NOT NULL;"
                    ).fetchall()
                except sqlite3.Error:
                    continue  # upstream prints the error and goes on
                contents = [r[0] for r in rows if isinstance(r[0], str) and not _is_number(r[0])]
                for c_id, content in enumerate(contents):
                    if 0 < len(content) <= _MAX_CHARS:
                        docs.append(
                            {"id": f"{table}{_SEP}{column}{_SEP}{c_id}", "contents": content}
                        )
    return docs


@lru_cache(maxsize=1)
def _lucene() -> Any:
    """pyserini's Anserini classes, in this process's JVM (started on first use)."""
    try:
        from pyserini.pyclass import JArrayList, autoclass
    except Exception as exc:  # ImportError, or jnius finding no JVM
        raise ConfigError(
            f"OmniSQL's value retrieval cannot start Lucene ({exc}); {_EXTRA}"
        ) from None
    return SimpleNamespace(
        searcher=autoclass("io.anserini.search.SimpleSearcher"),
        indexer=autoclass("io.anserini.index.IndexCollection"),
        array_list=JArrayList,
    )


@contextmanager
def _quiet(log: Path) -> Iterator[None]:
    """Anserini logs to the process's stdout/stderr: send both to `log` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "wb") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def build_index(docs: Sequence[dict[str, str]], index_dir: Path) -> None:
    """Anserini's IndexCollection with build_content_index's options, into a fresh folder
    (one input file, so documents keep their order and doc ids)."""
    lucene = _lucene()
    with tempfile.TemporaryDirectory(prefix="harness-values-") as tmp:
        (Path(tmp) / "contents.json").write_text(json.dumps(list(docs), indent=2))
        partial = Path(f"{index_dir}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        args = [
            *("-collection", "JsonCollection", "-input", tmp, "-index", str(partial)),
            *("-generator", "DefaultLuceneDocumentGenerator", "-threads", "1"),
            *("-storePositions", "-storeDocvectors", "-storeRaw"),
        ]
        log = Path(tmp) / "index.log"
        try:
            with _quiet(log):
                lucene.indexer.main(args)
        except Exception as exc:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [str(exc)]
            raise ConfigError(f"building the value index {index_dir} failed: {tail[0]}") from None
        partial.rename(index_dir)


def cached_index(db_id: str, db_path: Path, root: Path | None = None) -> Path | None:
    """The database's value index (built once per distinct document set); None when the
    database holds no string values to index."""
    docs = index_documents(db_path)
    if not docs:
        return None
    digest = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()[:16]
    index_dir = (root or cache_root() / "value-index") / f"{db_id}-{digest}"
    if not index_dir.is_dir():
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        build_index(docs, index_dir)
    return index_dir


@lru_cache(maxsize=1)
def _searcher_class() -> Any:
    try:
        from pyserini.pyclass import autoclass  # starts the JVM with Anserini on its classpath
    except Exception as exc:
        raise ConfigError(
            f"OmniSQL's value retrieval cannot start Lucene ({exc}); {_EXTRA}"
        ) from None
    return autoclass("io.anserini.search.SimpleSearcher")


class ValueSearcher:
    """BM25 top-10 hits per query for one database (LuceneSearcher defaults: k1=0.9, b=0.4)."""

    def __init__(self, index_dir: Path | None, threads: int = 2) -> None:
        self.lucene = _lucene() if index_dir else None
        self.searcher = self.lucene.searcher(str(index_dir)) if self.lucene else None
        self.threads = threads
        self._hits: dict[str, list[dict[str, str]]] = {}

    def hits(self, queries: Sequence[str]) -> dict[str, list[dict[str, str]]]:
        todo = [q for q in dict.fromkeys(queries) if q not in self._hits]
        if todo and self.searcher is not None:
            jq, jid = self.lucene.array_list(), self.lucene.array_list()
            for i, q in enumerate(todo):
                jq.add(q)
                jid.add(str(i))
            found = self.searcher.batch_search(jq, jid, TOP_K, self.threads)
            by_id = {e.getKey(): e.getValue() for e in found.entrySet().toArray()}
            for i, q in enumerate(todo):
                raws = list(dict.fromkeys(h.raw for h in by_id.get(str(i), [])))
                self._hits[q] = [json.loads(r) for r in raws]
        return {q: self._hits.get(q, []) for q in queries}


@lru_cache(maxsize=1)
def _word_tokenize() -> Callable[[str], list[str]]:
    try:
        import nltk
        from nltk.tokenize import word_tokenize
    except ImportError:
        raise ConfigError(f"OmniSQL's value retrieval needs nltk: {_EXTRA}") from None
    # Where `harness prepare official-evaluator` puts punkt_tab (after nltk's own paths).
    from harness.prepare.manifest import get_asset

    prepared = get_asset("official-evaluator").dest(None) / "nltk_data"
    if (prepared / "tokenizers" / "punkt_tab").is_dir() and str(prepared) not in nltk.data.path:
        nltk.data.path.append(str(prepared))
    try:
        word_tokenize("a. b")
    except LookupError:
        raise ConfigError(
            "OmniSQL's value retrieval tokenizes with nltk's punkt_tab (english), which is not "
            "installed: run `harness prepare official-evaluator` (it brings punkt_tab) or set "
            "NLTK_DATA to a folder holding tokenizers/punkt_tab"
        ) from None
    return word_tokenize


def ngrams(text: str, max_n: int = MAX_N) -> list[str]:
    tokens = _word_tokenize()(text)
    out: list[str] = []
    for n in range(1, max_n + 1):
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


def substring_share(value: str, question: str) -> float:
    """Length of the longest substring of `value` found in `question`, over len(value)."""
    value, question = value.lower(), question.lower()
    best = 0
    for i in range(len(value)):
        j = i + best + 1  # only a longer match can change the answer
        while j <= len(value) and value[i:j] in question:
            best = j - i
            j += 1
    return best / len(value)


def matched_values(hits: Iterable[dict[str, str]], question: str) -> dict[str, list[str]]:
    """retrieve_question_related_db_values: "table.column" (lower case) -> values."""
    scored = []
    for index, hit in enumerate(hits):
        table, column, _ = hit["id"].split(_SEP)
        share = substring_share(hit["contents"], question)
        if share > MIN_SHARE:
            scored.append((share, len(hit["contents"]), index, f"{table}.{column}".lower(), hit))
    scored.sort(key=lambda s: s[:3], reverse=True)
    out: dict[str, list[str]] = {}
    for *_, key, hit in scored[:KEEP]:
        out.setdefault(key, []).append(hit["contents"])
    return out


def question_values(searcher: ValueSearcher, question: str) -> dict[str, list[str]]:
    queries = list(dict.fromkeys([*ngrams(question), question]))
    found = searcher.hits(queries)
    hits: list[dict[str, str]] = []
    seen: set[frozenset] = set()
    for query in queries:
        for hit in found[query]:
            key = frozenset(hit.items())
            if key not in seen:
                seen.add(key)
                hits.append(hit)
    return matched_values(hits, question)
