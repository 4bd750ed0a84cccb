"""One registry shape for every pluggable kind (commands, backends, benchmarks, judges,
prompt formats, sweep executors): a name maps to a lazy "module:attr" string, imported on
first use, so a missing optional dependency only matters to the entry that needs it.

The shape follows lm-evaluation-harness's `lm_eval/api/registry.py`: lazy targets, a
check that what was imported is the kind of thing the registry holds, and a suggestion
when a name is misspelled.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from harness.errors import ConfigError
from harness.extras import missing_extra

T = TypeVar("T")


class Registry(Generic[T]):
    """`kind` names the entries in messages ("backend", "benchmark", ...). `check` says
    whether an imported object is a valid entry (a base-class or callable check)."""

    def __init__(
        self,
        kind: str,
        entries: dict[str, str],
        check: Callable[[object], bool],
        expected: str,
        naming: Callable[[str], str] | None = None,
    ) -> None:
        self.kind = kind
        # How an entry is named in a message: "backend 'hf'" unless told (`harness score`).
        self._name = naming or (lambda name: f"{kind} {name!r}")
        self._targets = dict(entries)
        self._check = check
        self._expected = expected

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._targets))

    def names(self) -> list[str]:
        return sorted(self._targets)

    def target(self, name: str) -> str:
        """The "module:attr" string `name` maps to (raises like get() for an unknown name)."""
        try:
            return self._targets[name]
        except KeyError:
            raise ConfigError(self.unknown(name)) from None

    def unknown(self, name: str) -> str:
        """The one-line message for a name that is not registered, with a suggestion."""
        hint = did_you_mean(name, self._targets)
        return f"unknown {self.kind} {name!r}{hint} (known: {', '.join(self.names())})"

    def register(self, name: str, target: str) -> None:
        """Add an entry from outside this package: `target` is "module:attr"."""
        if target.count(":") != 1 or not all(target.split(":")):
            raise ConfigError(f"{self.kind} {name!r}: target must be 'module:attr', got {target!r}")
        self._targets[name] = target

    def get(self, name: str) -> T:
        """The entry, imported on first use. A missing optional extra is a ConfigError that
        names the extra; any other ImportError is a bug and propagates as one."""
        module_name, attr = self.target(name).split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            raise ConfigError(
                f"{self._name(name)} needs the optional package {exc.name!r}, which is not "
                f"installed: pip install 'harness[{extra}]'"
            ) from None
        obj = getattr(module, attr, None)
        if obj is None or not self._check(obj):
            raise ConfigError(
                f"{self._name(name)}: {self._targets[name]!r} is not {self._expected}"
            )
        return obj  # type: ignore[return-value]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest known name, or "" when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def subclass_of(base: type) -> Callable[[object], bool]:
    return lambda obj: isinstance(obj, type) and issubclass(obj, base)


def instance_of(base: type) -> Callable[[object], bool]:
    return lambda obj: isinstance(obj, base)
