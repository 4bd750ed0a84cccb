"""The official evaluator offline: the minimal punkt_tab, its justification on the real
Spider dev gold, prepare from local copies, the time limit, and readable failures."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.prepare import punkt
from harness.prepare.install import prepare
from harness.records import BenchmarkData, Example
from harness.scoring import official_bridge
from harness.scoring.official_bridge import (
    OfficialEvaluatorFailed,
    OfficialEvaluatorMissing,
    failure_tail,
    official_time_limit,
    run_official,
)
from harness.scoring.options import ScoreOptions

REPO = Path(__file__).resolve().parent.parent
PREDS = REPO / "evals" / "predictions"


def quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------ the minimal punkt_tab


@pytest.fixture(scope="module")
def minimal_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """nltk's PunktTokenizer loaded, through nltk's own loader, from the files that
    `punkt.write_minimal` writes."""
    nltk_data = pytest.importorskip("nltk.data")
    from nltk.tokenize.punkt import PunktTokenizer

    root = tmp_path_factory.mktemp("nltk_data")
    punkt.write_minimal(root / "tokenizers" / "punkt_tab")
    nltk_data.path.insert(0, str(root))
    try:
        yield PunktTokenizer("english")
    finally:
        nltk_data.path.remove(str(root))


def _words(sentences: list[str]) -> list[str]:
    from nltk.tokenize import NLTKWordTokenizer

    return [tok for sent in sentences for tok in NLTKWordTokenizer().tokenize(sent)]


def _adversarial(tokens: list[str]):
    """Punkt parameters that make every token an abbreviation, a sentence starter and a
    collocation: if a break could depend on the parameters, these would move it."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    params = PunktParameters()
    lower = {t.lower().rstrip(".") for t in tokens}
    params.abbrev_types = set(lower)
    params.sent_starters = set(lower)
    params.collocations = {(a, b) for a in lower for b in list(lower)[:3]}
    for t in lower:
        params.add_ortho_context(t, 0b11111111)
    return PunktSentenceTokenizer(params)


def test_minimal_punkt_tokenizes_every_spider_dev_gold_query_as_any_model_does(
    spider_dir: Path, minimal_tokenizer
) -> None:
    """The claim harness/prepare/punkt.py makes, checked on all 1,034 dev gold queries: none has a
    candidate sentence break in the text the evaluator tokenizes, so Punkt's parameters
    are never consulted; and the minimal model's tokens equal those of one sentence and
    those under adversarial parameters."""
    gold = [line.split("\t")[0] for line in (spider_dir / "dev_gold.sql").read_text().splitlines()]
    gold = [sql for sql in gold if sql.strip()]
    assert len(gold) == 1034
    for sql in gold:
        text = punkt.evaluator_text(sql)
        assert text is not None, sql
        assert not punkt.has_candidate_break(sql), sql
        one_sentence = _words([text.rstrip()])
        assert _words(minimal_tokenizer.tokenize(text)) == one_sentence, sql
        assert _words(_adversarial(one_sentence).tokenize(text)) == one_sentence, sql


def test_candidate_breaks_are_found_outside_literals(minimal_tokenizer) -> None:
    # Inside quotes the evaluator has replaced the text by a key: no break there.
    assert not punkt.has_candidate_break("SELECT name FROM people WHERE title = 'Mr. Smith'")
    assert not punkt.has_candidate_break("SELECT T1.name FROM a AS T1 WHERE T1.x != 3.5")
    # A bare `?` or a period before a space is a candidate: its tokens depend on the model.
    assert punkt.has_candidate_break("SELECT a FROM t WHERE b = ? AND c = 1")
    assert punkt.has_candidate_break("SELECT a FROM t. WHERE b = 1")
    assert punkt.sensitive_ids([("1", "SELECT 1"), ("2", "SELECT a. b"), ("2", "x")]) == ["2"]
    # ... and there the model matters: the minimal one splits after "Mr.", the published
    # English model (which lists "mr" as an abbreviation) would not.
    text = "SELECT Mr. Smith FROM t"
    assert punkt.has_candidate_break(text)
    assert _words(minimal_tokenizer.tokenize(text)) == ["SELECT", "Mr", ".", "Smith", "FROM", "t"]
    assert _words(_adversarial(["mr"]).tokenize(text)) == _words([text])


# ------------------------------------------------------------------ prepare from local copies


def _local_evaluator() -> Path | None:
    """A local copy (git repository) of taoyds/test-suite-sql-eval, never fetched here."""
    env = os.environ.get("HARNESS_EVALUATOR_SOURCE")
    candidates = [Path(env)] if env else []
    candidates += [
        REPO.parent / "shared" / "test-suite-sql-eval",
        Path("/work/.mirror/taoyds+test-suite-sql-eval/repo"),
    ]
    return next((p for p in candidates if (p / "HEAD").is_file() or (p / ".git").exists()), None)


@pytest.fixture
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No NLTK_DATA, an empty HOME (so no ~/nltk_data), no baked-in evaluator."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NLTK_DATA", raising=False)
    monkeypatch.delenv("HARNESS_OFFICIAL_EVALUATOR", raising=False)
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    return home


def test_prepared_evaluator_scores_offline_with_the_minimal_punkt(
    tmp_path: Path, offline_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _local_evaluator()
    if source is None:
        pytest.skip("no local copy of test-suite-sql-eval (set HARNESS_EVALUATOR_SOURCE)")
    pytest.importorskip("nltk")
    pytest.importorskip("sqlparse")
    dest = tmp_path / "evaluator"
    said: list[str] = []
    result = prepare("official-evaluator", data_dir=dest, from_=str(source), say=said.append)
    assert result.companions[0].source == punkt.MINIMAL_SOURCE
    assert not any("downloading" in line or "attempt" in line for line in said), said
    assert punkt.installed(dest / punkt.EVALUATOR_PUNKT)["minimal"] is True

    code = main(["score", "--bench", "fixture", "--pred", str(PREDS / "baseline.jsonl"),
                 "--out", str(tmp_path / "run"), "--evaluator", "both", "--no-cache",
                 "--official-dir", str(dest), "--resamples", "50"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "agree on every figure" in out and "minimal punkt_tab" in out
    official = json.loads((tmp_path / "run" / "summary.json").read_text())["official"]
    assert official["disagreements"] == [] and official["counts"]["all"] == 50
    assert official["punkt"]["minimal"] is True
    assert official["punkt_sensitive_ids"] == []
    assert official["time_limit_s"] == 30.0 * 50


def test_from_covers_punkt_as_a_zip_or_an_nltk_data_folder(
    tmp_path: Path, offline_env: Path
) -> None:
    """With a local copy of punkt_tab among --from, it is installed and recorded instead of
    the minimal one, and replaces a minimal one prepared before."""
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("evaluation.py", "exec_eval.py", "process_sql.py", "parse.py"):
        (repo / name).write_text(f"# {name}\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@e.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    manifest = tmp_path / "manifest.toml"
    text = (REPO / "spider" / "manifest.toml").read_text()
    start = text.index("[assets.official-evaluator]")
    body = text[start:].replace("e97acc546ecbee8fa27fa8dbf025ef61493a876c", commit)
    manifest.write_text(body)

    nltk_data = tmp_path / "nltk_data"
    english = nltk_data / "tokenizers" / "punkt_tab" / "english"
    english.mkdir(parents=True)
    for name in punkt.PUNKT_FILES:
        (english / name).write_text("e.g\n" if name == "abbrev_types.txt" else "")

    dest = tmp_path / "ev"
    first = prepare("official-evaluator", data_dir=dest, from_=str(repo),
                    manifests=[manifest], say=quiet)  # fmt: skip
    assert first.companions[0].source == punkt.MINIMAL_SOURCE
    again = prepare("official-evaluator", data_dir=dest, from_=[str(repo), str(nltk_data)],
                    manifests=[manifest], say=quiet)  # fmt: skip
    assert again.companions[0].action == "installed"
    installed = punkt.installed(dest / punkt.EVALUATOR_PUNKT)
    assert installed["minimal"] is False and str(nltk_data) in installed["source"]
    abbrevs = dest / punkt.EVALUATOR_PUNKT / "english" / "abbrev_types.txt"
    assert abbrevs.read_text() == "e.g\n"


def test_offline_prepare_fails_fast_in_one_line(tmp_path: Path, no_dns: None) -> None:
    """A source whose host does not resolve is not retried: one line, no download chatter."""
    manifest = tmp_path / "manifest.toml"
    manifest.write_text("""
[assets.thing]
kind = "archive"
default_dest = "data/thing"
[assets.thing.archive]
filename = "thing.zip"
format = "zip"
sha256 = "00000000000000000000000000000000000000000000000000000000000000aa"
[[assets.thing.sources]]
kind = "url"
url = "https://no-such-host.invalid/thing.zip"
""")
    said: list[str] = []
    started = time.monotonic()
    with pytest.raises(official_bridge.HarnessError) as err:
        prepare("thing", data_dir=tmp_path / "t", manifests=[manifest], say=said.append)
    assert time.monotonic() - started < 10
    assert "cannot resolve no-such-host.invalid" in str(err.value)
    assert "\n" not in str(err.value) and said == []


# ------------------------------------------------------------------ running: limits and errors


def _db(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.commit()
    con.close()
    return path


def _stand_in(tmp_path: Path, body: str) -> tuple[Path, BenchmarkData]:
    folder = tmp_path / "evaluator"
    folder.mkdir()
    (folder / "evaluation.py").write_text(body)
    for name in ("exec_eval.py", "process_sql.py", "parse.py"):
        (folder / name).write_text("")
    punkt.write_minimal(folder / punkt.EVALUATOR_PUNKT)
    db = _db(tmp_path / "d" / "d.sqlite")
    bench = BenchmarkData(
        "spider", "dev", [Example("0", "d", "q", "SELECT 1", db_paths=(db,))], tables={"d": {}}
    )
    return folder, bench


def test_official_run_is_bounded_by_a_named_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert official_time_limit(30.0, 1034) == 30.0 * 1034
    assert official_time_limit(0.5, 3) == official_bridge.OFFICIAL_FLOOR_S
    folder, bench = _stand_in(tmp_path, "import time\ntime.sleep(60)\n")
    monkeypatch.setattr(official_bridge, "OFFICIAL_FLOOR_S", 1.0)
    started = time.monotonic()
    with pytest.raises(OfficialEvaluatorFailed, match=r"time limit of 1 s \(--timeout 0.2 s"):
        run_official(bench, {"0": "SELECT 1"}, folder, ScoreOptions(timeout_s=0.2, em=False))
    assert time.monotonic() - started < 30


def test_score_passes_its_timeout_to_the_official_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = _stand_in(tmp_path, "import time\ntime.sleep(60)\n")
    monkeypatch.setattr(official_bridge, "OFFICIAL_FLOOR_S", 1.0)
    monkeypatch.delenv("HARNESS_OFFICIAL_EVALUATOR", raising=False)
    code = main(["score", "--bench", "fixture", "--pred", str(PREDS / "baseline.jsonl"),
                 "--out", str(tmp_path / "run"), "--evaluator", "official", "--no-cache",
                 "--official-dir", str(folder), "--timeout", "0.02"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0
    assert "time limit of 1 s (--timeout 0.02 s x 50 examples" in err
    assert err.count("\n") == 1


NLTK_LOOKUP = r"""
import sys
sys.stderr.write('''Traceback (most recent call last):
  File "evaluation.py", line 1, in <module>
LookupError:
**********************************************************************
  Resource punkt_tab not found.
  Please use the NLTK Downloader to obtain the resource:

  >>> import nltk
  >>> nltk.download('punkt_tab')
**********************************************************************
''')
sys.exit(1)
"""


def test_a_crash_shows_its_last_meaningful_lines_not_asterisks(tmp_path: Path) -> None:
    folder, bench = _stand_in(tmp_path, NLTK_LOOKUP)
    with pytest.raises(OfficialEvaluatorFailed) as err:
        run_official(bench, {"0": "SELECT 1"}, folder, ScoreOptions(em=False))
    message = str(err.value)
    assert "status 1: LookupError: Resource punkt_tab not found." in message
    assert "***" not in message and "\n" not in message
    assert failure_tail("one\n\ntwo\n***\nthree\n----\n") == "one two three"


def test_an_evaluator_without_punkt_is_a_one_line_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, bench = _stand_in(tmp_path, "")
    (folder / punkt.EVALUATOR_PUNKT / "english" / "ortho_context.tab").unlink()
    monkeypatch.delenv("NLTK_DATA", raising=False)
    with pytest.raises(OfficialEvaluatorMissing, match="has no nltk punkt_tab") as err:
        run_official(bench, {"0": "SELECT 1"}, folder, ScoreOptions(em=False))
    assert "harness prepare official-evaluator" in str(err.value)
