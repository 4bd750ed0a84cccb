"""The record a prepared folder carries: `.harness-prepared-<asset>.json`.

It is written last, after every entry is in place, so its presence means "this folder was
prepared and verified"; it keeps each file's sha256 so a later run can tell that a file
changed since. The official bridge reads punkt_tab's record to say which model it used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

from harness.io import read_json, write_json
from harness.prepare.errors import PrepareError

RECORD_PREFIX = ".harness-prepared-"


class Record(TypedDict):
    asset: str
    manifest: str
    source: str  # what the bytes came from (a fallback's description when minimal)
    archive: str | None  # the archive's file name; None for a git checkout or a tree
    archive_sha256: str  # "" when no archive was checked
    archive_pinned: bool
    commit: str
    minimal: bool  # the asset's offline fallback, not the published file
    prepared_at: str
    files: dict[str, str]  # relative path -> sha256, re-checked by every later run


def record_path(asset: str, dest: Path) -> Path:
    return dest / f"{RECORD_PREFIX}{asset}.json"


def read_record(asset: str, dest: Path) -> Record | None:
    """The record of `asset` in dest; None when there is none or it is damaged, which
    both mean "not prepared": the next run fetches again."""
    try:
        return read_json(record_path(asset, dest), PrepareError)
    except PrepareError:
        return None


def write_record(asset: str, dest: Path, record: Record) -> None:
    write_json(record_path(asset, dest), record)


def remove_record(asset: str, dest: Path) -> None:
    record_path(asset, dest).unlink(missing_ok=True)
