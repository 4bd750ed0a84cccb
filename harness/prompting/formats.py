"""Prompt formats: what a model is shown, as data (a TOML file with Jinja2 templates).

A format file holds

    name, description, source         what it is and where its wording comes from
    [schema]                          representation (default keys; schema.REPRESENTATIONS), rows,
                                      values; a [schema.<benchmark>] table overrides them
    [chat]  system, user, assistant   chat messages: an optional system message, one user
                                      message per question, `assistant` for demonstrations
    [blocks] NAME = template           shared pieces, used as {% include 'NAME' %}
    [plain] text, completion_prefix   the whole text a base model continues, and what that
                                      text already ends with that belongs to the answer
                                      (e.g. "SELECT "): it is put back before extraction

Templates see: bench, schema, question, evidence, use_evidence (BIRD hints asked for),
shots (each with schema, question, evidence, sql, user, assistant: the rendered turns);
the plain template also sees `system` ([plain] system) and `user` (the final user turn).
Values are passed as the benchmark holds them (templates strip with `| trim` where the
wording does). The format's identity is the sha256 of the file's bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError
from harness.registry import did_you_mean

if TYPE_CHECKING:  # imported where a format is parsed: listing options needs no Jinja2
    import jinja2

DEFAULT_FORMAT = "harness"
_SUFFIX = ".toml"


def _environment(blocks: Mapping[str, str]) -> jinja2.Environment:
    import jinja2

    # Blocks are named templates a format shares between its chat and plain text.
    return jinja2.Environment(
        loader=jinja2.DictLoader(dict(blocks)),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )


@dataclass(frozen=True)
class SchemaSpec:
    """How the schema is rendered: a representation and its knobs (None: its default)."""

    representation: str
    rows: int | None = None  # sample rows per table (rows, sqlite_master)
    values: int | None = None  # sample values per column (omnisql)
    retrieval: bool = False  # omnisql: add values retrieved for the question (BM25)


@dataclass(frozen=True)
class PromptFormat:
    name: str
    sha256: str
    description: str
    source: str
    schema: SchemaSpec
    schema_by_bench: Mapping[str, SchemaSpec]
    user: jinja2.Template
    plain: jinja2.Template
    system: str = ""
    plain_system: str = ""
    assistant: jinja2.Template | None = None
    completion_prefix: str = ""
    origin: str = ""  # where it was read from (a shipped name or a path)

    def schema_for(self, bench: str) -> SchemaSpec:
        return self.schema_by_bench.get(bench, self.schema)

    @property
    def supports_shots(self) -> bool:
        return self.assistant is not None

    def messages(self, context: Mapping[str, Any]) -> tuple[dict[str, str], ...]:
        """Chat messages: system (when the format has one), demonstrations, the question."""
        out: list[dict[str, str]] = []
        if self.system:
            out.append({"role": "system", "content": self.system})
        for shot in context["shots"]:
            out.append({"role": "user", "content": shot["user"]})
            out.append({"role": "assistant", "content": shot["assistant"]})
        out.append({"role": "user", "content": self.user.render(context)})
        return tuple(out)

    def text(self, context: Mapping[str, Any]) -> str:
        """The base-model text; it ends with `completion_prefix`."""
        user = self.user.render(context)
        return self.plain.render({**context, "system": self.plain_system, "user": user})

    def shot(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """A demonstration's context with its rendered user and assistant turns."""
        if self.assistant is None:
            raise ConfigError(
                f"prompt format {self.name!r} has no demonstrations ([chat] assistant)"
            )
        return {
            **context,
            "user": self.user.render({**context, "shots": ()}),
            "assistant": self.assistant.render(context),
        }


def shipped_formats() -> list[str]:
    folder = resources.files("harness.prompting") / "formats"
    return sorted(
        p.name.removesuffix(_SUFFIX) for p in folder.iterdir() if p.name.endswith(_SUFFIX)
    )


def _spec(table: Mapping[str, Any], base: SchemaSpec | None, where: str) -> SchemaSpec:
    from harness.prompting.schema import REPRESENTATIONS

    known = {"representation", "rows", "values", "retrieval"}
    unknown = sorted(k for k in table if k not in known and not isinstance(table[k], dict))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in [schema]")
    rep = table.get("representation", base.representation if base else "keys")
    if rep not in REPRESENTATIONS:
        raise ConfigError(
            f"{where}: schema.representation must be one of "
            f"{', '.join(REPRESENTATIONS)}, got {rep!r}"
        )
    spec = SchemaSpec(
        representation=rep,
        rows=table.get("rows", base.rows if base else None),
        values=table.get("values", base.values if base else None),
        retrieval=bool(table.get("retrieval", base.retrieval if base else False)),
    )
    for key in ("rows", "values"):
        value = getattr(spec, key)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ConfigError(f"{where}: schema.{key} must be an integer >= 0, got {value!r}")
    return spec


def _template(env: jinja2.Environment, text: Any, where: str, key: str) -> jinja2.Template:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: {key} must be a string (a Jinja2 template)")
    import jinja2

    try:
        return env.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"{where}: {key}, template line {exc.lineno}: {exc.message}") from None


def parse_format(data: bytes, where: str, origin: str = "") -> PromptFormat:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{where}: needs a top-level name = "..."')
    schema_table = doc.get("schema") or {}
    schema = _spec(schema_table, None, where)
    by_bench = {
        bench: _spec(table, schema, f"{where} [schema.{bench}]")
        for bench, table in schema_table.items()
        if isinstance(table, dict)
    }
    chat = doc.get("chat") or {}
    plain = doc.get("plain") or {}
    if "user" not in chat or "text" not in plain:
        raise ConfigError(f"{where}: needs [chat] user and [plain] text templates")
    blocks = doc.get("blocks") or {}
    if not all(isinstance(v, str) for v in blocks.values()):
        raise ConfigError(f"{where}: [blocks] values must be strings (Jinja2 templates)")
    env = _environment(blocks)
    for block in blocks:
        _template(env, blocks[block], where, f"blocks.{block}")
    return PromptFormat(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        description=str(doc.get("description", "")),
        source=str(doc.get("source", "")),
        schema=schema,
        schema_by_bench=by_bench,
        system=str(chat.get("system", "")),
        user=_template(env, chat["user"], where, "chat.user"),
        assistant=_template(env, chat["assistant"], where, "chat.assistant")
        if "assistant" in chat
        else None,
        plain_system=str(plain.get("system", "")),
        plain=_template(env, plain["text"], where, "plain.text"),
        completion_prefix=str(plain.get("completion_prefix", "")),
        origin=origin or where,
    )


@lru_cache(maxsize=32)
def _shipped(name: str) -> PromptFormat:
    path = resources.files("harness.prompting") / "formats" / f"{name}{_SUFFIX}"
    return parse_format(path.read_bytes(), f"prompt format {name!r}", origin=name)


def load_format(name_or_path: str) -> PromptFormat:
    """A shipped format by name (`harness prompts --list`), or a format file by path."""
    if name_or_path in shipped_formats():
        return _shipped(name_or_path)
    path = Path(name_or_path)
    if path.suffix == _SUFFIX or path.exists():
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"{path}: prompt format file not found") from None
        return parse_format(data, str(path), origin=str(path))
    shipped = shipped_formats()
    raise ConfigError(
        f"unknown prompt format {name_or_path!r}{did_you_mean(name_or_path, shipped)} "
        f"(shipped: {', '.join(shipped)}; or give the path of a .toml format file)"
    )


def resolve_spec(fmt: PromptFormat, bench: str, schema: str | None, rows: int | None) -> SchemaSpec:
    """The format's schema for this benchmark, with the run's --schema / --rows on top."""
    spec = fmt.schema_for(bench)
    if schema and schema != spec.representation:
        spec = SchemaSpec(schema)
    if rows is not None:
        spec = dataclasses.replace(spec, rows=rows)
    return spec


def context(
    bench: str,
    schema: str,
    question: str,
    evidence: str = "",
    use_evidence: bool = True,
    shots: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "bench": bench,
        "schema": schema,
        "question": question,
        "evidence": evidence,
        "use_evidence": use_evidence,
        "shots": list(shots),
    }
