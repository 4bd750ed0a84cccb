"""What prepare can build offline when no source has an asset (a manifest's `fallback`).

The description is recorded as the asset's source, so a summary says that the fallback,
not the published file, was used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.prepare import punkt


@dataclass(frozen=True)
class Fallback:
    source: str
    # writes the asset's files into an empty folder, returns their relative paths
    write: Callable[[Path], list[str]]


FALLBACKS: dict[str, Fallback] = {
    "minimal-punkt": Fallback(source=punkt.MINIMAL_SOURCE, write=punkt.write_minimal),
}


def is_fallback_source(fallback: str, source: str) -> bool:
    """Whether a bundle recorded as coming from `source` is the asset's offline fallback."""
    return bool(fallback) and FALLBACKS[fallback].source == source
