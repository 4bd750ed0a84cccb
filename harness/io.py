"""Files that are never half-written: whole files by atomic rename, JSONL appended and flushed."""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.errors import HarnessError


def jsonl_objects(
    lines: Sequence[str],
    path: Path | str,
    error: type[HarnessError],
    skip_torn_last: bool = False,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank JSONL line. A line that is not a JSON
    object raises `error` naming path:line; with `skip_torn_last`, an unparseable last
    line (what a kill in the middle of a write leaves) is skipped instead."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            if skip_torn_last and lineno == len(lines):
                continue
            raise error(f"{path}:{lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise error(f"{path}:{lineno}: expected a JSON object")
        yield lineno, obj


def read_json(
    path: Path | str,
    error: type[HarnessError],
    missing: str = "not found",
    expect: type = dict,
) -> Any:
    """The JSON value in `path`; a missing file, invalid JSON or a value that is not an
    `expect` raises `error` naming the file (and line). `missing` says how to get it."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    if expect is not object and not isinstance(value, expect):
        raise error(f"{path}: expected a JSON {'object' if expect is dict else expect.__name__}")
    return value


def read_toml(
    path: Path | str, error: type[HarnessError], missing: str = "not found"
) -> dict[str, Any]:
    """The TOML document in `path`; a missing or invalid file raises `error` naming it."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None


def cache_root() -> Path:
    """Where harness keeps caches: $HARNESS_CACHE_DIR, else $XDG_CACHE_HOME/harness, else
    ~/.cache/harness."""
    if os.environ.get("HARNESS_CACHE_DIR"):
        return Path(os.environ["HARNESS_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "harness"


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=_default)


def sync_file(path: Path | str) -> None:
    """Make `path`'s content durable (before a rename publishes it, say)."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


@contextmanager
def atomic_path(target: Path, suffix: str = ".partial", durable: bool = True) -> Iterator[Path]:
    """A fresh temporary path beside `target` for the block to build a file at (a
    database, say): renamed onto `target` once the block succeeds (with the mode any new
    file would get; synced first unless not `durable`), removed if it fails, so `target`
    is never a half file. The temporary name never contains `target`'s suffix (a Spider
    database folder takes every file whose name holds ".sqlite" for a database)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            sync_file(tmp)
        # mkstemp creates 0600; a result file gets the mode any new file would get.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: str | bytes) -> None:
    """`data` (text as UTF-8, or bytes such as a PNG) at `path`, whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import, while no other thread of ours can be creating files.
_UMASK = _read_umask()


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, default=_default) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    write_atomic(path, "".join(dumps(r) + "\n" for r in rows))
