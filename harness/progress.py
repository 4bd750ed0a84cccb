"""rich progress bars with rate and ETA for every long loop (on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")


def make_progress(enabled: bool, unit: str = "rows") -> Progress:
    # rich is imported here, not at module level: a run with no terminal shows no bar and
    # should not pay for loading it.
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def __init__(self, unit: str) -> None:
            super().__init__()
            self.unit = unit

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            shown = f"{speed:.2f}" if speed else "--"
            return Text(f"{shown} {self.unit}/s", style="progress.data.speed")

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def progress_iter(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """`items`, with a bar while they arrive; silent when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    with make_progress(True, unit="examples") as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            bar.advance(task)
            yield item
