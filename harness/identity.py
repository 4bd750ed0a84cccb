"""Run identity: a hash of what defines a measurement, kept apart from what does not.

Two runs with the same identity measured the same thing (same questions and databases,
same scoring rules, same model, prompt and decoding); they may differ only in when they
ran, how long they took, and on which machine. The harness commit and the dirty flag are
provenance, not identity: they say whether the number can be cited, not what it measures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

IDENTITY_VERSION = 1

# Field groups, by the first component of the dotted name.
# "Evaluation" groups must agree for two numbers to be comparable at all; "subject" groups
# are what a comparison is usually about (a new adapter, another prompt, another model).
EVALUATION_GROUPS = ("benchmark", "data", "scorer", "decoding")
SUBJECT_GROUPS = ("model", "prompt")

_MODEL_KEYS = ("spec", "backend", "revision", "route_sha256", "route_adapters")
_PROMPT_KEYS = ("schema", "shots", "template_sha256")
# Recorded since prompt formats exist: the format by name and file content, and the schema
# knobs that change its text. Records from before (no prompt.format) leave them all out,
# so their identity stays what it was.
_PROMPT_OPTIONAL_KEYS = ("format", "format_sha256", "rows", "values", "retrieval")


@dataclass(frozen=True)
class Identity:
    """`fields` maps dotted names (e.g. "scorer.keep_distinct") to JSON values."""

    sha256: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"version": IDENTITY_VERSION, "sha256": self.sha256, "fields": self.fields}


@dataclass(frozen=True)
class Provenance:
    """What does not change the measurement but decides whether it can be cited."""

    harness_version: str | None
    harness_commit: str | None
    dirty: bool | None
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def not_citable_reasons(self) -> list[str]:
        reasons = []
        if self.dirty is None or self.dirty:
            reasons.append("dirty work tree" if self.dirty else "work-tree state unknown")
        if not self.harness_commit:
            reasons.append("harness commit unknown")
        for reason, count in sorted(self.excluded.items()):
            if count:
                reasons.append(f"{count} excluded ({reason.replace('_', ' ')})")
        return reasons

    @property
    def citable(self) -> bool:
        return not self.not_citable_reasons

    def as_dict(self) -> dict[str, Any]:
        return {
            "harness_version": self.harness_version,
            "harness_commit": self.harness_commit,
            "dirty": self.dirty,
            "citable": self.citable,
            "not_citable_reasons": self.not_citable_reasons,
        }


def canonical_sha256(value: Any) -> str:
    """sha256 of the canonical JSON text of a value (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_files_sha256(data: Mapping[str, Any]) -> str | None:
    """Hash of the question-defining files only (not the databases)."""
    files = data.get("files")
    return canonical_sha256(files) if files else None


def _adapters(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    # The adapter path is where the file lives, not what it is: only content and weight count.
    out = []
    for adapter in model.get("adapters") or []:
        out.append({"sha256": adapter.get("sha256"), "weight": adapter.get("weight", 1.0)})
    return out


def identity_fields(summary: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The flat dotted-name mapping hashed into the identity (absent values are None)."""
    scorer = summary.get("scorer") or {}
    data = summary.get("data") or {}
    model = config.get("model") or {}
    prompt = config.get("prompt") or {}
    decoding = config.get("decoding") or {}
    fields: dict[str, Any] = {
        "benchmark.name": summary.get("benchmark"),
        "benchmark.split": summary.get("split"),
        "benchmark.test_suite": bool(summary.get("test_suite", False)),
        # BIRD with or without evidence hints are different measurements.
        "benchmark.evidence": summary.get("evidence"),
        "data.sha256": data.get("sha256"),
        # The scorer's own version when it records one; otherwise the package version, the
        # conservative choice (a release might change scoring).
        "scorer.version": scorer.get("version", summary.get("harness_version")),
    }
    # Every setting the scorer records defines the measurement (a flag added later is
    # counted until someone argues otherwise); name and semantics are always present.
    for key in sorted({"name", "semantics"} | set(scorer) - {"version"}):
        fields[f"scorer.{key}"] = scorer.get(key)
    for key in _MODEL_KEYS:
        fields[f"model.{key}"] = model.get(key)
    fields["model.adapters"] = _adapters(model)
    for key in _PROMPT_KEYS:
        fields[f"prompt.{key}"] = prompt.get(key)
    if prompt.get("format") is not None:
        for key in _PROMPT_OPTIONAL_KEYS:
            if prompt.get(key) is not None:
                fields[f"prompt.{key}"] = prompt[key]
    for key in sorted(decoding):
        fields[f"decoding.{key}"] = decoding[key]
    return fields


def run_identity(summary: Mapping[str, Any], config: Mapping[str, Any]) -> Identity:
    fields = identity_fields(summary, config)
    return Identity(canonical_sha256({"v": IDENTITY_VERSION, "fields": fields}), fields)


def run_provenance(summary: Mapping[str, Any]) -> Provenance:
    excluded = summary.get("excluded") or {}
    reasons = {str(k): int(v) for k, v in (excluded.get("reasons") or {}).items() if v}
    count = int(excluded.get("count") or 0)
    if not count and summary.get("complete") is False:
        count = max(1, int(summary.get("n_total") or 0) - int(summary.get("n") or 0))
    if count and not reasons:
        reasons = {"unspecified": count}
    return Provenance(
        harness_version=summary.get("harness_version"),
        harness_commit=summary.get("harness_commit"),
        dirty=summary.get("dirty"),
        excluded=reasons,
    )


def differing_fields(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Dotted names whose values differ (a name missing on one side counts as None)."""
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def field_group(name: str) -> str:
    return name.split(".", 1)[0]


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """True when `name` equals a pattern or lies under it ("model" covers "model.spec")."""
    return any(name == p or name.startswith(p + ".") for p in patterns)
