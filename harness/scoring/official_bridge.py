"""The official Spider evaluator as a second scorer: run it, read its tables, compare.

`harness prepare official-evaluator` fetches taoyds/test-suite-sql-eval at a pinned commit
(with nltk's punkt_tab). This module runs its `evaluation.py` as a subprocess on the same
examples and predictions the native scorer saw, and parses the per-hardness table it prints.

What the evaluator needs, and why each step here exists:
- gold and prediction files with exactly one non-empty line per example: a blank line
  separates interaction sessions (SParC/CoSQL), so a blank prediction would shift every
  later line; blank predictions become a placeholder that can neither parse nor run;
- `<db>/<db_id>/<db_id>.sqlite`, where every `*.sqlite` in that folder is a test-suite
  variant: the bridge builds such a tree of links to exactly the files the native scorer
  used (`Example.db_paths`), so both judge on the same databases;
- a missing database crashes it, so examples without one are left out (and listed);
- nltk's punkt_tab, which `harness prepare` put next to it (possibly the minimal one:
  harness/prepare/punkt.py says when that cannot change a verdict); which one is recorded;
- a wall-clock limit: the evaluator has no time limit of its own across a run, so the
  run is stopped after `--timeout` seconds per example (at least OFFICIAL_FLOOR_S).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.display import pct
from harness.errors import HarnessError
from harness.prepare import punkt
from harness.prepare.record import read_record
from harness.records import BenchmarkData
from harness.scoring.official_compat import as_line
from harness.scoring.options import ScoreOptions

LEVELS = ("easy", "medium", "hard", "extra", "all")
# Neither the evaluator's parser nor SQLite accepts this, so a missing answer scores 0 on
# every metric, as a blank line would if the evaluator did not choke on it.
EMPTY_PREDICTION = "HARNESS_EMPTY_PREDICTION"
PREPARE_HINT = "run `harness prepare official-evaluator`"
# The least wall-clock time an official run gets: starting Python and loading its parser
# and tables takes seconds before the first query runs.
OFFICIAL_FLOOR_S = 60.0

_HEADER = re.compile(r"^\s+easy\s+medium\s+hard\s+extra\s+all(\s+joint_all)?\s*$")
_ROW = re.compile(r"^(count|execution|exact match)\s{2,}(.*)$")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b:?")


class OfficialEvaluatorMissing(HarnessError):
    """The official evaluator has not been fetched (or is incomplete)."""


class OfficialEvaluatorFailed(HarnessError):
    """The evaluator exited non-zero, or printed no score table."""


@dataclass
class OfficialResult:
    """The evaluator's printed table: per level (easy/medium/hard/extra/all) the count,
    execution accuracy and exact-set-match accuracy (None when that etype was not run),
    as printed, i.e. rounded to 3 decimals."""

    counts: dict[str, int]
    ex: dict[str, float] | None = None
    em: dict[str, float] | None = None
    etype: str = ""
    excluded_ids: list[str] = field(default_factory=list)
    placeholder_ids: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    commit: str = ""
    # Which punkt_tab the evaluator tokenized with, and the ids whose gold or prediction
    # has a candidate sentence break, where that choice could matter (None: not checked).
    punkt: dict[str, Any] = field(default_factory=dict)
    punkt_sensitive_ids: list[str] | None = None
    time_limit_s: float | None = None
    stdout: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("stdout")
        return out


@dataclass(frozen=True)
class Disagreement:
    metric: str  # "n", "ex" or "em"
    level: str  # easy, medium, hard, extra, all
    native: float | int | None
    official: float | int | None

    def describe(self) -> str:
        return f"{self.metric} [{self.level}]: native {self.native}, official {self.official}"


# ---------------------------------------------------------------- parsing


def parse_official_stdout(text: str) -> OfficialResult:
    """Read the last per-hardness table the evaluator printed.

    Exact-match mismatch lines ("<hardness> pred: ...") and progress lines come before the
    table and are skipped; a header with a `joint_all` column (multi-turn data) is read
    too, keeping the five single-turn levels.
    """
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _HEADER.match(line)]
    if not starts:
        raise OfficialEvaluatorFailed(
            f"no score table in the official evaluator's output (it ends: {failure_tail(text)})"
        )
    counts: dict[str, int] = {}
    ex: dict[str, float] | None = None
    em: dict[str, float] | None = None
    for line in lines[starts[-1] + 1 :]:
        if "TURN" in line or "PARTIAL MATCHING" in line:
            break  # per-turn tables and partial scores are not read
        match = _ROW.match(line)
        if not match:
            continue
        if match.group(1) == "count" and counts:
            break  # the next table (per turn) starts
        values = match.group(2).split()[: len(LEVELS)]
        if len(values) < len(LEVELS):
            raise OfficialEvaluatorFailed(f"short row in the official table: {line.strip()!r}")
        row = dict(zip(LEVELS, values, strict=True))
        if match.group(1) == "count":
            counts = {k: int(v) for k, v in row.items()}
        elif match.group(1) == "execution":
            ex = {k: float(v) for k, v in row.items()}
        else:
            em = {k: float(v) for k, v in row.items()}
    if not counts:
        raise OfficialEvaluatorFailed("the official table has no count row")
    return OfficialResult(counts=counts, ex=ex, em=em, stdout=text)


# ---------------------------------------------------------------- running


def one_line(sql: str) -> str:
    """One example, one line (the evaluator cuts lines at TAB): the same conversion the
    native scorer applies, so both judge the same text."""
    return as_line(sql).strip()


def check_evaluator(evaluator_dir: Path | None) -> Path:
    if evaluator_dir is None:
        raise OfficialEvaluatorMissing(f"no official evaluator folder given; {PREPARE_HINT}")
    missing = [
        name
        for name in ("evaluation.py", "exec_eval.py", "process_sql.py", "parse.py")
        if not (Path(evaluator_dir) / name).is_file()
    ]
    if missing:
        raise OfficialEvaluatorMissing(
            f"official evaluator not found at {evaluator_dir} (no {', '.join(missing)}); "
            f"{PREPARE_HINT}"
        )
    punkt_dir = Path(evaluator_dir) / punkt.EVALUATOR_PUNKT
    if punkt.missing_files(punkt_dir) and not os.environ.get("NLTK_DATA"):
        raise OfficialEvaluatorMissing(
            f"the official evaluator at {evaluator_dir} has no nltk punkt_tab "
            f"({punkt_dir}/{punkt.LANGUAGE} is incomplete) and NLTK_DATA is not set; "
            f"{PREPARE_HINT} (offline: --from with your local copies)"
        )
    return Path(evaluator_dir)


def official_time_limit(timeout_s: float, n_examples: int) -> float:
    """Wall-clock seconds an official run may take: the per-query timeout for each
    example, at least OFFICIAL_FLOOR_S."""
    return max(OFFICIAL_FLOOR_S, timeout_s * n_examples)


def failure_tail(text: str, limit: int = 300) -> str:
    """The last meaningful part of a crashed evaluator's output, on one line: from the last
    exception line on (nltk's LookupError frames its message in rows of asterisks, which
    say nothing), else its last three lines that hold a letter or digit."""
    lines = [line.strip() for line in text.splitlines() if re.search(r"[A-Za-z0-9]", line)]
    if not lines:
        return "no message"
    starts = [i for i, line in enumerate(lines) if _EXCEPTION.match(line)]
    tail = lines[starts[-1] :] if starts else lines[-3:]
    joined = " ".join(" ".join(tail).split())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def find_evaluator(data_dir: Path | None = None) -> Path:
    """$HARNESS_OFFICIAL_EVALUATOR (the container bakes one in), else where `harness prepare
    official-evaluator` puts it (--data-dir, $HARNESS_DATA_DIR, spider/data)."""
    env = os.environ.get("HARNESS_OFFICIAL_EVALUATOR")
    if env and data_dir is None:
        return check_evaluator(Path(env))
    from harness.prepare.manifest import get_asset

    return check_evaluator(get_asset("official-evaluator").dest(data_dir))


def _link_databases(data: BenchmarkData, root: Path, ids: set[str]) -> None:
    """root/<db_id>/<db_id>.sqlite plus one link per other variant, pointing at exactly
    the files the native scorer judges on."""
    seen: set[str] = set()
    for ex in data.examples:
        if ex.id not in ids or ex.db_id in seen:
            continue
        seen.add(ex.db_id)
        folder = root / ex.db_id
        folder.mkdir(parents=True)
        main, *others = ex.db_paths
        (folder / f"{ex.db_id}.sqlite").symlink_to(Path(main).resolve())
        for i, path in enumerate(others):
            name = Path(path).name
            if name == f"{ex.db_id}.sqlite" or (folder / name).exists():
                name = f"{ex.db_id}__variant{i}.sqlite"
            (folder / name).symlink_to(Path(path).resolve())


def _tables_json(data: BenchmarkData, db_ids: set[str]) -> list[dict[str, Any]]:
    tables = []
    for db_id in sorted(db_ids):
        entry = data.tables.get(db_id)
        if entry is None:
            raise OfficialEvaluatorFailed(f"no tables.json entry for {db_id}: exact match needs it")
        tables.append({"db_id": db_id, **entry})
    return tables


def run_official(
    data: BenchmarkData,
    predictions: dict[str, str],
    evaluator_dir: Path,
    options: ScoreOptions,
    only_ids: Collection[str] | None = None,
    python: str | None = None,
    workdir: Path | None = None,
) -> OfficialResult:
    """Score `predictions` (example id -> SQL) with the official evaluator.

    Examples without a database are left out (the evaluator crashes on them) and listed in
    `excluded_ids`; `only_ids` restricts the run further (e.g. to the ids the native scorer
    kept). Ids with no or a blank prediction get the placeholder and are listed in
    `placeholder_ids`. The evaluator runs with `python` (default: this interpreter, which
    has its nltk and sqlparse) in its own folder, with NLTK_DATA pointing at the punkt_tab
    that `harness prepare` put next to it, and is stopped after
    `official_time_limit(options.timeout_s, examples)` seconds. It runs `--etype all`
    (EX and EM), or `exec` when `options.em` is off, with the official flags for
    `options.keep_distinct` and `options.plug_value`.
    """
    etype = "all" if options.em else "exec"
    timeout_s = options.timeout_s
    evaluator_dir = check_evaluator(evaluator_dir)
    wanted = set(only_ids) if only_ids is not None else None
    examples, excluded = [], []
    for ex in data.examples:
        if wanted is not None and ex.id not in wanted:
            continue
        (examples if ex.db_paths else excluded).append(ex)
    if not examples:
        raise OfficialEvaluatorFailed("no example with a database to score")

    gold_lines, pred_lines, placeholders = [], [], []
    for ex in examples:
        pred = one_line(predictions.get(ex.id) or "")
        if not pred:
            placeholders.append(ex.id)
            pred = EMPTY_PREDICTION
        gold_lines.append(f"{one_line(ex.gold_sql)}\t{ex.db_id}")
        pred_lines.append(pred)

    with tempfile.TemporaryDirectory(prefix="harness-official-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        gold, pred, tables = tmpdir / "gold.sql", tmpdir / "pred.sql", tmpdir / "tables.json"
        gold.write_text("\n".join(gold_lines) + "\n", encoding="utf-8")
        pred.write_text("\n".join(pred_lines) + "\n", encoding="utf-8")
        db_ids = {ex.db_id for ex in examples}
        _link_databases(data, tmpdir / "database", {ex.id for ex in examples})
        tables.write_text(json.dumps(_tables_json(data, db_ids)), encoding="utf-8")
        cmd = [
            python or sys.executable,
            "evaluation.py",
            "--gold", str(gold),
            "--pred", str(pred),
            "--db", str(tmpdir / "database"),
            "--table", str(tables),
            "--etype", etype,
        ]  # fmt: skip
        if options.keep_distinct:
            cmd.append("--keep_distinct")
        if options.plug_value:
            cmd.append("--plug_value")
        env = dict(os.environ)
        nltk_data = evaluator_dir / "nltk_data"
        if nltk_data.is_dir():
            env["NLTK_DATA"] = os.pathsep.join(
                p for p in (str(nltk_data), env.get("NLTK_DATA", "")) if p
            )
        limit = official_time_limit(timeout_s, len(examples))
        try:
            proc = subprocess.run(
                cmd,
                cwd=evaluator_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OfficialEvaluatorFailed(
                f"the official evaluator ran past its time limit of {limit:.0f} s "
                f"(--timeout {timeout_s:g} s x {len(examples)} examples, at least "
                f"{OFFICIAL_FLOOR_S:.0f} s) and was stopped"
            ) from None
    if proc.returncode != 0:
        raise OfficialEvaluatorFailed(
            f"the official evaluator exited with status {proc.returncode}: "
            f"{failure_tail(proc.stderr or proc.stdout)}"
        )
    result = parse_official_stdout(proc.stdout)
    if result.counts.get("all") != len(examples):
        raise OfficialEvaluatorFailed(
            f"the official evaluator scored {result.counts.get('all')} examples, "
            f"{len(examples)} were given"
        )
    result.etype = etype
    result.excluded_ids = [ex.id for ex in excluded]
    result.placeholder_ids = placeholders
    result.command = cmd
    result.commit = _commit_of(evaluator_dir)
    result.time_limit_s = limit
    result.punkt = punkt.installed(evaluator_dir / punkt.EVALUATOR_PUNKT)
    texts = [(ex.id, one_line(ex.gold_sql)) for ex in examples]
    texts += [(ex.id, one_line(predictions.get(ex.id) or "")) for ex in examples]
    result.punkt_sensitive_ids = punkt.sensitive_ids(texts)
    return result


def _commit_of(evaluator_dir: Path) -> str:
    record = read_record("official-evaluator", evaluator_dir)
    return str(record.get("commit", "")) if record else ""


# ---------------------------------------------------------------- comparing


def _native_level(summary: dict[str, Any], level: str) -> dict[str, Any]:
    if level == "all":
        metrics = summary.get("metrics", {})
        return {"n": summary.get("n"), **metrics}
    return dict(summary.get("by_hardness", {}).get(level, {}))


def _as_printed(mean: float | None, n: int | None) -> float | None:
    """The native mean as the evaluator prints it: count/n formatted to 3 decimals.

    The correct count is recovered from mean*n, then divided and formatted exactly as the
    evaluator does, so an agreement is an exact string match, not a tolerance.
    """
    if mean is None or n is None or n == 0:
        return None
    correct = round(mean * n)
    return float(f"{correct / n:.3f}")


def compare(native_summary: dict[str, Any], official: OfficialResult) -> list[Disagreement]:
    """Every per-level count and metric on which the native summary and the official
    table differ (an empty list means they agree everywhere both computed something)."""
    out: list[Disagreement] = []
    for level in LEVELS:
        native = _native_level(native_summary, level)
        n_native = native.get("n")
        n_official = official.counts.get(level)
        if n_native is None and not n_official:
            continue  # a level neither side has
        if (n_native or 0) != (n_official or 0):
            out.append(Disagreement("n", level, n_native, n_official))
            continue
        if not n_native:
            continue
        for metric, table in (("ex", official.ex), ("em", official.em)):
            if table is None or metric not in native or native[metric] is None:
                continue
            mine = _as_printed(native[metric].get("mean"), n_native)
            theirs = table.get(level)
            if mine != theirs:
                out.append(Disagreement(metric, level, mine, theirs))
    return out


def render_official(result: OfficialResult) -> str:
    from tabulate import tabulate

    table = [["count", *[result.counts.get(level, 0) for level in LEVELS]]]
    if result.ex is not None:
        table.append(["EX", *[pct(result.ex.get(level, 0)) for level in LEVELS]])
    if result.em is not None:
        table.append(["EM", *[pct(result.em.get(level, 0)) for level in LEVELS]])
    text = tabulate(table, headers=["official", *LEVELS], tablefmt="github", disable_numparse=True)
    text += "\n\naccuracies in % (the evaluator prints fractions to 3 decimals: the same figures)"
    tokenizer = "minimal punkt_tab" if result.punkt.get("minimal") else "nltk punkt_tab"
    if result.punkt_sensitive_ids:
        tokenizer += f"; {len(result.punkt_sensitive_ids)} ids may depend on its parameters"
    commit = result.commit[:7] or "?"
    return text + f"\n\nofficial evaluator (test-suite-sql-eval {commit}, {tokenizer})"
