"""Few-shot demonstrations: K examples from a pool, chosen deterministically by seed and
example id (so a resumed or reordered run picks the same ones), never the question itself."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DataError
from harness.records import Example

# Draw a few spares so excluding the question itself rarely needs a second pass.
_SPARE = 4


@dataclass(frozen=True)
class PoolItem:
    """A candidate demonstration. `schema` is literal schema text (from a shots file);
    otherwise the caller renders the schema of `db_id` like the question's own."""

    id: str
    question: str
    sql: str
    db_id: str = ""
    evidence: str = ""
    schema: str = ""
    db_path: Path | None = None


def _norm(question: str) -> str:
    return " ".join(question.lower().split())


def pool_from_examples(examples: Sequence[Example]) -> list[PoolItem]:
    return [
        PoolItem(
            id=e.id,
            question=e.question,
            sql=e.gold_sql,
            db_id=e.db_id,
            evidence=e.evidence,
            db_path=e.db_paths[0] if e.db_paths else None,
        )
        for e in examples
        if e.question and e.gold_sql
    ]


def load_pool_file(path: Path) -> list[PoolItem]:
    """A JSONL (or JSON list) file of {"question", "sql" | "query", optional "db_id",
    "schema", "evidence", "id"} objects."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: few-shot file not found") from None
    numbered: list[tuple[int, Any]] = []
    if text.lstrip().startswith("["):
        try:
            numbered = list(enumerate(json.loads(text), 1))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                numbered.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                # exc.lineno counts within the one line parsed; the file line is n.
                raise DataError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
    pool = []
    for n, rec in numbered:
        if isinstance(rec, dict):
            question, sql = rec.get("question"), rec.get("sql", rec.get("query"))
        else:
            question = sql = None
        if not (isinstance(question, str) and question.strip() and isinstance(sql, str) and sql):
            raise DataError(f"{path}: record {n} needs 'question' and 'sql' (strings)")
        pool.append(
            PoolItem(
                id=str(rec.get("id", f"shot-{n}")),
                question=question,
                sql=sql,
                db_id=rec.get("db_id", ""),
                evidence=rec.get("evidence", ""),
                schema=rec.get("schema", ""),
            )
        )
    return pool


def select_shots(
    pool: Sequence[PoolItem], k: int, seed: int, example_id: str, question: str
) -> list[PoolItem]:
    """K pool items for one example, in pool order; the same (seed, id) gives the same K."""
    if k <= 0 or not pool:
        return []
    own = _norm(question)

    def eligible(item: PoolItem) -> bool:
        return item.id != example_id and _norm(item.question) != own

    digest = hashlib.sha256(f"{seed}\0{example_id}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    draw = rng.sample(range(len(pool)), min(len(pool), k + _SPARE))
    picked = [i for i in draw if eligible(pool[i])][:k]
    if len(picked) < k:
        rest = [i for i in range(len(pool)) if i not in draw and eligible(pool[i])]
        picked += rng.sample(rest, min(len(rest), k - len(picked)))
    return [pool[i] for i in sorted(picked)]
