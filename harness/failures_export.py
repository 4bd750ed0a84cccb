"""`harness failures RUN_DIR --out DIR`: a scored run's wrong answers, ready for the next
fine-tuning round.

- failure-labels.jsonl: id, question, label, pred, gold, mismatch (one line per wrong answer);
- failure-preferences.jsonl: TRL's preference format (DPO/ORPO trainers): `prompt` as the
  run sent it, `chosen` = the gold SQL, `rejected` = the model's SQL, plus id and label.
  Chat and API runs give the conversational form (lists of role/content messages, so the
  trainer applies its own chat template); plain-template runs the standard form (text);
- failures-summary.md (and the returned counts): wrong answers by label.

The run folder does not record prompts (predictions.jsonl keeps the question, the raw
completion and the SQL), so unless a prediction carries `messages`, the prompt is rebuilt
from config.toml with the same builder generation used, which is deterministic (schema
rendering, shot selection seeded by the run's seed). A replay run sent no prompt at all:
its preference lines get the harness's default prompt and say so in `prompt_source`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.benchmarks.base import load_benchmark
from harness.config import RunConfig, apply
from harness.errors import DataError
from harness.generation.prompts import PromptBuilder
from harness.io import jsonl_objects, write_atomic, write_jsonl
from harness.leaderboard.load import load_run
from harness.prompting.templates import ASSISTANT, render_plain

LABELS_NAME = "failure-labels.jsonl"
PREFERENCES_NAME = "failure-preferences.jsonl"
SUMMARY_NAME = "failures-summary.md"
# How config.toml names the template: "messages" (APIs), "chat" or "plain" (local models).
_PLAIN = "plain"


@dataclass
class FailureExport:
    run: str
    n_scored: int
    n_failures: int
    by_label: dict[str, int]
    n_preferences: int
    skipped: dict[str, int] = field(default_factory=dict)
    prompt_source: str = ""
    files: list[Path] = field(default_factory=list)

    def markdown(self) -> str:
        rows = [
            (label, count, f"{100 * count / self.n_failures:.1f}")
            for label, count in sorted(self.by_label.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        table = tabulate(
            rows,
            headers=["label", "wrong answers", "% of wrong"],
            tablefmt="github",
            colalign=("left", "right", "right"),
            disable_numparse=True,
        )
        lines = [
            f"# Failures of {self.run}",
            "",
            f"{self.n_failures} of {self.n_scored} scored questions wrong "
            f"({100 * self.n_failures / self.n_scored:.1f}%).",
            "",
            table if rows else "No wrong answers.",
            "",
            f"{self.n_preferences} preference pairs (prompt: {self.prompt_source}).",
        ]
        if self.skipped:
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
            lines.append(f"Not made into pairs: {detail}.")
        return "\n".join(lines) + "\n"


def _predictions(run_dir: Path) -> dict[str, dict[str, Any]]:
    path = run_dir / "predictions.jsonl"
    if not path.is_file():
        return {}
    lines = path.read_text(encoding="utf-8").splitlines()
    return {
        str(obj["id"]): obj
        for _lineno, obj in jsonl_objects(lines, path, DataError, skip_torn_last=True)
        if "id" in obj
    }


def _prompt_config(config: Mapping[str, Any], data_dir: str | None, db_dir: str | None):
    """The RunConfig parts the prompt depends on, from the run's config.toml."""
    cfg = RunConfig()
    bench = dict(config.get("benchmark") or {})
    if data_dir is not None:
        bench["data_dir"] = data_dir
    if db_dir is not None:
        bench["db_dir"] = db_dir
    recorded = config.get("prompt") or {}
    prompt = {
        k: v
        for k, v in recorded.items()
        if k in ("format", "schema", "shots", "shots_from", "rows")
    }
    if recorded.get("format_file"):
        prompt["format"] = recorded["format_file"]
    seed = (config.get("decoding") or {}).get("seed")
    data = {"benchmark": bench, "prompt": prompt}
    if seed is not None:
        data["decoding"] = {"seed": seed}
    apply(cfg, data, "config.toml")
    return cfg


class _Prompts:
    """Messages per question id: recorded, else rebuilt from config.toml."""

    def __init__(
        self, run_dir: Path, config: Mapping[str, Any], data_dir: str | None, db_dir: str | None
    ) -> None:
        self.run_dir = run_dir
        self.config = config
        self.sent_prompts = bool(config.get("prompt"))
        self.plain = (config.get("prompt") or {}).get("template") == _PLAIN
        self._args = (data_dir, db_dir)
        self._builder: PromptBuilder | None = None
        self._examples: dict[str, Any] = {}

    @property
    def source(self) -> str:
        if self.sent_prompts:
            return "rebuilt from config.toml"
        return "harness default (this run sent no prompt: replay)"

    def _load(self) -> None:
        cfg = _prompt_config(self.config, *self._args)
        b = cfg.benchmark
        try:
            bench = load_benchmark(
                b.name, data_dir=b.data_dir, split=b.split, db_dir=b.db_dir, evidence=b.evidence
            )
        except DataError as exc:
            raise DataError(
                f"{self.run_dir}: the prompts are rebuilt from the benchmark data, which did "
                f"not load ({exc}); pass --data-dir (and --db-dir)"
            ) from None
        self._builder = PromptBuilder(cfg, bench)
        self._examples = {e.id: e for e in bench.examples}

    def messages(self, qid: str) -> list[dict[str, str]]:
        if self._builder is None:
            self._load()
        assert self._builder is not None
        example = self._examples.get(qid)
        if example is None:
            raise DataError(f"{self.run_dir}: question {qid!r} is not in the benchmark data")
        return list(self._builder.messages(example))


def _preference(
    qid: str, label: str, messages: Sequence[Mapping[str, str]], gold: str, pred: str, plain: bool
) -> dict[str, Any]:
    if plain:
        # The plain template ends in "SQL:"; the completion is the query after a space.
        return {
            "prompt": render_plain(messages),
            "chosen": " " + gold,
            "rejected": " " + pred,
            "id": qid,
            "label": label,
        }
    return {
        "prompt": [dict(m) for m in messages],
        "chosen": [{"role": "assistant", "content": ASSISTANT.format(sql=gold)}],
        "rejected": [{"role": "assistant", "content": ASSISTANT.format(sql=pred)}],
        "id": qid,
        "label": label,
    }


def export_failures(
    run_dir: Path | str,
    out_dir: Path | str,
    data_dir: str | None = None,
    db_dir: str | None = None,
) -> FailureExport:
    run_dir, out = Path(run_dir), Path(out_dir)
    run = load_run(run_dir)
    predictions = _predictions(run_dir)
    prompts = _Prompts(run_dir, run.config, data_dir, db_dir)
    wrong = [row for row in run.rows if row.get("ex") != 1]
    labels_out, prefs_out = [], []
    skipped: Counter[str] = Counter()
    for row in wrong:
        qid = str(row["id"])
        pred = predictions.get(qid, {})
        label = str(row.get("failure") or "unlabelled")
        gold = str(row.get("gold_sql") or "").strip()
        sql = str(row.get("pred_sql") or "").strip()
        labels_out.append(
            {
                "id": qid,
                "db_id": row.get("db_id"),
                "question": pred.get("question"),
                "label": label,
                "pred": sql,
                "gold": gold,
                "mismatch": row.get("mismatch"),
                "error": row.get("error"),
            }
        )
        if not sql:
            skipped["no SQL in the answer"] += 1
            continue
        if sql == gold:
            skipped["answer text equals gold"] += 1
            continue
        recorded = pred.get("messages")
        messages = recorded if isinstance(recorded, list) else prompts.messages(qid)
        prefs_out.append(_preference(qid, label, messages, gold, sql, prompts.plain))
    out.mkdir(parents=True, exist_ok=True)
    any_recorded = any(isinstance(p.get("messages"), list) for p in predictions.values())
    result = FailureExport(
        run=run.name,
        n_scored=len(run.rows),
        n_failures=len(wrong),
        by_label=dict(Counter(r["label"] for r in labels_out)),
        n_preferences=len(prefs_out),
        skipped=dict(skipped),
        prompt_source="recorded in predictions.jsonl" if any_recorded else prompts.source,
    )
    write_jsonl(out / LABELS_NAME, labels_out)
    write_jsonl(out / PREFERENCES_NAME, prefs_out)
    write_atomic(out / SUMMARY_NAME, result.markdown())
    result.files = [out / LABELS_NAME, out / PREFERENCES_NAME, out / SUMMARY_NAME]
    return result
