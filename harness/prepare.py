"""`harness prepare`: fetch a data bundle or the official evaluator, verify it, put it in place.

The order of operations is what makes a prepared folder trustworthy:

1. a folder already prepared (its `.harness-prepared-<asset>.json` record is there) is
   re-verified and left alone: a second run does nothing but check;
2. the archive comes from the first source that answers (a pinned Hugging Face revision,
   the official URL, a Google Drive fallback; or `--from` a local mirror), downloaded to a
   `.part` file that an interrupted run resumes with an HTTP Range request;
3. its size and sha256 are checked BEFORE anything is unpacked;
4. it is unpacked into a staging folder next to the destination (nested archives too),
   and the layout is verified there: every db_id of every split has its database and
   every pinned sha256 matches, else the error names the file and both hashes;
5. only then are the staged entries renamed into place, and the record written last.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from harness.io import write_json
from harness.manifest import Archive, Asset, Source, load_assets
from harness.prepare_local import (
    FALLBACK_SOURCES,
    FALLBACKS,
    LocalSource,
    LocalTree,
    PrepareError,
    local_sources,
    unresolvable_host,
)

RECORD_PREFIX = ".harness-prepared-"
DOWNLOADS = ".downloads"
CHUNK = 1 << 20
GDRIVE_URL = "https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"

Say = Callable[[str], None]


class DownloadFailed(PrepareError):
    """No bytes, too few bytes, or the wrong kind of response from a source."""


class ChecksumMismatch(PrepareError):
    """A file's sha256 (or size) is not the one the manifest pins."""


class UnverifiedArchive(PrepareError):
    """The manifest pins no sha256 for this archive and --allow-unverified was not given."""


class LayoutError(PrepareError):
    """The unpacked bundle lacks a file or database its splits need."""


@dataclass
class PrepareResult:
    asset: str
    dest: Path
    action: str  # "verified" (already there) or "installed"
    source: str = ""
    archive_sha256: str = ""
    commit: str = ""
    n_files: int = 0
    companions: list[PrepareResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        what = "already prepared; verified" if self.action == "verified" else "installed"
        out = [f"{self.asset}: {what} at {self.dest} ({self.n_files} files checked)"]
        if self.source:
            out[0] += f" from {self.source}"
        for comp in self.companions:
            out.extend(comp.lines())
        return out


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- hashing


def sha256_of(path: Path) -> str:
    """Read the bytes every time (no cache): this is the check, not a fingerprint."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def check_archive(path: Path, archive: Archive, allow_unverified: bool, manifest: Path) -> str:
    """Size, then sha256, before anything is unpacked; returns the sha256."""
    size = path.stat().st_size
    if archive.size is not None and size != archive.size:
        kind = "truncated" if size < archive.size else "too large"
        raise ChecksumMismatch(
            f"{path}: {kind}: {size} bytes, the manifest says {archive.size} ({manifest})"
        )
    actual = sha256_of(path)
    if archive.verified:
        if actual != archive.sha256:
            raise ChecksumMismatch(
                f"{path}: sha256 {actual} but the manifest pins {archive.sha256} ({manifest}); "
                "the download is corrupt or not the pinned file: nothing was unpacked"
            )
    elif not allow_unverified:
        raise UnverifiedArchive(
            f"{path}: the manifest pins no sha256 for {archive.filename} ({manifest}); this "
            f"file's sha256 is {actual}. Check it and pin it there, or rerun with "
            f"--allow-unverified to unpack it unchecked. {archive.sha256_note}"
        )
    return actual


# ---------------------------------------------------------------- downloads


def _progress(total: int | None, label: str) -> Any:
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
    say: Say = _stderr,
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


def _range_start(resp: Any) -> int | None:
    content_range = resp.headers.get("Content-Range", "")  # "bytes 100-199/200"
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _stream(resp: Any, part: Path, offset: int, total: int | None, label: str) -> None:
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


def git_checkout(url: str, commit: str, dest: Path, say: Say = _stderr) -> Path:
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


# ---------------------------------------------------------------- unpacking


def _safe_member(root: Path, name: str) -> Path | None:
    """The path a member would be written to, or None for junk; refuses escapes."""
    posix = PurePosixPath(name)
    if not posix.parts or posix.parts[0] == "__MACOSX" or posix.name == ".DS_Store":
        return None
    if posix.is_absolute() or ".." in posix.parts:
        raise PrepareError(f"archive member {name!r} would be written outside the folder")
    return root.joinpath(*posix.parts)


def unpack(archive: Path, fmt: str, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    try:
        if fmt == "zip":
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    target = _safe_member(into, info.filename)
                    if target is None:
                        continue
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
        elif fmt == "tar.gz":
            with tarfile.open(archive, "r:gz") as tf:
                for member in tf.getmembers():
                    _safe_member(into, member.name)
                tf.extractall(into, filter="data")
        else:
            raise PrepareError(f"{archive}: unknown archive format {fmt!r}")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise PrepareError(f"{archive}: cannot unpack: {exc}") from None


def find_root(tree: Path, marker: str) -> Path:
    """The shallowest folder R in tree with R/marker present (archives wrap their content
    in one or two folders of their own)."""
    if not marker:
        return tree
    candidates = sorted(
        (p for p in tree.rglob(PurePosixPath(marker).name) if p.as_posix().endswith(marker)),
        key=lambda p: len(p.parts),
    )
    for hit in candidates:
        root = Path(str(hit)[: -len(marker)].rstrip("/"))
        if (root / marker).exists():
            return root
    raise LayoutError(f"the unpacked archive has no {marker!r}: not the expected bundle")


# ---------------------------------------------------------------- layout


def _split_db_ids(path: Path) -> set[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"{path}: split file missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise LayoutError(f"{path}: expected a JSON list of examples")
    ids = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "db_id" not in item:
            raise LayoutError(f"{path}: entry {i} has no db_id")
        ids.add(str(item["db_id"]))
    return ids


def verify_layout(
    asset: Asset, root: Path, recorded: dict[str, str] | None = None
) -> dict[str, str]:
    """Check root against the manifest (and the hashes recorded at first unpack).

    Returns relative path -> sha256 of every checked file. Raises on the first kind of
    problem found, naming each bad file and both hashes.
    """
    recorded = recorded or {}
    layout = asset.layout
    hashes: dict[str, str] = {}
    missing: list[str] = []
    bad: list[str] = []

    def check(rel: str, pinned: str, why: str) -> None:
        path = root / rel
        if not path.is_file():
            missing.append(f"{rel} ({why})")
            return
        actual = sha256_of(path)
        hashes[rel] = actual
        expected = pinned or recorded.get(rel, "")
        if expected and actual != expected:
            origin = f"the manifest pins ({asset.manifest})" if pinned else "recorded at unpack"
            bad.append(f"{path}: sha256 {actual}, expected {expected} ({origin})")

    for rel, pinned in layout.files.items():
        check(rel, pinned, "required file")

    db_ids: dict[str, str] = {}
    for split, files in layout.splits.items():
        for rel in files:
            for db in sorted(_split_db_ids(root / rel)):
                db_ids.setdefault(db, f"split {split}")
    for db in (*layout.databases, *layout.expect_db_ids):
        db_ids.setdefault(db, "listed in the manifest")
    for db_id, why in sorted(db_ids.items()):
        if layout.variants:
            folder = root / layout.db_dir / db_id
            variants = sorted(p for p in folder.glob("*.sqlite") if p.is_file())
            if not variants:
                missing.append(f"{layout.db_dir}/{db_id}/*.sqlite (database of {why})")
            for path in variants:
                check(path.relative_to(root).as_posix(), "", f"database of {why}")
        else:
            rel = (PurePosixPath(layout.db_dir) / layout.db_file.format(db_id=db_id)).as_posix()
            check(rel, layout.databases.get(db_id, ""), f"database of {why}")

    if bad:
        raise ChecksumMismatch(_listing("sha256 mismatch", bad))
    if missing:
        raise LayoutError(_listing(f"{root}: missing", missing))
    return hashes


def _listing(head: str, items: list[str], limit: int = 5) -> str:
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return f"{head}: " + "; ".join(items[:limit]) + more


# ---------------------------------------------------------------- placing


def record_path(asset: Asset, dest: Path) -> Path:
    return dest / f"{RECORD_PREFIX}{asset.name}.json"


def read_record(asset: Asset, dest: Path) -> dict[str, Any] | None:
    path = record_path(asset, dest)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError:
        return None  # a damaged record means "not prepared": fetch again


def place(staged_root: Path, dest: Path) -> None:
    """Rename each staged top-level entry into dest (same filesystem, so each is atomic).

    An entry already there is renamed aside first and removed only after the new one is
    in place, so a crash leaves either the old or the new entry, never half of one.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(staged_root.iterdir()):
        target = dest / entry.name
        old = None
        if target.exists() or target.is_symlink():
            old = dest / f".old-{entry.name}-{os.getpid()}"
            os.replace(target, old)
        os.replace(entry, target)
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            else:
                old.unlink()


# ---------------------------------------------------------------- sources


@dataclass
class Fetched:
    """What a source produced: an archive file, or an already unpacked tree (git)."""

    describe: str
    archive: Path | None = None
    tree: Path | None = None
    keep_archive: bool = False  # a file the user handed us with --from: never delete it


def _fetch_one(
    asset: Asset, source: LocalSource, downloads: Path, staging: Path, say: Say
) -> Fetched:
    if isinstance(source, LocalTree):
        tree = staging / "local"
        shutil.copytree(source.path, tree, ignore=shutil.ignore_patterns(".staging-*"))
        return Fetched(describe=f"local copy {source.path}", tree=tree)
    if isinstance(source, Path):
        return Fetched(describe=str(source), archive=source, keep_archive=True)
    if source.kind == "git":
        tree = git_checkout(source.url, asset.commit, staging / "git", say)
        return Fetched(describe=f"git {source.url}@{asset.commit}", tree=tree)
    if asset.archive is None:
        raise PrepareError(f"{asset.name}: source {source.kind} needs an [archive] table")
    target = downloads / asset.archive.filename
    if target.is_file():
        say(f"  reusing the completed download {target}")
        return Fetched(describe=f"{source.describe()} (cached)", archive=target)
    if source.kind == "hf":
        return Fetched(describe=source.describe(), archive=hf_download(source, target))
    url = GDRIVE_URL.format(file_id=source.file_id) if source.kind == "gdrive" else source.url
    say(f"  downloading {url}")
    return Fetched(
        describe=source.describe(),
        archive=http_download(url, target, asset.archive.size, say=say),
    )


def _fetch(
    asset: Asset,
    sources: list[LocalSource],
    downloads: Path,
    staging: Path,
    allow_unverified: bool,
    say: Say,
) -> tuple[Fetched, str]:
    """Try each source in order; the first whose bytes verify wins. A source whose host
    does not resolve is skipped silently (offline, each would only print retries)."""
    if not sources:
        raise PrepareError(f"{asset.name}: no local copy among --from")
    errors: list[str] = []
    unresolved: list[str] = []
    for position, source in enumerate(sources, start=1):
        more = position < len(sources)
        if host := unresolvable_host(source):
            unresolved.append(host)
            continue
        label = source.describe() if isinstance(source, Source) else str(source)
        say(f"{asset.name}: trying {label}")
        try:
            fetched = _fetch_one(asset, source, downloads, staging, say)
            digest = ""
            if fetched.archive is not None:
                assert asset.archive is not None
                try:
                    digest = check_archive(
                        fetched.archive, asset.archive, allow_unverified, asset.manifest
                    )
                except ChecksumMismatch:
                    if not fetched.keep_archive:
                        fetched.archive.unlink()  # a bad file must not be "reused" next run
                    raise
            return fetched, digest
        except UnverifiedArchive:
            raise  # the bytes are fine; only the user can decide to trust them
        except (PrepareError, OSError) as exc:
            errors.append(f"{label}: {exc}")
            if more:
                say(f"  failed: {exc}; trying the next source")
            shutil.rmtree(staging / "git", ignore_errors=True)
        except Exception as exc:  # huggingface_hub / requests errors differ by version
            errors.append(f"{label}: {type(exc).__name__}: {exc}")
            if more:
                say(f"  failed: {type(exc).__name__}: {exc}; trying the next source")
    if unresolved and not errors:
        raise PrepareError(
            f"{asset.name}: no network: cannot resolve {', '.join(dict.fromkeys(unresolved))}; "
            "fetch it on a connected machine and pass --from FILE_OR_DIR"
        )
    errors += [f"cannot resolve {host}" for host in dict.fromkeys(unresolved)]
    if len(errors) == 1:
        raise PrepareError(f"{asset.name}: {errors[0]}")
    raise PrepareError(f"{asset.name}: every source failed: " + " | ".join(errors))


# ---------------------------------------------------------------- the entry point


def prepare(
    name: str,
    data_dir: Path | None = None,
    from_: str | tuple[str, ...] | list[str] | None = None,
    allow_unverified: bool = False,
    force: bool = False,
    manifests: list[Path] | None = None,
    say: Say = _stderr,
) -> PrepareResult:
    """Prepare asset `name` (and its companions) into data_dir or its default folder.

    `from_`: local copies or mirrors (see harness.prepare_local); with any given, nothing
    is fetched from the network except what a companion has no copy or fallback for."""
    copies = (from_,) if isinstance(from_, str) else tuple(from_ or ())
    assets = load_assets(manifests)
    if name not in assets:
        raise PrepareError(f"unknown asset {name!r}; known: {', '.join(sorted(assets))}")
    asset = assets[name]
    dest = asset.dest(data_dir)
    sources = local_sources(asset, copies, companion=False) if copies else list(asset.sources)
    result = _prepare_asset(asset, dest, sources, allow_unverified, force, say)
    for comp in asset.companions:
        part = assets[comp.asset]
        comp_dest = dest / comp.path
        local = local_sources(part, copies, companion=True) if copies else []
        comp_sources = local or ([] if copies and part.fallback else list(part.sources))
        # A copy handed over now replaces a fallback built before.
        replace = bool(local) and bool((read_record(part, comp_dest) or {}).get("minimal"))
        result.companions.append(
            _prepare_asset(part, comp_dest, comp_sources, allow_unverified, force or replace, say)
        )
    return result


def _record_matches_manifest(asset: Asset, record: dict[str, Any]) -> bool:
    if asset.kind == "git" and record.get("commit") != asset.commit:
        return False
    pinned = asset.archive.sha256 if asset.archive else ""
    got = record.get("archive_sha256", "")
    return not (pinned and got and got != pinned)


def _prepare_asset(
    asset: Asset,
    dest: Path,
    sources: list[LocalSource],
    allow_unverified: bool,
    force: bool,
    say: Say,
) -> PrepareResult:
    record = None if force else read_record(asset, dest)
    if record is not None and _record_matches_manifest(asset, record):
        try:
            hashes = verify_layout(asset, dest, record.get("files", {}))
        except PrepareError as exc:
            raise type(exc)(
                f"{exc} -- {dest} was prepared before and has changed since; "
                f"`harness prepare {asset.name} --force` fetches it again"
            ) from None
        return PrepareResult(
            asset.name,
            dest,
            "verified",
            source=str(record.get("source", "")) if record.get("minimal") else "",
            archive_sha256=record.get("archive_sha256", ""),
            commit=record.get("commit", ""),
            n_files=len(hashes),
        )
    if record is not None:
        say(f"{asset.name}: the manifest changed since {dest} was prepared; fetching again")

    dest.mkdir(parents=True, exist_ok=True)
    downloads = dest / DOWNLOADS
    staging = dest / f".staging-{asset.name}"
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    staging.mkdir(parents=True)
    try:
        fetched, digest = _fetch_or_fallback(
            asset, sources, downloads, staging, allow_unverified, say
        )
        if fetched.tree is not None:
            root = find_root(fetched.tree, asset.layout.root_marker)
        else:
            assert fetched.archive is not None and asset.archive is not None
            checked = "verified" if asset.archive.verified else "NOT pinned (--allow-unverified)"
            say(f"{asset.name}: sha256 {digest} {checked}; unpacking")
            unpack(fetched.archive, asset.archive.format, staging / "unpacked")
            root = find_root(staging / "unpacked", asset.layout.root_marker)
        for rel in asset.layout.nested:
            inner = root / rel
            if not inner.is_file():
                raise LayoutError(f"{asset.name}: nested archive {rel} not in the bundle")
            unpack(inner, "zip" if rel.endswith(".zip") else "tar.gz", root)
            inner.unlink()
        hashes = verify_layout(asset, root)
        # Until the new record is written, no record at all: a run killed while entries are
        # being swapped must not leave an old record vouching for a half-replaced folder.
        record_path(asset, dest).unlink(missing_ok=True)
        place(root, dest)
        write_json(
            record_path(asset, dest),
            {
                "asset": asset.name,
                "manifest": str(asset.manifest),
                "source": fetched.describe,
                "archive": asset.archive.filename if fetched.archive and asset.archive else None,
                "archive_sha256": digest,
                "archive_pinned": bool(
                    fetched.archive and asset.archive and asset.archive.verified
                ),
                "commit": asset.commit,
                "minimal": fetched.describe == FALLBACK_SOURCES.get(asset.fallback),
                "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": hashes,
            },
        )
        if fetched.archive is not None and not fetched.keep_archive:
            fetched.archive.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_if_empty(downloads)
    return PrepareResult(
        asset.name,
        dest,
        "installed",
        source=fetched.describe,
        archive_sha256=digest,
        commit=asset.commit,
        n_files=len(hashes),
    )


def _fetch_or_fallback(
    asset: Asset,
    sources: list[LocalSource],
    downloads: Path,
    staging: Path,
    allow_unverified: bool,
    say: Say,
) -> tuple[Fetched, str]:
    """The first source that verifies; when none does and the asset has an offline
    fallback, the fallback built in staging (said in one line, recorded as the source)."""
    try:
        return _fetch(asset, sources, downloads, staging, allow_unverified, say)
    except PrepareError as exc:
        if not asset.fallback:
            raise
        tree = staging / "fallback"
        FALLBACKS[asset.fallback](tree)
        say(f"{exc}; using the {FALLBACK_SOURCES[asset.fallback]}")
        return Fetched(describe=FALLBACK_SOURCES[asset.fallback], tree=tree), ""


def _remove_if_empty(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()  # only when empty: a kept .part must survive for the next run


def describe_assets(manifests: list[Path] | None = None) -> list[str]:
    """One block per asset for `harness prepare --list`: where it lands, its sources, and
    whether its archive hash is pinned."""
    out = []
    for asset in load_assets(manifests).values():
        pinned = "git commit " + asset.commit if asset.kind == "git" else ""
        if asset.archive is not None:
            state = asset.archive.sha256 or "UNVERIFIED"
            pinned = (pinned + "; " if pinned else "") + f"{asset.archive.filename} sha256 {state}"
        out.append(f"{asset.name}: {asset.description}")
        out.append(f"  dest: {asset.dest()}   [{pinned}]")
        for src in asset.sources:
            out.append(f"  source: {src.describe()}")
    return out
