"""Spider-format benchmarks: `<split>.json`, `tables.json`, `<split>_gold.sql`, `database/`.

Test-suite mode is a database directory whose `<db_id>/` folder holds several `*.sqlite`
variants; a query then counts as correct only if it matches gold on every variant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.benchmarks.base import database_variants, read_json
from harness.errors import DataError
from harness.records import BenchmarkData, Example

PREPARE_HINT = "run `harness prepare spider --data-dir DIR` or pass --data-dir"


def _read_json(path: Path) -> Any:
    return read_json(path, PREPARE_HINT)


def read_gold_file(path: Path) -> list[tuple[str, str]]:
    """The official gold format: one `SQL<TAB>db_id` per line; blank lines are skipped."""
    pairs: list[tuple[str, str]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: not found ({PREPARE_HINT})") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.strip().split("\t")
        if len(parts) < 2 or not parts[-1].strip():
            raise DataError(f"{path}:{lineno}: expected `SQL<TAB>db_id`, got {line[:80]!r}")
        pairs.append((parts[0], parts[-1].strip()))
    return pairs


def load_tables(path: Path) -> dict[str, dict[str, Any]]:
    entries = _read_json(path)
    if not isinstance(entries, list):
        raise DataError(f"{path}: expected a JSON list of schema entries")
    tables: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "db_id" not in entry:
            raise DataError(f"{path}: entry {i} has no db_id")
        tables[entry["db_id"]] = entry
    return tables


def _split_files(data_dir: Path, split: str) -> list[Path]:
    """The JSON files of a split. Spider ships its training set as train_spider.json and
    train_others.json (train_gold.sql covers both, in that order): split "train" is them."""
    if split == "train" and not (data_dir / "train.json").is_file():
        parts = [data_dir / "train_spider.json", data_dir / "train_others.json"]
        if parts[0].is_file():
            return [p for p in parts if p.is_file()]
    return [data_dir / f"{split}.json"]


def _prepared_dir() -> Path:
    """Where `harness prepare spider` puts the data (spider/data or $HARNESS_DATA_DIR)."""
    from harness.prepare.manifest import get_asset

    return get_asset("spider").dest()


def load_spider(
    data_dir: Path | None = None,
    split: str = "dev",
    db_dir: Path | None = None,
    gold_path: Path | None = None,
    tables_path: Path | None = None,
    **_: object,
) -> BenchmarkData:
    """Load a Spider split; gold comes from `<split>_gold.sql` (the official file) when present.

    `gold_path` scores an arbitrary official-format gold file instead of a split (questions
    are then empty); ids are always the 0-based position in the split or gold file.
    """
    if data_dir is None and (gold_path is None or db_dir is None):
        data_dir = _prepared_dir()
    data_dir = Path(data_dir) if data_dir is not None else None
    if data_dir is not None and not data_dir.is_dir():
        raise DataError(f"{data_dir}: Spider data directory not found ({PREPARE_HINT})")
    db_root = Path(db_dir) if db_dir is not None else (data_dir / "database")  # type: ignore[operator]
    if not db_root.is_dir():
        raise DataError(f"{db_root}: database directory not found ({PREPARE_HINT})")
    tables_file = Path(tables_path) if tables_path else data_dir / "tables.json"  # type: ignore[operator]
    tables = load_tables(tables_file)
    data_files = [tables_file]

    questions: list[dict[str, Any]] = []
    if gold_path is not None:
        gold = read_gold_file(Path(gold_path))
        data_files.append(Path(gold_path))
    else:
        assert data_dir is not None
        questions = []
        split_files = _split_files(data_dir, split)
        names = " + ".join(p.name for p in split_files)
        for split_file in split_files:
            part = _read_json(split_file)
            if not isinstance(part, list):
                raise DataError(f"{split_file}: expected a JSON list of examples")
            questions.extend(part)
            data_files.append(split_file)
        gold_file = data_dir / f"{split}_gold.sql"
        if gold_file.is_file():
            gold = read_gold_file(gold_file)
            data_files.append(gold_file)
            if len(gold) != len(questions):
                raise DataError(
                    f"{gold_file}: {len(gold)} gold queries but {names} has "
                    f"{len(questions)} examples"
                )
        else:
            gold = []
            for i, q in enumerate(questions):
                if "query" not in q or "db_id" not in q:
                    raise DataError(f"{names}: example {i} lacks field 'query' or 'db_id'")
                gold.append((q["query"], q["db_id"]))

    examples: list[Example] = []
    variants: dict[str, tuple[Path, ...]] = {}
    for i, (sql, db_id) in enumerate(gold):
        question = ""
        if questions:
            q = questions[i]
            if q.get("db_id") != db_id:
                raise DataError(
                    f"example {i}: db_id {q.get('db_id')!r} in {split}.json but {db_id!r} "
                    "in the gold file"
                )
            question = q.get("question", "")
        if db_id not in variants:
            variants[db_id] = database_variants(db_root, db_id)
        examples.append(
            Example(
                id=str(i), db_id=db_id, question=question, gold_sql=sql, db_paths=variants[db_id]
            )
        )
    missing = sorted(db for db, paths in variants.items() if not paths)
    unknown = sorted(db for db in variants if db not in tables)
    if unknown:
        raise DataError(f"{tables_file}: no schema entry for db_id(s) {', '.join(unknown)}")
    return BenchmarkData(
        name="spider",
        split=split if gold_path is None else Path(gold_path).stem,
        examples=examples,
        tables=tables,
        data_files=data_files,
        missing_db_ids=missing,
        test_suite=any(len(p) > 1 for p in variants.values()),
    )
