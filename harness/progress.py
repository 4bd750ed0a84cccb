"""rich progress bars with rate and ETA for every long loop (on stderr)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

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

T = TypeVar("T")


class RateColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = f"{speed:.2f}" if speed else "--"
        return Text(f"{shown} {self.unit}/s", style="progress.data.speed")


def make_progress(enabled: bool, unit: str = "rows") -> Progress:
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
    with make_progress(sys.stderr.isatty(), unit="examples") as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            bar.advance(task)
            yield item
