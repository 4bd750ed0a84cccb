"""BIRD predictions files (the official JSON, or JSONL), joined to the split by
question_id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import PredictionsError
from harness.io import jsonl_objects
from harness.predictions import SampleCollector, join_to_split, line_sql, read_text, take_line
from harness.records import BenchmarkData, PredictionSet

# The official prediction JSON: {"<index>": "SQL\t----- bird -----\tdb_id", ...}
OFFICIAL_SEPARATOR = "\t----- bird -----\t"


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
        sql = None if obj.get("outage") else line_sql(obj, path, lineno, key)
        take_line(preds, target, obj, sql)
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
