"""The gold-result cache never decides a verdict: set up once before workers start, and
bypassed (the gold query is run) whenever it fails, with the failure in the summary."""

from __future__ import annotations

import sqlite3

import pytest
from test_scorer import GOLD, build, rows_of, write_preds

from harness.pipeline.score import score_files
from harness.scoring.engine.gold_cache import FILE_NAME, GoldCache, cache_key, prepare_cache
from harness.scoring.engine.sandbox import ExecResult
from harness.scoring.options import ScoreOptions
from harness.summary import render_table


def _score(tmp_path, cache_dir, jobs=2):
    root = build(tmp_path)
    preds = write_preds(tmp_path / "p.jsonl", [s for s, _ in GOLD])
    opts = ScoreOptions(jobs=jobs, resamples=50, cache_dir=cache_dir)
    return score_files("spider", root, "dev", preds, tmp_path / "run", options=opts)


def test_a_cache_that_fails_on_read_costs_no_verdict(tmp_path):
    # A cache file whose table cannot answer the workers' query: every read fails. The
    # gold queries must then run, every correct prediction stay correct, and the summary
    # and the table must say what happened.
    cache = tmp_path / "cache"
    cache.mkdir()
    with sqlite3.connect(cache / FILE_NAME) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE gold (key TEXT PRIMARY KEY, other BLOB)")
    summary = _score(tmp_path, cache)
    assert [r["ex"] for r in rows_of(tmp_path / "run")] == [1] * len(GOLD)
    assert summary["gold_cache"]["failures"] == len(GOLD)
    assert "payload" in summary["gold_cache"]["first_failure"]

    assert "Gold-result cache: 5 lookup(s) failed" in render_table(summary)


def test_an_unusable_cache_file_costs_no_verdict(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / FILE_NAME).write_bytes(b"this is not an SQLite database at all" * 100)
    summary = _score(tmp_path, cache)
    assert [r["ex"] for r in rows_of(tmp_path / "run")] == [1] * len(GOLD)
    assert summary["gold_cache"]["failures"] == 1
    assert "cache not usable" in summary["gold_cache"]["first_failure"]


def test_a_healthy_cache_reports_no_failure(tmp_path):
    summary = _score(tmp_path, tmp_path / "cache")
    assert summary["gold_cache"] == {"enabled": True, "failures": 0, "first_failure": None}
    assert summary["timing"]["gold_cache"] == {"hits": 0, "misses": len(GOLD)}


def test_workers_never_create_or_convert_the_cache(tmp_path):
    # The race: workers that each created the file and switched it to WAL at once. Now a
    # worker's connection only opens what the scoring process prepared.
    with pytest.raises(sqlite3.OperationalError):
        GoldCache(tmp_path / "cache")
    assert not (tmp_path / "cache" / FILE_NAME).exists()
    assert prepare_cache(tmp_path / "cache") is None
    assert prepare_cache(tmp_path / "cache") is None  # idempotent
    with sqlite3.connect(tmp_path / "cache" / FILE_NAME) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_writer_holding_the_cache_does_not_block_readers(tmp_path):
    directory = tmp_path / "cache"
    assert prepare_cache(directory) is None
    first = GoldCache(directory)
    key = cache_key("sha", "SELECT 1")
    first.put(key, ExecResult(status="ok", rows=[(1,)], error=None, elapsed_s=0.0))
    first.flush()
    holder = sqlite3.connect(directory / FILE_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process mid-write
    try:
        second = GoldCache(directory)
        hit = second.get(key)
        assert hit is not None and hit.rows == [(1,)]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
