"""BIRD (dev and mini-dev, SQLite): questions, evidence, gold SQL, databases, predictions.

Layout under a data directory (what `harness prepare bird-dev|bird-minidev` unpacks):
    dev.json                 split "dev": question_id, db_id, question, evidence, SQL, difficulty
    mini_dev_sqlite.json     split "mini_dev": the same fields with gold_sql instead of SQL
    dev_tables.json          schemas of the 11 dev databases
    dev_databases/<db_id>/<db_id>.sqlite

Example ids are BIRD's question_id as a string. The released mini_dev_sqlite.json holds
question_ids 137 and 138 twice each (identical entries; the official evaluator scores all
500 lines positionally); the second copy of each gets the id "<question_id>#2" so ids stay
unique and the split keeps its 500 examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.benchmarks.base import database_variants, read_json
from harness.errors import DataError
from harness.records import BenchmarkData, Example

REPO_ROOT = Path(__file__).resolve().parents[2]
# where `harness prepare bird-dev|bird-minidev` puts the files (bird/manifest.toml)
DEFAULT_DATA_DIRS = {
    "dev": REPO_ROOT / "bird" / "data",
    "mini_dev": REPO_ROOT / "bird" / "data" / "minidev",
}
TABLES_FILE = "dev_tables.json"
DB_FOLDER = "dev_databases"

# split -> (file name, field holding the gold SQL, prepare target)
SPLITS: dict[str, tuple[str, str, str]] = {
    "dev": ("dev.json", "SQL", "bird-dev"),
    "mini_dev": ("mini_dev_sqlite.json", "gold_sql", "bird-minidev"),
}
_SPLIT_ALIASES = {"minidev": "mini_dev", "mini-dev": "mini_dev", "mini_dev_sqlite": "mini_dev"}
DIFFICULTIES = ("simple", "moderate", "challenging")


def canonical_split(split: str) -> str:
    name = _SPLIT_ALIASES.get(split, split)
    if name not in SPLITS:
        raise DataError(f"unknown BIRD split {split!r}; known: {', '.join(SPLITS)}")
    return name


def _hint(split: str) -> str:
    return f"run `harness prepare {SPLITS[split][2]}` or pass --data-dir"


def _read_json(path: Path, split: str) -> Any:
    return read_json(path, _hint(split))


def database_root(data_dir: Path, db_dir: Path | None) -> Path:
    """Where `<db_id>/<db_id>.sqlite` folders live.

    `db_dir` may be the folder that holds `dev_databases/` or `dev_databases/` itself
    (the official evaluator's --db_root_path); without it, `data_dir/dev_databases`.
    """
    if db_dir is None:
        return data_dir / DB_FOLDER
    db_dir = Path(db_dir)
    return db_dir / DB_FOLDER if (db_dir / DB_FOLDER).is_dir() else db_dir


def _load_tables(path: Path, split: str) -> dict[str, dict[str, Any]]:
    entries = _read_json(path, split)
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a JSON list of schema entries")
    tables: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("db_id"):
            raise DataError(f"{path}: entry {i} has no db_id")
        tables[entry["db_id"]] = entry
    return tables


def _field(item: dict[str, Any], name: str, path: Path, index: int) -> Any:
    if name not in item:
        raise DataError(
            f"{path}: entry {index} (question_id {item.get('question_id')}) lacks field {name!r}"
        )
    return item[name]


def load_bird(
    data_dir: Path | None = None,
    split: str = "dev",
    db_dir: Path | None = None,
    evidence: bool = True,
    **_: object,
) -> BenchmarkData:
    """Load a BIRD split.

    `evidence=False` empties `Example.evidence` (the prompt then has no hint); either way
    `Example.extra["evidence_used"]` records the choice and `extra["evidence_text"]` keeps
    the original, so a run's records say which setting produced them.
    Missing databases are listed in `missing_db_ids`, not raised: the scorer decides.
    """
    split = canonical_split(split)
    file_name, gold_field, _ = SPLITS[split]
    root = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIRS[split]
    if not root.is_dir():
        raise DataError(f"{root}: BIRD data directory not found ({_hint(split)})")
    split_file = root / file_name
    tables_file = root / TABLES_FILE
    items = _read_json(split_file, split)
    if not isinstance(items, list):
        raise DataError(f"{split_file}: expected a JSON list of questions")
    tables = _load_tables(tables_file, split)
    db_root = database_root(root, db_dir)

    examples: list[Example] = []
    # `<db_id>/` holding several *.sqlite files is a test suite (harness testsuite build).
    variants: dict[str, tuple[Path, ...]] = {}
    first_seen: dict[int, tuple[int, dict[str, Any]]] = {}  # question_id -> (index, entry)
    copies: dict[int, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DataError(f"{split_file}: entry {index} is not a JSON object")
        qid = _field(item, "question_id", split_file, index)
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise DataError(f"{split_file}: entry {index}: question_id {qid!r} is not an integer")
        db_id = _field(item, "db_id", split_file, index)
        gold = _field(item, gold_field, split_file, index)
        question = _field(item, "question", split_file, index)
        difficulty = item.get("difficulty", "")
        if difficulty and difficulty not in DIFFICULTIES:
            raise DataError(f"{split_file}: entry {index}: unknown difficulty {difficulty!r}")
        if db_id not in tables:
            raise DataError(
                f"{tables_file}: no schema for db_id {db_id!r} "
                f"(question_id {qid} in {split_file.name})"
            )
        if qid in first_seen:
            first_index, first_item = first_seen[qid]
            if first_item != item:
                raise DataError(
                    f"{split_file}: question_id {qid} occurs twice with different "
                    f"content (entries {first_index} and {index})"
                )
            copies[qid] += 1
            example_id = f"{qid}#{copies[qid]}"
        else:
            first_seen[qid] = (index, item)
            copies[qid] = 1
            example_id = str(qid)
        hint = item.get("evidence") or ""
        examples.append(
            Example(
                id=example_id,
                db_id=db_id,
                question=question,
                gold_sql=gold,
                db_paths=variants.setdefault(db_id, database_variants(db_root, db_id)),
                evidence=hint if evidence else "",
                difficulty=difficulty,
                extra={
                    "question_id": qid,
                    "index": index,
                    "evidence_used": evidence,
                    "evidence_text": hint,
                },
            )
        )
    for ex in examples:
        ex.extra["copies"] = copies[ex.extra["question_id"]]
    missing = sorted({ex.db_id for ex in examples if not ex.db_paths})
    return BenchmarkData(
        name="bird",
        split=split,
        examples=examples,
        tables=tables,
        data_files=[split_file, tables_file],
        missing_db_ids=missing,
        test_suite=any(len(paths) > 1 for paths in variants.values()),
    )
