"""Prompts per example: the run's prompt format, the schema as that format renders it (read
once per database), demonstrations, the question. `harness prompts` writes them out.

The API other stages use:
    PromptBuilder(cfg, bench).prompt(example) -> Prompt(messages, text, completion_prefix)
    formats.load_format(name_or_path) -> PromptFormat (name, sha256, templates, schema spec)
A backend sends `messages` to a chat model and `text` to a base model; the row's SQL is
extracted from `completion_prefix + completion`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.benchmarks.base import load_benchmark
from harness.config import RunConfig
from harness.errors import ConfigError, DataError
from harness.io import write_jsonl
from harness.prompting import fewshot
from harness.prompting.formats import SchemaSpec, context, load_format, resolve_spec
from harness.prompting.schema import SchemaInfo, joined_ddl, read_schema, render_schema
from harness.prompting.schema_master import render_master_text
from harness.records import BenchmarkData, Example

OMNISQL_VALUES = 2  # process_dataset.sh: --value_limit_num 2


@dataclass(frozen=True)
class Prompt:
    """What a backend is given: chat messages, or `text` for a base model (which ends with
    `completion_prefix`, the start of the answer that extraction puts back)."""

    messages: tuple[dict[str, str], ...]
    text: str
    completion_prefix: str = ""


@dataclass(frozen=True)
class SchemaRequest:
    info: SchemaInfo
    entry: dict[str, Any] | None  # the tables.json entry
    question: str  # for representations that depend on it (value retrieval)
    evidence: str = ""
    context: str = ""  # the example's own CREATE TABLE text (sql-create-context rows)


def recorded_spec(spec: SchemaSpec) -> dict[str, Any]:
    """The schema settings config.toml records (only those the representation reads)."""
    out: dict[str, Any] = {"schema": spec.representation}
    if spec.representation in ("rows", "sqlite_master"):
        out["rows"] = 3 if spec.rows is None else spec.rows
    if spec.representation == "omnisql":
        out["values"] = OMNISQL_VALUES if spec.values is None else spec.values
        out["retrieval"] = spec.retrieval
    return out


class _OmniSQLSchema:
    """OmniSQL's schema text: sampled values per database, retrieved ones per question."""

    per_question = True

    def __init__(self, spec: SchemaSpec) -> None:
        self.values = OMNISQL_VALUES if spec.values is None else spec.values
        self.retrieval = spec.retrieval
        self._sampled: dict[str, dict[str, list[Any]]] = {}
        self._searchers: dict[str, Any] = {}

    def __call__(self, req: SchemaRequest) -> str:
        from harness.prompting import schema_omnisql, value_index

        info, entry = req.info, req.entry
        if entry is None or info.db_path is None:
            raise DataError(f"{info.db_id}: the omnisql schema needs tables.json and the database")
        key = str(info.db_path)
        if key not in self._sampled:
            self._sampled[key] = schema_omnisql.sample_values(
                info.db_path, entry["table_names_original"], self.values
            )
        relevant: dict[str, list[str]] = {}
        # OmniSQL matches values against the question as its prompt shows it: the evidence
        # (when there is any) on the line before.
        question = f"{req.evidence}\n{req.question}" if req.evidence.strip() else req.question
        if self.retrieval:
            if key not in self._searchers:
                index = value_index.cached_index(info.db_id, info.db_path)
                self._searchers[key] = value_index.ValueSearcher(index)
            relevant = value_index.question_values(self._searchers[key], question)
        return schema_omnisql.render_omnisql(entry, self._sampled[key], relevant)


class _CreateContext:
    """The example's CREATE TABLE text verbatim, else its database's, one line each."""

    per_question = True

    def __call__(self, req: SchemaRequest) -> str:
        return req.context or joined_ddl([t.ddl for t in req.info.tables])


def _renderer(spec: SchemaSpec) -> Callable[[SchemaRequest], str]:
    if spec.representation == "omnisql":
        return _OmniSQLSchema(spec)
    if spec.representation == "create_context":
        return _CreateContext()
    rows = 3 if spec.rows is None else spec.rows
    if spec.representation == "sqlite_master":
        return lambda req: render_master_text(req.info, rows)
    return lambda req: render_schema(req.info, spec.representation, rows)


class PromptBuilder:
    """Prompts per example for one run configuration and benchmark."""

    def __init__(self, cfg: RunConfig, bench: BenchmarkData) -> None:
        self.cfg = cfg
        self.bench = bench
        self.format = load_format(cfg.prompt.format)
        self.spec = resolve_spec(self.format, bench.name, cfg.prompt.schema, cfg.prompt.rows)
        self._render = _renderer(self.spec)
        self._per_question = getattr(self._render, "per_question", False)
        self._schemas: dict[tuple[str, str], SchemaInfo] = {}
        self._rendered: dict[tuple[str, str], str] = {}
        self.pool: list[fewshot.PoolItem] = []
        self.pool_tables: dict[str, dict[str, Any]] = {}
        if cfg.prompt.shots > 0:
            if not self.format.supports_shots:
                raise ConfigError(
                    f"prompt format {self.format.name!r} defines no demonstrations "
                    "([chat] assistant); use --shots 0 or another --prompt"
                )
            self._load_pool()

    def _load_pool(self) -> None:
        source = self.cfg.prompt.shots_from
        if Path(source).suffix in (".json", ".jsonl") and Path(source).is_file():
            self.pool = fewshot.load_pool_file(Path(source))
            return
        if source == self.bench.split:
            pool_bench = self.bench
        else:
            b = self.cfg.benchmark
            try:
                pool_bench = load_benchmark(
                    b.name, data_dir=b.data_dir, split=source, db_dir=b.db_dir, evidence=b.evidence
                )
            except DataError as exc:
                # The default "train" is no file name in Spider's release (train_spider.json,
                # train_others.json), and BIRD's loader has no train split.
                raise DataError(
                    f"few-shot pool --shots-from {source!r}: {exc}. Name a split this benchmark "
                    "has (Spider: train_spider; the evaluated split also works, the question "
                    "itself excluded) or a JSON/JSONL file of {question, sql}"
                ) from None
        self.pool = fewshot.pool_from_examples(pool_bench.examples)
        self.pool_tables = pool_bench.tables

    def schema_info(
        self, db_id: str, db_path: Path | None, tables: dict[str, Any], context: str = ""
    ) -> SchemaInfo:
        key = (db_id, str(db_path))
        if key not in self._schemas:
            self._schemas[key] = read_schema(db_id, db_path, tables.get(db_id), context)
        return self._schemas[key]

    def _schema_text(
        self,
        info: SchemaInfo,
        tables: dict[str, Any],
        question: str,
        evidence: str,
        context: str = "",
    ) -> str:
        req = SchemaRequest(info, tables.get(info.db_id), question, evidence, context)
        if self._per_question:
            return self._render(req)
        key = (info.db_id, str(info.db_path))
        if key not in self._rendered:
            self._rendered[key] = self._render(req)
        return self._rendered[key]

    def example_schema(self, ex: Example) -> SchemaInfo:
        return self.schema_info(
            ex.db_id, ex.db_paths[0] if ex.db_paths else None, self.bench.tables, ex.context
        )

    def prompt(self, ex: Example) -> Prompt:
        bench, use_evidence = self.bench.name, self.cfg.benchmark.evidence
        shots = []
        for item in fewshot.select_shots(
            self.pool, self.cfg.prompt.shots, self.cfg.decoding.seed, ex.id, ex.question
        ):
            schema = item.schema
            if not schema and item.db_id:
                tables = self.pool_tables or self.bench.tables
                if item.db_path is not None or item.db_id in tables:
                    info = self.schema_info(item.db_id, item.db_path, tables)
                    schema = self._schema_text(info, tables, item.question, item.evidence)
            shot = context(bench, schema, item.question, item.evidence, use_evidence)
            shots.append(self.format.shot({**shot, "sql": item.sql}))
        schema = self._schema_text(
            self.example_schema(ex), self.bench.tables, ex.question, ex.evidence, ex.context
        )
        ctx = context(bench, schema, ex.question, ex.evidence, use_evidence, shots)
        return Prompt(
            self.format.messages(ctx), self.format.text(ctx), self.format.completion_prefix
        )

    def messages(self, ex: Example) -> tuple[dict[str, str], ...]:
        return self.prompt(ex).messages


def write_prompts(cfg: RunConfig, out: Path) -> int:
    """`harness prompts`: one {"id", "messages", "text"} line per example (--limit first N)."""
    b = cfg.benchmark
    bench = load_benchmark(
        b.name, data_dir=b.data_dir, split=b.split, db_dir=b.db_dir, evidence=b.evidence
    )
    builder = PromptBuilder(cfg, bench)
    examples = bench.examples[: cfg.run.limit] if cfg.run.limit else bench.examples
    rows = []
    for ex in examples:
        p = builder.prompt(ex)
        rows.append({"id": ex.id, "messages": list(p.messages), "text": p.text})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(Path(out), rows)
    return len(rows)
