"""The Spider loader on the real dev set and on small hand-built layouts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from harness.benchmarks.spider import database_variants, load_spider
from harness.errors import DataError


def test_real_dev_set(spider_dir: Path):
    bench = load_spider(data_dir=spider_dir, split="dev")
    assert len(bench.examples) == 1034
    assert [e.id for e in bench.examples[:3]] == ["0", "1", "2"]
    assert bench.missing_db_ids == ["wta_1"]
    assert sum(1 for e in bench.examples if not e.db_paths) == 62
    assert not bench.test_suite
    first = bench.examples[0]
    assert first.db_id == "concert_singer"
    assert first.db_paths[0].name == "concert_singer.sqlite"
    assert first.question.startswith("How many singers")


def _layout(tmp_path: Path, variants: int = 1) -> Path:
    root = tmp_path / "spider"
    for v in range(variants):
        name = "shop.sqlite" if v == 0 else f"shop_{v}.sqlite"
        db = root / "database" / "shop" / name
        db.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(db) as conn:
            conn.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
    (root / "database" / "shop" / "schema.sql").write_text("-- not a database")
    (root / "dev.json").write_text(
        json.dumps(
            [{"db_id": "shop", "question": "How many items?", "query": "SELECT count(*) FROM item"}]
        )
    )
    (root / "tables.json").write_text(
        json.dumps(
            [
                {
                    "db_id": "shop",
                    "table_names_original": ["item"],
                    "table_names": ["item"],
                    "column_names_original": [[-1, "*"], [0, "id"], [0, "name"]],
                    "column_names": [[-1, "*"], [0, "id"], [0, "name"]],
                    "column_types": ["text", "number", "text"],
                    "primary_keys": [1],
                    "foreign_keys": [],
                }
            ]
        )
    )
    return root


def test_gold_from_json_when_no_gold_file(tmp_path):
    bench = load_spider(data_dir=_layout(tmp_path), split="dev")
    assert bench.examples[0].gold_sql == "SELECT count(*) FROM item"
    assert bench.missing_db_ids == []


def test_test_suite_variants_main_first(tmp_path):
    root = _layout(tmp_path, variants=3)
    paths = database_variants(root / "database", "shop")
    assert [p.name for p in paths] == ["shop.sqlite", "shop_1.sqlite", "shop_2.sqlite"]
    assert load_spider(data_dir=root).test_suite


def test_gold_file_count_mismatch_is_named(tmp_path):
    root = _layout(tmp_path)
    (root / "dev_gold.sql").write_text("SELECT 1\tshop\nSELECT 2\tshop\n")
    with pytest.raises(DataError, match=r"dev_gold.sql: 2 gold queries but .*dev.json has 1"):
        load_spider(data_dir=root)


def test_bad_gold_line_names_line(tmp_path):
    root = _layout(tmp_path)
    (root / "dev_gold.sql").write_text("SELECT 1 no tab\n")
    with pytest.raises(DataError, match=r"dev_gold.sql:1: expected `SQL<TAB>db_id`"):
        load_spider(data_dir=root)


def test_missing_data_dir_has_a_hint(tmp_path):
    with pytest.raises(DataError, match="harness prepare spider"):
        load_spider(data_dir=tmp_path / "absent")


def test_invalid_json_names_line(tmp_path):
    root = _layout(tmp_path)
    (root / "dev.json").write_text('[\n{"db_id": "shop",\n')
    with pytest.raises(DataError, match=r"dev.json:\d+: invalid JSON"):
        load_spider(data_dir=root)


def test_train_is_train_spider_plus_train_others(tmp_path):
    root = _layout(tmp_path)
    (root / "dev.json").rename(root / "train_spider.json")
    others = [{"db_id": "shop", "question": "Names?", "query": "SELECT name FROM item"}]
    (root / "train_others.json").write_text(json.dumps(others))
    bench = load_spider(data_dir=root, split="train")
    assert [e.gold_sql for e in bench.examples] == [
        "SELECT count(*) FROM item",
        "SELECT name FROM item",
    ]
    assert [p.name for p in bench.data_files[1:]] == ["train_spider.json", "train_others.json"]
