"""Predictions are joined to examples by id, never silently by position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import PredictionsError
from harness.predictions import read_predictions
from harness.records import Example

EXAMPLES = [Example(id=str(i), db_id="db", question="q", gold_sql="SELECT 1") for i in range(3)]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_official_lines_with_tab_suffix_and_blank_line(tmp_path):
    path = _write(tmp_path, "pred.sql", "SELECT 1\tdb\n\nSELECT 3\n")
    preds = read_predictions(path, EXAMPLES)
    assert preds.sql == {"0": "SELECT 1", "1": "", "2": "SELECT 3"}
    assert preds.fmt == "official-lines"


def test_official_lines_short_file_names_missing_ids(tmp_path):
    path = _write(tmp_path, "pred.sql", "SELECT 1\n")
    with pytest.raises(PredictionsError, match=r"ids without a prediction: 1, 2"):
        read_predictions(path, EXAMPLES)


def test_official_lines_long_file_is_an_error(tmp_path):
    path = _write(tmp_path, "pred.sql", "a\nb\nc\nd\n")
    with pytest.raises(PredictionsError, match="1 extra line"):
        read_predictions(path, EXAMPLES)


def test_jsonl_joined_by_id_in_any_order(tmp_path):
    lines = [{"id": 2, "sql": "C"}, {"id": "0", "sql": "A"}, {"id": 1, "sql": "B"}]
    path = _write(tmp_path, "p.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    assert read_predictions(path, EXAMPLES).sql == {"0": "A", "1": "B", "2": "C"}


def test_jsonl_missing_and_extra_ids_are_named(tmp_path):
    lines = [{"id": 0, "sql": "A"}, {"id": 7, "sql": "X"}]
    path = _write(tmp_path, "p.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    with pytest.raises(PredictionsError) as err:
        read_predictions(path, EXAMPLES)
    assert "2 id(s) missing: 1, 2" in str(err.value)
    assert "1 id(s) not in the benchmark: 7" in str(err.value)


def test_jsonl_duplicate_id_names_both_lines(tmp_path):
    path = _write(tmp_path, "p.jsonl", '{"id": 0, "sql": "A"}\n{"id": 0, "sql": "B"}\n')
    with pytest.raises(PredictionsError, match=r"p.jsonl:2: duplicate id '0' \(first on line 1\)"):
        read_predictions(path, EXAMPLES)


def test_jsonl_bad_line_names_file_and_line(tmp_path):
    path = _write(tmp_path, "p.jsonl", '{"id": 0, "sql": "A"}\n{not json}\n{"id": 1}\n')
    with pytest.raises(PredictionsError, match=r"p.jsonl:2: invalid JSON"):
        read_predictions(path, EXAMPLES)


def test_jsonl_missing_sql_field(tmp_path):
    path = _write(tmp_path, "p.jsonl", '{"id": 0}\n')
    with pytest.raises(PredictionsError, match=r"p.jsonl:1: missing field 'sql'"):
        read_predictions(path, EXAMPLES)


def test_jsonl_torn_last_line_is_ignored_and_then_reported_missing(tmp_path):
    path = _write(
        tmp_path, "p.jsonl", '{"id": 0, "sql": "A"}\n{"id": 1, "sql": "B"}\n{"id": 2, "sq'
    )
    with pytest.raises(PredictionsError, match="1 id\\(s\\) missing: 2"):
        read_predictions(path, EXAMPLES)


def test_outage_rows_are_kept_apart(tmp_path):
    lines = [{"id": 0, "sql": "A"}, {"id": 1, "sql": "", "outage": True}, {"id": 2, "sql": "C"}]
    path = _write(tmp_path, "p.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    preds = read_predictions(path, EXAMPLES)
    assert preds.outage_ids == ["1"]
    assert "1" not in preds.sql


def test_missing_file(tmp_path):
    with pytest.raises(PredictionsError, match="not found"):
        read_predictions(tmp_path / "nope.jsonl", EXAMPLES)
