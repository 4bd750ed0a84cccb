"""index.html in a real browser: headless Chromium loads the page (reaching nothing but
loopback) and the tests read the rendered DOM, use the filters and look at a screenshot."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.diffing.diff import diff_leaderboards
from harness.report.publish import publish_leaderboard
from tests.browser import Browser, chromium_path
from tests.runs_factory import default_config, make_run, vector
from tests.synthetic_runs import make_runs

REPO = Path(__file__).resolve().parent.parent
PREDICTIONS = REPO / "evals" / "predictions"

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install chromium)"
)


def _rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "rows.jsonl").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def fixture_board(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    runs = []
    for name in ("baseline", "candidate"):
        out = root / f"fixture-{name}"
        argv = ["bench", "--model", f"replay:{PREDICTIONS / f'{name}.jsonl'}", "--bench"]
        assert main([*argv, "fixture", "--out", str(out), "--no-progress"]) == 0
        runs.append(out)
    board = root / "board"
    assert main(["leaderboard", *map(str, runs), "--out", str(board)]) == 0
    return board, runs


@pytest.fixture(scope="module")
def page(fixture_board):
    board, _runs = fixture_board
    with Browser() as browser:
        browser.open(board / "index.html")
        yield browser


def _select(browser: Browser, name: str, value: str, scope: str = ".explorer") -> str:
    return browser.eval(
        f"(() => {{ const s = document.querySelector('{scope} select[name={name}]');"
        f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change'));"
        " return document.querySelector('.explorer .count').textContent; })()"
    )


def _all_rendered_ids(browser: Browser) -> list[str]:
    """Scroll the virtual list from top to bottom, collecting every row it renders."""
    return browser.eval(
        """(() => {
          const v = document.querySelector('.explorer .viewport');
          const seen = [];
          for (let top = 0; ; top += v.clientHeight) {
            v.scrollTop = top; v.dispatchEvent(new Event('scroll'));
            section().board.render();
            for (const r of v.querySelectorAll('.qrow')) {
              if (!seen.includes(r.dataset.id)) seen.push(r.dataset.id);
            }
            if (top >= v.scrollHeight) break;
          }
          v.scrollTop = 0; section().board.render(true);
          return seen;
          function section() { return document.querySelector('section.board'); }
        })()"""
    )


def test_page_requests_nothing_and_has_no_errors(fixture_board, page):
    board, _ = fixture_board
    assert page.requested_urls() == [(board / "index.html").resolve().as_uri()]
    assert page.problems() == []
    # Nothing in the DOM points elsewhere either (no src/href but in-page anchors).
    refs = page.eval(
        "Array.from(document.querySelectorAll('[src],[href]'))"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    assert all(ref.startswith("#") for ref in refs), refs


def test_leaderboard_rows_match_leaderboard_json(fixture_board, page):
    board, _ = fixture_board
    table = json.loads((board / "leaderboard.json").read_text())["tables"][0]
    rendered = page.eval(
        "Array.from(document.querySelectorAll('table.lb tbody tr')).map(tr => ({"
        " run: tr.dataset.run,"
        " ex: tr.querySelector('td[data-metric=ex]').textContent,"
        " em: tr.querySelector('td[data-metric=em]').textContent,"
        " n: tr.cells[tr.cells.length - 2].textContent}))"
    )
    assert [r["run"] for r in rendered] == [e["config"] for e in table["entries"]]
    for row, entry in zip(rendered, table["entries"], strict=True):
        for metric in ("ex", "em"):
            ci = entry["metrics"][metric]
            expected = f"{100 * ci['mean']:.1f} [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"
            assert row[metric] == expected
        assert row["n"] == str(entry["n"])
    # The chart says the same numbers.
    chart = page.eval("document.querySelector('.ci-chart').textContent")
    for entry in table["entries"]:
        ci = entry["metrics"]["ex"]
        assert f"{100 * ci['mean']:.1f} [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]" in chart


def test_sorting_by_a_column(page):
    order = page.eval(
        "(() => { const th = document.querySelector('table.lb th[data-metric=ex]');"
        " th.click(); const a = Array.from(document.querySelectorAll('table.lb tbody tr'))"
        ".map(r => r.dataset.run); th.click(); const b = Array.from("
        "document.querySelectorAll('table.lb tbody tr')).map(r => r.dataset.run);"
        " return [a, b]; })()"
    )
    assert order == [
        ["fixture-candidate", "fixture-baseline"],
        ["fixture-baseline", "fixture-candidate"],
    ]


def test_every_question_id_is_in_the_explorer(fixture_board, page):
    _, runs = fixture_board
    ids = [r["id"] for r in _rows(runs[0])]
    assert _all_rendered_ids(page) == ids


def test_filters_by_level_database_label_and_outcome(fixture_board, page):
    _, runs = fixture_board
    base, cand = _rows(runs[0]), _rows(runs[1])
    n = len(base)
    hard = [r["id"] for r in base if r["hardness"] == "hard"]
    assert _select(page, "level", "hard") == f"{len(hard)} of {n} questions"
    assert _all_rendered_ids(page) == hard
    _select(page, "level", "")
    retail = [r["id"] for r in base if r["db_id"] == "retail"]
    assert _select(page, "db", "retail") == f"{len(retail)} of {n} questions"
    assert _all_rendered_ids(page) == retail
    _select(page, "db", "")
    labels = Counter(r["failure"] for r in base + cand if r["failure"])
    label = labels.most_common(1)[0][0]
    with_label = [
        b["id"] for b, c in zip(base, cand, strict=True) if label in (b["failure"], c["failure"])
    ]
    option = page.eval(
        "Array.from(document.querySelectorAll('.explorer select[name=label] option'))"
        f".find(o => o.textContent === {json.dumps(label)}).value"
    )
    assert _select(page, "label", option) == f"{len(with_label)} of {n} questions"
    assert _all_rendered_ids(page) == with_label
    _select(page, "label", "")
    disagree = [b["id"] for b, c in zip(base, cand, strict=True) if b["ex"] != c["ex"]]
    assert _select(page, "status", "disagree") == f"{len(disagree)} of {n} questions"
    _select(page, "status", "")
    # Free text matches ids, questions and either side's SQL.
    target = base[3]["gold_sql"]
    hits = [b["id"] for b, c in zip(base, cand, strict=True) if target.lower() in " ".join(
        [b["gold_sql"], b["pred_sql"], c["pred_sql"]]).lower()]  # fmt: skip
    count = page.eval(
        "(() => { const s = document.querySelector('.explorer input[name=search]');"
        f" s.value = {json.dumps(target)}; s.dispatchEvent(new Event('input'));"
        " return document.querySelector('.explorer .count').textContent; })()"
    )
    assert count == f"{len(hits)} of {n} questions" and base[3]["id"] in _all_rendered_ids(page)
    page.eval(
        "(() => { const s = document.querySelector('.explorer input[name=search]');"
        " s.value = ''; s.dispatchEvent(new Event('input')); })()"
    )


def test_a_row_opens_question_gold_and_each_runs_sql(fixture_board, page):
    _, runs = fixture_board
    base, cand = _rows(runs[0]), _rows(runs[1])
    k = next(i for i, r in enumerate(base) if r["mismatch"])
    qid = base[k]["id"]
    detail = page.eval(
        f"(() => {{ document.querySelector('.qrow[data-id=\"{qid}\"]').click();"
        " const d = document.querySelector('.explorer .detail');"
        " return {hidden: d.hidden, gold: d.querySelector('pre.gold').textContent,"
        " text: d.textContent}; })()"
    )
    question = json.loads((runs[0] / "predictions.jsonl").read_text().splitlines()[k])["question"]
    assert not detail["hidden"] and detail["gold"] == base[k]["gold_sql"]
    assert question in detail["text"]
    for row in (base[k], cand[k]):
        assert row["pred_sql"] in detail["text"]
    first_key = next(iter(base[k]["mismatch"]))
    assert f"{first_key}: " in detail["text"] and base[k]["failure"] in detail["text"]


def test_what_changed_matches_harness_diff(fixture_board, page):
    board, runs = fixture_board
    base, cand = _rows(runs[0]), _rows(runs[1])
    lb = board / "leaderboard.json"
    gate = diff_leaderboards(
        lb, lb, gate_pp=0, baseline="fixture-baseline", candidate="fixture-candidate"
    ).gate
    d = gate.comparison.delta
    shown = page.eval(
        "(() => { const p = document.querySelector('.changes .delta');"
        " return {delta: p.dataset.delta, low: p.dataset.low, high: p.dataset.high,"
        " fixed: ids('.changes .chip.fixed'), broke: ids('.changes .chip.broke')};"
        " function ids(sel) { return Array.from(document.querySelectorAll(sel))"
        ".map(c => c.dataset.id); } })()"
    )
    assert shown["delta"] == f"{100 * d.mean:+.1f}"
    assert (shown["low"], shown["high"]) == (f"{100 * d.low:+.1f}", f"{100 * d.high:+.1f}")
    fixed = [b["id"] for b, c in zip(base, cand, strict=True) if not b["ex"] and c["ex"]]
    broke = [b["id"] for b, c in zip(base, cand, strict=True) if b["ex"] and not c["ex"]]
    assert shown["fixed"] == fixed and shown["broke"] == broke and fixed and broke
    # Swapping the direction negates Δ and swaps the lists.
    swapped = page.eval(
        "(() => { const [a, b] = ['from', 'to'].map(n => document.querySelector("
        "`.changes select[name=${n}]`)); const x = a.value; a.value = b.value; b.value = x;"
        " a.dispatchEvent(new Event('change'));"
        " return document.querySelector('.changes .delta').dataset.delta; })()"
    )
    assert swapped == f"{-100 * d.mean:+.1f}"


def test_screenshot_is_not_blank(page, tmp_path):
    from matplotlib.image import imread

    shot = page.screenshot(tmp_path / "index.png", full_page=False)
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1360)
    ink = (pixels.mean(axis=2) < 0.9).mean()
    colours = len(np.unique((pixels * 15).astype(int).reshape(-1, 3), axis=0))
    assert ink > 0.02 and colours > 10


def test_markup_in_questions_and_sql_stays_text(tmp_path):
    runs = tmp_path / "runs"
    config = default_config() | {"name": "x</script><b>y"}
    run = make_run(runs, "a<b>", vector(4, [0, 1]), config=config)
    evil = "What is </script><script>window.pwned=1</script> <!-- here?"
    lines = [json.dumps({"id": str(i), "question": evil}) for i in range(4)]
    (run / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    publish_leaderboard([run], tmp_path / "board")
    with Browser() as browser:
        browser.open(tmp_path / "board" / "index.html")
        assert browser.problems() == []
        assert browser.eval("window.pwned === undefined")
        assert (
            browser.eval("document.querySelector('table.lb tbody tr').dataset.run")
            == "x</script><b>y"
        )
        text = browser.eval(
            "document.querySelector('.qrow').click(),"
            " document.querySelector('.explorer .detail .q').textContent"
        )
        assert text == evil


def test_spider_dev_size_by_20_runs_stays_light(tmp_path):
    paths = make_runs(tmp_path / "runs", n_runs=20, n_questions=1034, resamples=200)
    publish_leaderboard(paths, tmp_path / "board", plot=False)
    page_bytes = (tmp_path / "board" / "index.html").stat().st_size
    assert page_bytes < 3_000_000, page_bytes
    with Browser() as browser:
        browser.open(tmp_path / "board" / "index.html")
        assert browser.problems() == []
        # Lazily rendered: a few dozen rows exist at a time, yet every id is reachable.
        assert browser.eval("document.querySelectorAll('.explorer .qrow').length") < 80
        assert _all_rendered_ids(browser) == [str(i) for i in range(1034)]
        heads = browser.eval(
            "Array.from(document.querySelectorAll('.explorer .grid-head .rh'))"
            ".map(h => h.textContent)"
        )
        assert len(heads) == 20


def test_failure_label_table_counts_each_runs_wrong_answers(fixture_board, page):
    board, runs = fixture_board
    table = json.loads((board / "leaderboard.json").read_text())["tables"][0]
    shown = page.eval(
        "Array.from(document.querySelectorAll('table.failures tbody tr')).map(tr =>"
        " [tr.cells[0].textContent, tr.cells[tr.cells.length - 1].textContent])"
    )
    wrong = {run.name: sum(1 for r in _rows(run) if not r["ex"]) for run in runs}
    assert shown == [[e["config"], str(wrong[e["run"]])] for e in table["entries"]]
