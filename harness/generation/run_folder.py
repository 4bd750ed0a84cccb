"""A run folder's files: predictions.jsonl (appended a whole line at a time, a torn last
line repaired), config.toml (read back for the resume check), and the lock that keeps a
second writer out."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from harness.errors import HarnessError, PredictionsError
from harness.io import dumps, jsonl_objects, read_toml
from harness.records import Prediction

PREDICTIONS = "predictions.jsonl"
CONFIG = "config.toml"
LOCK = ".lock"


class RunDirError(HarnessError):
    """RUN_DIR belongs to another configuration, or another process is writing it."""


def read_predictions_file(path: Path, repair: bool = True) -> list[Prediction]:
    """Rows of a predictions.jsonl. A last line without its newline is what a kill in the
    middle of a write leaves: it is cut off (when `repair`) and its example redone."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end < len(data) and repair:
        with open(path, "r+b") as fh:
            fh.truncate(end)
    rows: list[Prediction] = []
    lines = data[:end].decode("utf-8").split("\n")[:-1]
    for lineno, row in jsonl_objects(lines, path, PredictionsError):
        if "id" not in row:
            raise PredictionsError(f"{path}:{lineno}: expected an object with an 'id'")
        rows.append(cast(Prediction, row))
    return rows


class Appender:
    """Appends whole lines with one unbuffered write each (O_APPEND): every row that was
    written is on disk for the next reader, whatever happens to this process afterwards."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, row: Prediction) -> None:
        data = (dumps(row) + "\n").encode("utf-8")
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        os.close(self.fd)


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirError(
                f"{run_dir}: another `harness generate` is writing this run"
            ) from None
        yield
    finally:
        os.close(fd)


def read_run_config(path: Path) -> dict[str, Any] | None:
    """A run folder's config.toml, None when there is none yet."""
    if not path.is_file():
        return None
    try:
        return read_toml(path, RunDirError)
    except RunDirError as exc:
        raise RunDirError(f"{exc}; delete it or use another --out") from None
