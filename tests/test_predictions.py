"""Predictions are joined to examples by id, never silently by position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import PredictionsError
from harness.predictions import join_to_split, read_for_benchmark, read_predictions
from harness.records import BenchmarkData, Example, PredictionSet

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


def _jsonl(tmp_path: Path, rows: list[dict], name: str = "p.jsonl") -> Path:
    return _write(tmp_path, name, "".join(json.dumps(r) + "\n" for r in rows))


def test_format_is_told_by_suffix_or_first_line(tmp_path):
    # .jsonl is JSONL whatever its first line says...
    with pytest.raises(PredictionsError, match=r"p.jsonl:1: invalid JSON"):
        read_predictions(_write(tmp_path, "p.jsonl", "SELECT 1\nSELECT 2\nSELECT 3\n"), EXAMPLES)
    # ...another name is JSONL only when its first non-blank line is a {...} object
    rows = [{"id": i, "sql": s} for i, s in enumerate("ABC")]
    assert read_predictions(_jsonl(tmp_path, rows, "p.txt"), EXAMPLES).fmt == "jsonl"
    for first in ("SELECT '}'", "{SELECT 1"):
        path = _write(tmp_path, "pred.sql", f"{first}\nB\nC\n")
        preds = read_predictions(path, EXAMPLES)
        assert preds.fmt == "official-lines" and preds.sql["0"] == first


def test_official_lines_edge_forms(tmp_path):
    # no final newline: the last line still counts
    assert read_predictions(_write(tmp_path, "a.sql", "A\nB\nC"), EXAMPLES).sql["2"] == "C"
    # nothing but blank lines: three empty predictions
    preds = read_predictions(_write(tmp_path, "b.sql", "\n\n\n"), EXAMPLES)
    assert preds.sql == {"0": "", "1": "", "2": ""} and preds.fmt == "official-lines"


def test_errors_name_the_file(tmp_path):
    path = _write(tmp_path, "short.sql", "A\n")
    with pytest.raises(PredictionsError, match=r"^\S*short.sql: 1 prediction lines"):
        read_predictions(path, EXAMPLES)
    path = _jsonl(tmp_path, [{"id": 0, "sql": "A"}], "few.jsonl")
    with pytest.raises(PredictionsError, match=r"^\S*few.jsonl: predictions do not match"):
        read_predictions(path, EXAMPLES)
    path = tmp_path / "latin1.sql"
    path.write_bytes("SELECT 'café'\n".encode("latin-1"))
    with pytest.raises(PredictionsError, match=r"latin1.sql: not UTF-8 text"):
        read_predictions(path, EXAMPLES)


def test_jsonl_field_errors_name_line_and_id(tmp_path):
    with pytest.raises(PredictionsError, match=r"p.jsonl:2: missing field 'id'"):
        read_predictions(_jsonl(tmp_path, [{"id": 0, "sql": "A"}, {"sql": "B"}]), EXAMPLES)
    with pytest.raises(PredictionsError, match=r"p.jsonl:1: missing field 'sql' \(id 7\)"):
        read_predictions(_jsonl(tmp_path, [{"id": 7}]), EXAMPLES)
    with pytest.raises(PredictionsError, match=r"p.jsonl:1: field 'sql' must be a string \(id 0"):
        read_predictions(_jsonl(tmp_path, [{"id": 0, "sql": 5}]), EXAMPLES)


def test_jsonl_sql_field_aliases_and_outage_lines_without_sql(tmp_path):
    rows = [{"id": 0, "pred": "A"}, {"id": 1, "prediction": "B"}, {"id": 2, "outage": True}]
    preds = read_predictions(_jsonl(tmp_path, rows), EXAMPLES)
    assert preds.sql == {"0": "A", "1": "B"} and preds.outage_ids == ["2"]
    # "sql" wins over the aliases
    rows = [{"id": i, "sql": "S", "pred": "P", "prediction": "Q"} for i in range(3)]
    assert set(read_predictions(_jsonl(tmp_path, rows), EXAMPLES).sql.values()) == {"S"}


def test_generation_figures_are_kept_per_id(tmp_path):
    rows = [
        {"id": 0, "sql": "A", "latency_s": 0.5, "tokens_out": 7, "cost_usd": None, "x": 1},
        {"id": 1, "sql": "B"},
        {"id": 2, "sql": "C", "route": "small"},
    ]
    preds = read_predictions(_jsonl(tmp_path, rows), EXAMPLES)
    assert preds.meta == {"0": {"latency_s": 0.5, "tokens_out": 7}, "2": {"route": "small"}}


def test_id_lists_are_cut_at_ten(tmp_path):
    many = [Example(id=str(i), db_id="db", question="q", gold_sql="S") for i in range(12)]
    path = _jsonl(tmp_path, [{"id": 0, "sql": "A"}])
    with pytest.raises(PredictionsError) as err:
        read_predictions(path, many)
    assert "11 id(s) missing: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... (11 in all) (pass" in str(
        err.value
    )
    path = _jsonl(tmp_path, [{"id": 0, "sql": "A"}, {"id": 1, "sql": "B"}])
    with pytest.raises(PredictionsError) as err:
        read_predictions(path, many)
    assert "10 id(s) missing: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 (pass" in str(err.value)


def test_missing_and_extra_ids_in_one_message_without_the_flag_hint(tmp_path):
    rows = [{"id": 0, "sql": "A"}, {"id": 10, "sql": "X"}, {"id": 9, "sql": "Y"}]
    with pytest.raises(PredictionsError) as err:
        read_predictions(_jsonl(tmp_path, rows), EXAMPLES, allow_missing=True)
    message = str(err.value)
    # extra ids are always an error, sorted as numbers would be; no hint, the flag won't help
    assert message.endswith("2 id(s) missing: 1, 2; 2 id(s) not in the benchmark: 9, 10")


def test_allow_missing_lists_what_is_left_out(tmp_path):
    path = _jsonl(tmp_path, [{"id": 2, "sql": "C", "latency_s": 1.0}])
    with pytest.raises(PredictionsError, match=r"missing: 0, 1 \(pass --allow-missing-pred"):
        read_predictions(path, EXAMPLES)
    preds = read_predictions(path, EXAMPLES, allow_missing=True)
    assert preds.sql == {"2": "C"} and preds.missing_ids == ["0", "1"]
    assert preds.meta == {"2": {"latency_s": 1.0}}
    assert read_predictions(_jsonl(tmp_path, [{"id": i, "sql": "S"} for i in range(3)]),
                            EXAMPLES).missing_ids == []  # fmt: skip


def test_limit_keeps_the_first_n_whatever_the_file_covers(tmp_path):
    full = _jsonl(tmp_path, [{"id": i, "sql": "ABC"[i], "tokens_out": i} for i in range(3)])
    preds = read_predictions(full, EXAMPLES, limit=2)
    assert preds.sql == {"0": "A", "1": "B"} and preds.missing_ids == []
    assert set(preds.meta) == {"0", "1"}
    outage = _jsonl(tmp_path, [{"id": 0, "sql": "A"}, {"id": 2, "outage": True}], "o.jsonl")
    assert read_predictions(outage, EXAMPLES, limit=1).outage_ids == []
    # official lines: the whole split, or exactly the first N
    assert read_predictions(_write(tmp_path, "n.sql", "A\nB\n"), EXAMPLES, limit=2).sql == {
        "0": "A",
        "1": "B",
    }
    assert read_predictions(_write(tmp_path, "all.sql", "A\nB\nC\n"), EXAMPLES, limit=1).sql == {
        "0": "A"
    }
    with pytest.raises(PredictionsError, match="2 prediction lines for 3 examples"):
        read_predictions(_write(tmp_path, "two.sql", "A\nB\n"), EXAMPLES, limit=1)
    # a question inside the limit without a line is still missing
    with pytest.raises(PredictionsError, match=r"1 id\(s\) missing: 1 "):
        read_predictions(_jsonl(tmp_path, [{"id": 0, "sql": "A"}]), EXAMPLES, limit=2)
    preds = read_predictions(
        _jsonl(tmp_path, [{"id": 0, "sql": "A"}]), EXAMPLES, limit=2, allow_missing=True
    )
    assert preds.missing_ids == ["1"]


def test_join_refuses_missing_ids_unless_asked():
    preds = PredictionSet(sql={"0": "A"})
    with pytest.raises(PredictionsError, match="missing: 1, 2"):
        join_to_split(Path("p"), preds, EXAMPLES)
    assert join_to_split(Path("p"), preds, EXAMPLES, allow_missing=True).missing_ids == ["1", "2"]


def test_sampled_files_are_joined_and_limited_like_the_others(tmp_path):
    rows = [{"id": i, "sample": k, "sql": f"S{i}{k}"} for i in range(2) for k in range(2)]
    with pytest.raises(PredictionsError, match=r"1 id\(s\) missing: 2 "):
        read_predictions(_jsonl(tmp_path, rows), EXAMPLES)
    preds = read_predictions(_jsonl(tmp_path, rows), EXAMPLES, limit=1)
    assert preds.samples == {"0": ["S00", "S01"]} and preds.sql == {"0": "S00"}


def _sampled(i: int, k: int, sql: str | None = None, **extra: object) -> dict:
    return {"id": i, "sample": k, "sql": sql if sql is not None else f"S{i}{k}", **extra}


def test_sampled_file_errors_name_file_line_and_id(tmp_path):
    cases = [
        # (lines, message)
        ([_sampled(0, 0), {"id": 1, "sql": "x"}], r"p.jsonl:2: no 'sample' field, but earlier"),
        ([{"id": 1, "sql": "x"}, _sampled(0, 0)], r"p.jsonl:2: a 'sample' field, but line 1 has"),
        ([{"id": 0, "sql": "x"}, {"id": 1, "sql": "y"}, _sampled(2, 0)], "but line 1 has none"),
        (
            [_sampled(0, 0), _sampled(0, 0)],
            r"p.jsonl:2: duplicate id '0' sample 0 \(first on line 1",
        ),
        ([_sampled(0, -1)], r"p.jsonl:1: 'sample' must be an integer >= 0"),
        ([_sampled(0, True)], r"p.jsonl:1: 'sample' must be an integer >= 0"),
        ([_sampled(0, "0")], r"p.jsonl:1: 'sample' must be an integer >= 0"),
        ([_sampled(0, 0), {"id": 0, "sample": 1}], r"p.jsonl:2: missing field 'sql' \(id 0\)"),
    ]
    for lines, message in cases:
        with pytest.raises(PredictionsError, match=message):
            read_predictions(_jsonl(tmp_path, lines), EXAMPLES)


def test_sampled_file_needs_samples_0_to_n_for_every_id(tmp_path):
    lines = [_sampled(i, k) for i in range(3) for k in range(3) if (i, k) not in {(1, 2), (2, 1)}]
    with pytest.raises(PredictionsError) as err:
        read_predictions(_jsonl(tmp_path, lines), EXAMPLES)
    # the first id (in id order) that lacks one is named, with the samples it has
    assert str(err.value).endswith(
        "p.jsonl: id '1' has samples [0, 1]; every id needs samples 0..2 (rerun the generation "
        "to finish them)"
    )


def test_sampled_file_outages_and_figures(tmp_path):
    lines = [
        _sampled(0, 0, latency_s=0.5, tokens_out=3, route="a"),
        _sampled(0, 1, latency_s=0.25, tokens_out=4, route="b"),
        _sampled(1, 0, "", outage=True, latency_s=9.0),
        _sampled(1, 1, "", latency_s=1.0),
        _sampled(2, 1),
        _sampled(2, 0),
    ]
    preds = read_predictions(_jsonl(tmp_path, lines), EXAMPLES)
    assert preds.outage_ids == ["1"] and "1" not in preds.sql and "1" not in preds.samples
    assert preds.samples == {"0": ["S00", "S01"], "2": ["S20", "S21"]}
    assert preds.sql == {"0": "S00", "2": "S20"}
    # figures add up over an id's samples (the route is the first sample's); an outage id
    # has none
    assert preds.meta == {"0": {"latency_s": 0.75, "tokens_out": 7, "route": "a"}}


def test_sampled_file_edge_cases(tmp_path):
    # an outage id without generation figures
    lines = [_sampled(0, 0, "", outage=True), *[_sampled(i, 0) for i in (1, 2)]]
    assert read_predictions(_jsonl(tmp_path, lines), EXAMPLES).outage_ids == ["0"]
    # ids are checked in id order (9 before 10), as they are listed everywhere else
    many = [Example(id=str(i), db_id="db", question="q", gold_sql="S") for i in range(11)]
    lines = [_sampled(i, k) for i in range(11) for k in range(2) if (i, k) not in {(9, 1), (10, 1)}]
    with pytest.raises(PredictionsError, match="id '9' has samples"):
        read_predictions(_jsonl(tmp_path, lines), many)
    # the message shows at most 8 of the sample indices an id has
    lines = [_sampled(i, k) for i in range(3) for k in range(10) if (i, k) != (1, 9)]
    with pytest.raises(PredictionsError, match=r"'1' has samples \[0, 1, 2, 3, 4, 5, 6, 7\]; "):
        read_predictions(_jsonl(tmp_path, lines), EXAMPLES)


def test_read_for_benchmark_reads_each_benchmark_in_its_format(tmp_path):
    lines = _write(tmp_path, "p.sql", "SELECT 0\nSELECT 1\nSELECT 2\n")
    spider = BenchmarkData(name="spider", split="dev", examples=EXAMPLES)
    assert read_for_benchmark(spider, lines).sql == {str(i): f"SELECT {i}" for i in range(3)}
    assert read_for_benchmark(spider, lines, limit=2).sql == {"0": "SELECT 0", "1": "SELECT 1"}
    short = _write(tmp_path, "short.jsonl", '{"id": "0", "sql": "SELECT 0"}\n')
    with pytest.raises(PredictionsError, match="missing"):
        read_for_benchmark(spider, short)
    assert read_for_benchmark(spider, short, allow_missing=True).missing_ids == ["1", "2"]
    questions = [Example(str(i), "db", "q", "SELECT 1", extra={"question_id": i}) for i in range(3)]
    bird = BenchmarkData(name="bird", split="dev", examples=questions)
    with pytest.raises(PredictionsError, match="BIRD predictions must be the official JSON"):
        read_for_benchmark(bird, lines)
    one = _write(tmp_path, "bird.jsonl", '{"question_id": 0, "sql": "SELECT 0"}\n')
    assert read_for_benchmark(bird, one, limit=1).sql == {"0": "SELECT 0"}
    with pytest.raises(PredictionsError, match="missing"):
        read_for_benchmark(bird, one, limit=2)
    assert read_for_benchmark(bird, one, allow_missing=True).missing_ids == ["1", "2"]
