"""BIRD loader and prediction reader on the real dev / mini-dev JSON (no databases here)."""

from __future__ import annotations

import json
import random
import sqlite3
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from harness.benchmarks.base import load_benchmark
from harness.benchmarks.bird import load_bird
from harness.errors import DataError, PredictionsError
from harness.predictions.bird import OFFICIAL_SEPARATOR, read_bird_predictions
from harness.scoring.bird.references import EXCEPTIONS_FILE, gold_sha256, load_exceptions


@pytest.fixture(scope="module")
def dev(bird_dir):
    return load_bird(bird_dir, "dev")


@pytest.fixture(scope="module")
def mini(bird_dir):
    return load_bird(bird_dir, "mini_dev")


def test_dev_counts(dev):
    assert len(dev.examples) == 1534
    assert Counter(e.difficulty for e in dev.examples) == {
        "simple": 925,
        "moderate": 464,
        "challenging": 145,
    }
    assert len(dev.tables) == 11
    assert {e.db_id for e in dev.examples} == set(dev.tables)


def test_mini_dev_counts_and_duplicate_ids(mini):
    assert len(mini.examples) == 500
    assert Counter(e.difficulty for e in mini.examples) == {
        "simple": 148,
        "moderate": 250,
        "challenging": 102,
    }
    ids = [e.id for e in mini.examples]
    assert len(set(ids)) == 500
    # the released file holds question_ids 137 and 138 twice (identical entries)
    assert [i for i in ids if "#" in i] == ["137#2", "138#2"]
    first, copy = (e for e in mini.examples if e.extra["question_id"] == 137)
    assert (first.id, copy.id) == ("137", "137#2")
    assert first.gold_sql == copy.gold_sql and first.extra["copies"] == 2


def test_fields_come_from_the_file(dev, mini, bird_dir):
    raw = json.loads((bird_dir / "dev.json").read_text())
    e = dev.examples[0]
    assert e.id == str(raw[0]["question_id"]) == "0"
    assert e.gold_sql == raw[0]["SQL"]
    assert e.evidence == raw[0]["evidence"] and e.evidence
    assert e.difficulty == raw[0]["difficulty"]
    raw_mini = json.loads((bird_dir / "mini_dev_sqlite.json").read_text())
    m = mini.examples[0]
    assert m.id == str(raw_mini[0]["question_id"]) == "1471"
    assert m.gold_sql == raw_mini[0]["gold_sql"]
    assert m.extra["index"] == 0
    assert mini.split == "mini_dev" and load_bird(bird_dir, "minidev").split == "mini_dev"


def test_evidence_off_is_recorded(bird_dir):
    off = load_bird(bird_dir, "dev", evidence=False)
    assert all(e.evidence == "" for e in off.examples)
    assert all(e.extra["evidence_used"] is False for e in off.examples)
    assert off.examples[0].extra["evidence_text"].startswith("Eligible free rate")


def test_missing_databases_are_listed_not_raised(dev):
    assert len(dev.missing_db_ids) == 11
    assert all(e.db_paths == () for e in dev.examples)


def test_db_dir_accepts_both_layouts(bird_dir, tmp_path):
    db = tmp_path / "dev_databases" / "superhero" / "superhero.sqlite"
    db.parent.mkdir(parents=True)
    sqlite3.connect(db).close()
    for db_dir in (tmp_path, tmp_path / "dev_databases"):
        bench = load_bird(bird_dir, "dev", db_dir=db_dir)
        assert "superhero" not in bench.missing_db_ids
        assert len(bench.missing_db_ids) == 10
        hero = [e for e in bench.examples if e.db_id == "superhero"]
        assert hero and all(e.db_paths == (db,) for e in hero)


def test_registry_finds_the_loader(bird_dir):
    assert len(load_benchmark("bird", data_dir=bird_dir, split="mini_dev").examples) == 500


def test_missing_data_dir_names_path_and_prepare(tmp_path):
    with pytest.raises(DataError, match=r"nowhere.*harness prepare bird-dev"):
        load_bird(tmp_path / "nowhere", "dev")
    with pytest.raises(DataError, match=r"mini_dev_sqlite\.json.*harness prepare bird-minidev"):
        load_bird(tmp_path, "mini_dev")
    with pytest.raises(DataError, match="unknown BIRD split"):
        load_bird(tmp_path, "train")


def test_missing_tables_file(bird_dir, tmp_path):
    (tmp_path / "dev.json").write_text((bird_dir / "dev.json").read_text())
    with pytest.raises(DataError, match=r"dev_tables\.json.*harness prepare bird-dev"):
        load_bird(tmp_path, "dev")


def test_conflicting_duplicate_question_id(tmp_path, bird_dir):
    raw = json.loads((bird_dir / "dev.json").read_text())[:3]
    raw.append({**raw[1], "SQL": "SELECT 2"})
    (tmp_path / "dev.json").write_text(json.dumps(raw))
    (tmp_path / "dev_tables.json").write_text((bird_dir / "dev_tables.json").read_text())
    with pytest.raises(DataError, match="question_id 1 occurs twice with different content"):
        load_bird(tmp_path, "dev")


# ---------------------------------------------------------------- predictions


def _official(bench, sql_of=lambda e: e.gold_sql, order=None):
    keys = order if order is not None else range(len(bench.examples))
    return {
        str(i): sql_of(bench.examples[i]) + OFFICIAL_SEPARATOR + bench.examples[i].db_id
        for i in keys
    }


def test_official_json_key_is_the_index_into_the_split(mini, tmp_path):
    path = tmp_path / "pred.json"
    order = list(range(len(mini.examples)))
    random.Random(0).shuffle(order)  # insertion order must not matter, only the key
    path.write_text(json.dumps(_official(mini, order=order), indent=2))
    preds = read_bird_predictions(path, mini)
    assert preds.fmt == "bird-official-json"
    assert preds.sql == {e.id: e.gold_sql for e in mini.examples}


def test_official_json_db_id_mismatch_names_the_key(mini, tmp_path):
    data = _official(mini)
    sql, _ = data["5"].split(OFFICIAL_SEPARATOR)
    data["5"] = sql + OFFICIAL_SEPARATOR + "superhero_x"
    path = tmp_path / "pred.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PredictionsError, match=r"key '5'.*superhero_x"):
        read_bird_predictions(path, mini)


def test_official_json_needs_the_separator_and_valid_keys(mini, tmp_path):
    path = tmp_path / "pred.json"
    path.write_text(json.dumps({"0": "SELECT 1"}))
    with pytest.raises(PredictionsError, match=r"key '0'.*separator"):
        read_bird_predictions(path, mini)
    path.write_text(json.dumps({"500": "SELECT 1" + OFFICIAL_SEPARATOR + "x"}))
    with pytest.raises(PredictionsError, match=r"key '500'.*0\.\.499"):
        read_bird_predictions(path, mini)


def test_other_formats_are_refused_with_the_accepted_ones(mini, tmp_path):
    path = tmp_path / "pred.sql"
    path.write_text("SELECT 1\tfinancial\n")
    with pytest.raises(PredictionsError, match=r"official JSON .* or JSONL"):
        read_bird_predictions(path, mini)


def test_official_json_null_is_an_empty_prediction(mini, tmp_path):
    path = tmp_path / "pred.json"
    path.write_text(json.dumps({"0": None}))
    assert read_bird_predictions(path, mini, allow_missing=True).sql == {"1471": ""}


def test_jsonl_joins_by_question_id_in_any_order(dev, tmp_path):
    lines = [{"id": e.extra["question_id"], "sql": f"SELECT {e.id}"} for e in dev.examples]
    lines.reverse()
    path = tmp_path / "pred.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    preds = read_bird_predictions(path, dev)
    assert preds.sql == {e.id: f"SELECT {e.id}" for e in dev.examples}


def test_jsonl_duplicated_questions(mini, tmp_path):
    path = tmp_path / "pred.jsonl"
    # given twice: copies filled in file order
    path.write_text('{"id": 137, "sql": "A"}\n{"id": 137, "sql": "B"}\n')
    assert read_bird_predictions(path, mini, allow_missing=True).sql == {"137": "A", "137#2": "B"}
    # given once: the identical copy takes the same prediction
    path.write_text('{"id": "138", "sql": "C"}\n')
    assert read_bird_predictions(path, mini, allow_missing=True).sql == {"138": "C", "138#2": "C"}
    # explicit copy ids (what `harness generate` writes)
    path.write_text('{"id": "138", "sql": "C"}\n{"id": "138#2", "sql": "D"}\n')
    assert read_bird_predictions(path, mini, allow_missing=True).sql == {"138": "C", "138#2": "D"}
    path.write_text('{"id": 137, "sql": "A"}\n{"id": 137, "sql": "B"}\n{"id": 137, "sql": "C"}\n')
    with pytest.raises(PredictionsError, match=":3: duplicate id '137'"):
        read_bird_predictions(path, mini, allow_missing=True)


def test_jsonl_errors_and_outages(mini, tmp_path):
    path = tmp_path / "pred.jsonl"
    path.write_text('{"id": 1471, "sql": "A"}\n{"id": 1471, "sql": "B"}\n')
    with pytest.raises(PredictionsError, match=":2: duplicate id '1471'"):
        read_bird_predictions(path, mini, allow_missing=True)
    path.write_text('{"id": 0, "sql": "A"}\n')
    with pytest.raises(PredictionsError, match="id '0' is not a question_id"):
        read_bird_predictions(path, mini, allow_missing=True)
    path.write_text(
        '{"id": 1471, "sql": "A", "latency_s": 0.5}\n{"id": 1472, "sql": "", "outage": true}\n'
    )
    preds = read_bird_predictions(path, mini, allow_missing=True)
    assert preds.sql == {"1471": "A"} and preds.outage_ids == ["1472"]
    assert preds.meta["1471"] == {"latency_s": 0.5}


# ---------------------------------------------------------------- the committed exception list


def test_exception_list_entries_match_the_real_gold(dev, mini):
    raw = tomllib.loads(EXCEPTIONS_FILE.read_text())["exception"]
    entries = load_exceptions(EXCEPTIONS_FILE)
    assert len(entries) == len(raw) > 0
    by_qid = {e.extra["question_id"]: e for e in dev.examples}
    for qid, entry in entries.items():
        example = by_qid[qid]
        assert example.db_id == entry["db_id"], qid
        assert gold_sha256(example.gold_sql) == entry["gold_sha256"], qid
        assert entry["source"].startswith("https://"), qid
    # mini-dev corrected 1113's gold: the dev entry must not apply there
    mini_1113 = next(e for e in mini.examples if e.extra["question_id"] == 1113)
    assert gold_sha256(mini_1113.gold_sql) != entries[1113]["gold_sha256"]


def test_exception_list_path_is_in_the_repo():
    repo = Path(__file__).resolve().parents[1]
    assert repo / "bird" / "reference_exceptions.toml" == EXCEPTIONS_FILE


def test_partial_files_are_refused_without_allow_missing(mini, tmp_path):
    path = tmp_path / "pred.json"
    path.write_text(json.dumps({"0": None}))
    with pytest.raises(PredictionsError, match=r"499 id\(s\) missing: 1472, "):
        read_bird_predictions(path, mini)
    assert read_bird_predictions(path, mini, allow_missing=True).missing_ids[0] == "1472"
    # --limit: only the first questions need a line; the key still indexes the whole split
    assert read_bird_predictions(path, mini, limit=1).sql == {"1471": ""}
