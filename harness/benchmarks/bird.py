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

import json
from pathlib import Path
from typing import Any

from harness.benchmarks.base import BenchmarkData, database_variants, read_json
from harness.errors import DataError, PredictionsError
from harness.io import jsonl_objects
from harness.predictions import (
    PredictionSet,
    SampleCollector,
    join_to_split,
    line_meta,
    line_sql,
    read_text,
)
from harness.records import Example

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

# The official prediction JSON: {"<index>": "SQL\t----- bird -----\tdb_id", ...}
OFFICIAL_SEPARATOR = "\t----- bird -----\t"


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


# ---------------------------------------------------------------- predictions


def read_bird_predictions(
    path: Path, bench: BenchmarkData, *, limit: int | None = None, allow_missing: bool = False
) -> PredictionSet:
    """Predictions keyed by Example.id, joined by question_id (never silently by position).

    Returns a PredictionSet: `.sql` maps Example.id to SQL; `.outage_ids` lists JSONL lines
    marked `"outage": true` (the provider never answered; the scorer counts them apart).

    Two formats:
    * the official JSON `{"0": "SQL\\t----- bird -----\\tdb_id", ...}`: the key is the index
      of the question in the split file (what the official generation scripts write); the
      db_id after the separator must equal that question's db_id, else an error names the
      key. (The official evaluator ignores the key and pairs by the file's key order; the
      two agree for any file whose keys run 0, 1, 2, ... in order.) A null value is an
      empty prediction, as in the official reader.
    * JSONL: one object per line with "id" (or "question_id") and "sql". "id" is a
      question_id or an Example.id ("138#2"). A question_id that the split holds twice
      fills its copies in file order; a copy left without a line takes the first copy's
      SQL (the entries are identical, so the verdict is too).

    Ids not in the split, a repeated id, or a malformed line raise PredictionsError; so
    does a question of the split's first `limit` (all when None) that the file lacks,
    unless `allow_missing` (then it is in `.missing_ids`, left out of a partial score), as
    for Spider (`harness.predictions.join_to_split`). Never an empty prediction in its
    place: BIRD scores "" correct whenever the gold returns no rows.
    """
    path = Path(path)
    text = read_text(path)
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        raise PredictionsError(
            f"{path}: BIRD predictions must be the official JSON "
            '({"0": "SQL\\t----- bird -----\\tdb_id", ...}) or JSONL ({"id": question_id, '
            '"sql": ...} per line); this file is neither'
        )
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None  # not one JSON document: JSONL
    if isinstance(whole, dict) and not _looks_like_jsonl_object(whole):
        preds = _read_official_json(path, whole, bench)
    else:
        preds = _read_jsonl(path, text, bench)
    return join_to_split(path, preds, bench.examples, limit=limit, allow_missing=allow_missing)


def _looks_like_jsonl_object(obj: dict[str, Any]) -> bool:
    return "sql" in obj and ("id" in obj or "question_id" in obj)


def _read_official_json(path: Path, data: dict[str, Any], bench: BenchmarkData) -> PredictionSet:
    out: dict[str, str] = {}
    n = len(bench.examples)
    for key, value in data.items():
        try:
            index = int(key)
        except ValueError:
            raise PredictionsError(f"{path}: key {key!r} is not a question index") from None
        if not 0 <= index < n or str(index) != key.strip():
            raise PredictionsError(
                f"{path}: key {key!r} is not an index into the {bench.split} split (0..{n - 1})"
            )
        example = bench.examples[index]
        if value is None:
            sql = ""
        elif isinstance(value, str):
            parts = value.split(OFFICIAL_SEPARATOR)
            if len(parts) != 2:
                raise PredictionsError(
                    f"{path}: key {key!r}: expected 'SQL\\t----- bird -----\\tdb_id' (exactly "
                    "one separator), so the db_id can be checked"
                )
            sql, db_id = parts
            if db_id.strip() != example.db_id:
                raise PredictionsError(
                    f"{path}: key {key!r}: db_id {db_id.strip()!r} after the separator, but "
                    f"question {index} of {bench.split} (question_id "
                    f"{example.extra.get('question_id')}) is on {example.db_id!r}; the file "
                    "does not follow this split's question order"
                )
        else:
            raise PredictionsError(f"{path}: key {key!r}: value is not a string")
        if example.id in out:
            raise PredictionsError(f"{path}: key {key!r} repeats question {index}")
        out[example.id] = sql
    return PredictionSet(sql=out, fmt="bird-official-json")


def _read_jsonl(path: Path, text: str, bench: BenchmarkData) -> PredictionSet:
    by_id = {ex.id: ex for ex in bench.examples}
    copies_of: dict[str, list[str]] = {}  # question_id -> its Example.ids in split order
    for ex in bench.examples:
        copies_of.setdefault(str(ex.extra.get("question_id", ex.id)), []).append(ex.id)
    preds = PredictionSet(sql={}, fmt="jsonl")
    taken: dict[str, int] = {}  # Example.id -> line that claimed it
    sampled = SampleCollector(path)
    lines = text.splitlines()
    # A torn final line (a run killed mid-write) is not a prediction.
    for lineno, obj in jsonl_objects(lines, path, PredictionsError, skip_torn_last=True):
        raw_id = obj.get("id", obj.get("question_id"))
        if raw_id is None or isinstance(raw_id, bool):
            raise PredictionsError(f"{path}:{lineno}: no 'id' (or 'question_id') field")
        key = str(raw_id).strip()
        sample = sampled.sample_of(obj, lineno)
        if sample is not None:
            # `harness generate` writes Example.ids; a bare question_id means its first copy.
            if key not in by_id and key not in copies_of:
                raise PredictionsError(
                    f"{path}:{lineno}: id {key!r} is not a question_id of BIRD {bench.split}"
                )
            sampled.add(key if key in by_id else copies_of[key][0], sample, obj, lineno, preds)
            continue
        if key in copies_of:
            free = [i for i in copies_of[key] if i not in taken]
            if not free:
                first = taken[copies_of[key][0]]
                raise PredictionsError(
                    f"{path}:{lineno}: duplicate id {key!r} (first on line "
                    f"{first}; the {bench.split} split holds it "
                    f"{len(copies_of[key])} time(s))"
                )
            target = free[0]
        elif key in by_id:
            target = key  # an explicit copy id such as "138#2"
            if target in taken:
                raise PredictionsError(
                    f"{path}:{lineno}: duplicate id {key!r} (first on line {taken[target]})"
                )
        else:
            raise PredictionsError(
                f"{path}:{lineno}: id {key!r} is not a question_id of BIRD {bench.split}"
            )
        taken[target] = lineno
        if obj.get("outage"):
            preds.outage_ids.append(target)
            continue
        preds.sql[target] = line_sql(obj, path, lineno, key)
        meta = line_meta(obj)
        if meta:
            preds.meta[target] = meta
    sampled.finish(preds)
    # A duplicated question left with fewer lines than copies: the copies are identical
    # examples, so they take the first copy's prediction (or its outage).
    for ids in copies_of.values():
        for copy_id in ids[1:]:
            if copy_id in taken or copy_id in preds.sql or copy_id in preds.outage_ids:
                continue
            if ids[0] in preds.sql:
                preds.sql[copy_id] = preds.sql[ids[0]]
                if ids[0] in preds.samples:
                    preds.samples[copy_id] = preds.samples[ids[0]]
            elif ids[0] in preds.outage_ids:
                preds.outage_ids.append(copy_id)
    return preds
