"""Fetching bytes: an HTTP download that resumes, a pinned Hugging Face file, a git commit.

An HTTP body goes to `<target>.part` and is renamed to target only when complete, so a
target file is always whole (the next run resumes a `.part` with a Range request); a git
checkout is accepted only when HEAD is the pinned commit. The archive's hash is checked
after this, by archive.check_archive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.prepare.archive import CHUNK
from harness.prepare.errors import ChecksumMismatch, DownloadFailed
from harness.prepare.manifest import Source

if TYPE_CHECKING:
    from requests import Response
    from rich.progress import Progress

# How prepare talks while it works: one line at a time, to stderr by default.
Say = Callable[[str], None]


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _progress(total: int | None, label: str) -> Progress | None:
    """A rich progress bar on a terminal, nothing otherwise (CI logs stay readable)."""
    if not sys.stderr.isatty():
        return None
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    bar.start()
    bar.add_task(label, total=total)
    return bar


def http_download(
    url: str,
    target: Path,
    expected_size: int | None = None,
    attempts: int = 4,
    timeout_s: float = 60.0,
    say: Say = to_stderr,
) -> Path:
    """Download url to target through `<target>.part`, resuming with Range after a drop.

    A server that ignores Range (answers 200 to a ranged request) gets a clean restart:
    the partial file is truncated, never appended to. The part file is renamed to
    target only when the response completed; a short body stays a `.part` for next time.
    """
    import requests
    import urllib3

    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    with requests.Session() as session:
        session.headers["User-Agent"] = "harness-prepare"
        # Byte ranges must count the file's bytes, not a compressed transfer encoding.
        session.headers["Accept-Encoding"] = "identity"
        for attempt in range(1, attempts + 1):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with session.get(url, headers=headers, stream=True, timeout=timeout_s) as resp:
                    if resp.status_code == 416 and have:
                        break  # nothing left to send: the part file is whole
                    if resp.status_code not in (200, 206):
                        raise DownloadFailed(f"{url}: HTTP {resp.status_code}")
                    if "text/html" in resp.headers.get("Content-Type", ""):
                        raise DownloadFailed(
                            f"{url}: the server sent a web page, not the archive (a quota or "
                            "sign-in page); download the file by hand and use --from DIR"
                        )
                    offset = 0
                    if resp.status_code == 206:
                        start = _range_start(resp)
                        if start is None or start > have:
                            # Bytes after a gap, or a range we cannot read: writing them
                            # anywhere would corrupt the file, so drop it and start over.
                            part.unlink(missing_ok=True)
                            last_error = f"unusable Content-Range for a request from {have}"
                            say(f"  {target.name}: {last_error}; restarting")
                            continue
                        # A range starting at or before what we hold overwrites from there.
                        offset = start
                    length = resp.headers.get("Content-Length")
                    total = offset + int(length) if length else None
                    if offset:
                        say(f"  resuming {target.name} at {offset} bytes")
                    elif have:
                        say(f"  {url} does not resume; restarting {target.name}")
                    _stream(resp, part, offset, total, target.name)
                if total is not None and part.stat().st_size < total:
                    last_error = f"connection closed at {part.stat().st_size} of {total} bytes"
                    say(f"  {target.name}: {last_error} (attempt {attempt}/{attempts})")
                    continue
                break
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                # A body cut short (ChunkedEncodingError), a reset, a timeout: try again,
                # resuming from what the part file already holds.
                last_error = f"{type(exc).__name__}: {exc}"
                say(f"  {target.name}: interrupted ({last_error}); attempt {attempt}/{attempts}")
        else:
            raise DownloadFailed(f"{url}: gave up after {attempts} attempts ({last_error})")
    size = part.stat().st_size if part.exists() else 0
    if expected_size is not None and size != expected_size:
        if size > expected_size:
            part.unlink()
        raise DownloadFailed(
            f"{url}: truncated download: {size} bytes, the manifest says {expected_size}"
            + (" (kept as .part; rerun to resume)" if size < expected_size else "")
        )
    os.replace(part, target)
    return target


def _range_start(resp: Response) -> int | None:
    content_range = resp.headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _stream(resp: Response, part: Path, offset: int, total: int | None, label: str) -> None:
    bar = _progress(total, label)
    try:
        with open(part, "r+b" if offset else "wb") as fh:
            fh.seek(offset)
            fh.truncate()
            if bar is not None:
                bar.update(bar.task_ids[0], completed=offset)
            # read1 hands over what arrived before a dropped connection raises, so the
            # part file keeps every byte received (iter_content would lose the last chunk).
            while chunk := resp.raw.read1(CHUNK):
                fh.write(chunk)
                if bar is not None:
                    bar.update(bar.task_ids[0], advance=len(chunk))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        if bar is not None:
            bar.stop()


def hf_download(source: Source, target: Path) -> Path:
    """A file from a pinned Hugging Face revision (huggingface_hub resumes and shows progress).

    $HF_ENDPOINT (a mirror) is honoured, as huggingface_hub itself does.
    """
    from huggingface_hub import hf_hub_download

    local = hf_hub_download(
        repo_id=source.repo_id,
        filename=source.filename,
        repo_type=source.repo_type,
        revision=source.revision,
        local_dir=target.parent / "hf",
        endpoint=os.environ.get("HF_ENDPOINT") or None,
    )
    os.replace(local, target)
    shutil.rmtree(target.parent / "hf", ignore_errors=True)
    return target


def git_checkout(url: str, commit: str, dest: Path, say: Say = to_stderr) -> Path:
    """Check out exactly `commit` from url into dest (without .git); the commit id is the check."""
    if shutil.which("git") is None:
        raise DownloadFailed("git is not installed; install it or use --from with the tarball")
    dest.mkdir(parents=True)

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(dest), *args], capture_output=True, text=True, check=False
        )

    git("init", "-q")
    fetched = git("fetch", "-q", "--depth", "1", url, commit)
    if fetched.returncode != 0:
        # Servers that refuse a fetch by commit id still serve their branches.
        say("  fetch by commit refused; fetching all branches")
        fetched = git("fetch", "-q", url, "+refs/heads/*:refs/remotes/origin/*")
        if fetched.returncode != 0:
            raise DownloadFailed(f"{url}: git fetch failed: {_last_line(fetched.stderr)}")
    checkout = git("checkout", "-q", commit)
    if checkout.returncode != 0:
        raise DownloadFailed(f"{url}: commit {commit} not found: {_last_line(checkout.stderr)}")
    head = git("rev-parse", "HEAD").stdout.strip()
    if head != commit:
        raise ChecksumMismatch(f"{url}: checked out {head}, the manifest pins {commit}")
    shutil.rmtree(dest / ".git")
    return dest


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
