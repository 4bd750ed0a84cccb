"""bench/score_speed.py's --pred: a published whole-split file is aligned with the gold."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "score_speed.py"


@pytest.fixture(scope="module")
def score_speed():
    spec = importlib.util.spec_from_file_location("score_speed", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["score_speed"] = module  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["score_speed"]


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """Four dev examples over three databases, of which `gone` is missing."""
    root = tmp_path / "spider"
    for db in ("a", "b"):
        (root / "database" / db).mkdir(parents=True)
    dev = [{"db_id": d, "query": f"SELECT {i}"} for i, d in enumerate(["a", "gone", "b", "a"])]
    (root / "dev.json").write_text(json.dumps(dev))
    return root


def test_a_whole_split_file_loses_the_lines_of_missing_databases(score_speed, data_dir, tmp_path):
    pred = tmp_path / "published.sql"
    pred.write_text("p0\np1\np2\np3\n")
    out = score_speed.restricted_predictions(data_dir, pred, tmp_path / "kept.sql")
    assert out.read_text() == "p0\np2\np3\n"


def test_a_file_for_the_present_databases_is_used_as_it_is(score_speed, data_dir, tmp_path):
    pred = tmp_path / "mine.sql"
    pred.write_text("p0\np2\np3\n")
    assert score_speed.restricted_predictions(data_dir, pred, tmp_path / "kept.sql") == pred


def test_any_other_length_is_refused_naming_both(score_speed, data_dir, tmp_path):
    pred = tmp_path / "short.sql"
    pred.write_text("p0\np1\n")
    with pytest.raises(SystemExit, match=r"2 lines; expected 4 .* or 3"):
        score_speed.restricted_predictions(data_dir, pred, tmp_path / "kept.sql")
