"""Benchmarks without databases, in b-mc2/sql-create-context's shape: each row is a
question, the CREATE TABLE text of its tables ("context") and the gold SQL ("answer").

`<data_dir>/<split>.jsonl` (or `.json`, a list): {"question", "context", "answer"} per row,
optionally an "id". There is nothing to execute: such rows are scored by exact set match
against the schema parsed from their CREATE TABLE text and by a normalized string match
(harness/scoring/nodb_judge.py), never by execution accuracy. The default data directory
is the small sample committed in evals/create-context (written for this harness in that
shape; not an excerpt of the dataset).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.benchmarks.fixture import schema_from_context
from harness.errors import DataError
from harness.hashing import sha256_text
from harness.io import jsonl_objects, read_json
from harness.records import BenchmarkData, Example

FIELDS = ("question", "context", "answer")


def default_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "evals" / "create-context"


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(position, row): a JSON list of rows (.json) or one row per line (JSONL)."""
    if path.suffix == ".json":
        data = read_json(path, DataError, expect=list)
        return [(i + 1, r) for i, r in enumerate(data)]
    lines = path.read_text(encoding="utf-8").splitlines()
    return list(jsonl_objects(lines, path, DataError))


def load_create_context(
    data_dir: Path | None = None, split: str = "dev", **_: object
) -> BenchmarkData:
    folder = Path(data_dir) if data_dir is not None else default_dir()
    candidates = [folder / f"{split}.jsonl", folder / f"{split}.json"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise DataError(f"{folder}: no {split}.jsonl or {split}.json")
    examples, tables = [], {}
    for n, (where, row) in enumerate(_records(path)):
        if not isinstance(row, dict) or any(not isinstance(row.get(f), str) for f in FIELDS):
            raise DataError(f"{path}:{where}: expected an object with string fields {FIELDS}")
        db_id = "ctx-" + sha256_text(row["context"])[:12]  # one schema per distinct context
        if db_id not in tables:
            tables[db_id] = schema_from_context(row["context"], db_id, f"{path}:{where}")
        examples.append(
            Example(
                id=str(row.get("id", n)),
                db_id=db_id,
                question=row["question"],
                gold_sql=row["answer"],
                context=row["context"],
            )
        )
    return BenchmarkData(
        name="create-context", split=split, examples=examples, tables=tables, data_files=[path]
    )
