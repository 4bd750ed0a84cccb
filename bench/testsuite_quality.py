"""How good is a test suite? Prints, for a suite built by `harness testsuite build`:

1. gold against gold on the suite (must be 100%), and databases per schema;
2. for each predictions file: EX on the original databases and TS on the suite
   (`harness score --db-dir`), and the drop; with OFFICIAL_EVAL_DIR set, the official
   evaluator's `--etype exec` on the original databases and with `--db SUITE` too;
3. what distillation is for: of one-edit variants of the gold queries (a number +1, a
   changed LIMIT, a swapped comparison / aggregate / ASC-DESC / AND-OR, a string's case)
   that the original database cannot tell from gold, the share the suite rejects.

Usage:
    python bench/testsuite_quality.py --data-dir ../shared/data/spider --suite TS_DIR \
        [--pred FILE ...]
    OFFICIAL_EVAL_DIR=/path/to/test-suite-sql-eval NLTK_DATA=... python bench/...

Predictions are official-format files (one SQL per line, the whole split; examples whose
database is absent are left out of every figure). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from harness.benchmarks.spider import load_spider
from harness.predictions import read_predictions
from harness.records import PredictionSet
from harness.scoring.exec_match import results_equal
from harness.scoring.official_compat import order_matters
from harness.scoring.scorer import ScoreOptions, score_benchmark
from harness.testsuite.run import Outcome, Runner

_SWAPS: dict[type, type] = {
    exp.GT: exp.GTE, exp.GTE: exp.GT, exp.LT: exp.LTE, exp.LTE: exp.LT,
    exp.EQ: exp.NEQ, exp.NEQ: exp.EQ, exp.Max: exp.Min, exp.Min: exp.Max,
    exp.Sum: exp.Avg, exp.Avg: exp.Sum, exp.And: exp.Or, exp.Or: exp.And,
}  # fmt: skip
_KIND = {
    exp.GT: "comparison", exp.GTE: "comparison", exp.LT: "comparison", exp.LTE: "comparison",
    exp.EQ: "comparison", exp.NEQ: "comparison", exp.Max: "aggregate", exp.Min: "aggregate",
    exp.Sum: "aggregate", exp.Avg: "aggregate", exp.And: "and_or", exp.Or: "and_or",
}  # fmt: skip


def _edit(node: exp.Expression) -> tuple[str, exp.Expression] | None:
    """One edit of `node`, or None when it has none."""
    if type(node) in _SWAPS:
        new = _SWAPS[type(node)]
        if issubclass(new, exp.Binary):
            return _KIND[type(node)], new(this=node.this.copy(), expression=node.expression.copy())
        return _KIND[type(node)], new(this=node.this.copy())
    if isinstance(node, exp.Ordered):
        flipped = node.copy()
        flipped.set("desc", not node.args.get("desc"))
        return "asc_desc", flipped
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            value = int(node.this)
        except ValueError:
            return None
        kind = "limit" if isinstance(node.parent, exp.Limit) else "number"
        return kind, exp.Literal.number(value + 1)
    if isinstance(node, exp.Literal) and node.is_string:
        text = node.this
        other = text.lower() if text.lower() != text else text.upper()
        return ("string_case", exp.Literal.string(other)) if other != text else None
    return None


def one_edit_variants(sql: str) -> list[tuple[str, str]]:
    try:
        tree = sqlglot.parse_one(sql, read="sqlite")
    except (ParseError, TokenError, ValueError, RecursionError):
        return []
    out = []
    for i in range(len(list(tree.walk()))):
        copy = tree.copy()
        node = list(copy.walk())[i]
        edit = _edit(node)
        if edit is None or node is copy:
            continue
        kind, replacement = edit
        node.replace(replacement)
        text = copy.sql(dialect="sqlite")
        out.append((kind, text))
    return out


def variant_rejection(data_dir: Path, suite: Path) -> None:
    bench = load_spider(data_dir=data_dir, split="dev", db_dir=suite)
    tried: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    runners: dict[Path, Runner] = {}

    def run(path: Path, sql: str) -> Outcome:
        if path not in runners:
            runners[path] = Runner(path)
        return runners[path].run(sql, 5.0)

    for example in bench.examples:
        if not example.db_paths:
            continue
        original, *others = example.db_paths
        gold_sql = example.gold_sql
        ordered = order_matters(gold_sql)
        gold = run(original, gold_sql)
        if gold.status != "ok":
            continue
        for kind, variant in one_edit_variants(gold_sql):
            v = run(original, variant)
            if v.status != "ok" or not results_equal(gold.rows, v.rows, ordered):
                continue  # the original database already tells it apart
            tried[kind] += 1
            for db in others:
                g, o = run(db, gold_sql), run(db, variant)
                if o.status == "timeout":
                    continue
                if o.status != "ok" or not results_equal(g.rows, o.rows, ordered):
                    rejected[kind] += 1
                    break
    print("\none-edit variants of gold that the original database cannot tell apart:")
    print(f"{'edit':<12} {'variants':>8} {'rejected by suite':>18}")
    for kind in sorted(tried):
        print(f"{kind:<12} {tried[kind]:>8} {rejected[kind] / tried[kind]:>17.1%}")
    total, hit = sum(tried.values()), sum(rejected.values())
    print(f"{'all':<12} {total:>8} {hit / max(total, 1):>17.1%}")


def _native(data_dir: Path, pred: Path, db_dir: Path | None) -> dict[str, float]:
    bench = load_spider(data_dir=data_dir, split="dev", db_dir=db_dir)
    preds = read_predictions(pred, bench.examples)
    kept = [e for e in bench.examples if e.db_paths]
    bench.examples, bench.missing_db_ids = kept, []
    preds = PredictionSet(sql={e.id: preds.sql[e.id] for e in kept})
    with tempfile.TemporaryDirectory() as out:
        summary = score_benchmark(bench, preds, Path(out), ScoreOptions(em=False))
    return {m: ci["mean"] for m, ci in summary["metrics"].items()}


def _official(data_dir: Path, pred: Path, db: Path, evaluator: Path) -> float | None:
    bench = load_spider(data_dir=data_dir, split="dev")
    lines = pred.read_text(encoding="utf-8").splitlines()
    keep = [i for i, e in enumerate(bench.examples) if e.db_paths]
    with tempfile.TemporaryDirectory() as tmp:
        gold_file, pred_file = Path(tmp) / "gold.sql", Path(tmp) / "pred.sql"
        picked = [bench.examples[i] for i in keep]
        gold_file.write_text("".join(f"{e.gold_sql}\t{e.db_id}\n" for e in picked))
        pred_file.write_text("".join(f"{lines[i]}\n" for i in keep))
        done = subprocess.run(
            [os.environ.get("OFFICIAL_PYTHON", sys.executable), "evaluation.py",
             "--gold", str(gold_file), "--pred", str(pred_file), "--db", str(db),
             "--table", str(data_dir / "tables.json"), "--etype", "exec"],
            cwd=evaluator, capture_output=True, text=True, check=False,
        )  # fmt: skip
    match = re.search(r"^execution\s+.*?([\d.]+)\s*$", done.stdout, flags=re.MULTILINE)
    return float(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--pred", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    evaluator = os.environ.get("OFFICIAL_EVAL_DIR")
    gold_path = Path(tempfile.mkdtemp(prefix="ts-quality-")) / "gold-as-pred.sql"
    gold_path.write_text(
        "".join(e.gold_sql + "\n" for e in load_spider(data_dir=args.data_dir).examples)
    )
    counts = sorted(sum(1 for _ in d.glob("*.sqlite")) for d in args.suite.iterdir() if d.is_dir())
    print(f"suite {args.suite}: {len(counts)} schemas, {counts[0]}-{counts[-1]} databases each")
    header = f"{'predictions':<28} {'EX':>6} {'TS':>6} {'drop':>6}"
    if evaluator:
        header += f" {'off. EX':>8} {'off. TS':>8}"
    print(header)
    for pred in [gold_path, *args.pred]:
        name = "gold (as predictions)" if pred == gold_path else pred.name
        plain = _native(args.data_dir, pred, None)
        suite = _native(args.data_dir, pred, args.suite)
        line = f"{name:<28} {plain['ex']:>6.1%} {suite['ts']:>6.1%} "
        line += f"{(plain['ex'] - suite['ts']) * 100:>5.1f}p"
        if evaluator:
            ex = _official(args.data_dir, pred, args.data_dir / "database", Path(evaluator))
            ts = _official(args.data_dir, pred, args.suite, Path(evaluator))
            line += f" {ex if ex is not None else float('nan'):>8.3f}"
            line += f" {ts if ts is not None else float('nan'):>8.3f}"
        print(line, flush=True)
    variant_rejection(args.data_dir, args.suite)


if __name__ == "__main__":
    main()
