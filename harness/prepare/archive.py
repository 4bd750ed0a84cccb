"""An archive file: what the manifest pins for it, the check before unpacking, the unpacking.

The size and sha256 are checked BEFORE anything is unpacked, so a corrupt or substituted
download never writes a file; unpacking refuses members that would land outside the folder.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.prepare.errors import ChecksumMismatch, PrepareError, UnverifiedArchive

CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    """A manifest's `[assets.X.archive]` table."""

    filename: str
    format: str
    size: int | None  # bytes; None when not known
    sha256: str  # "" = unverified
    sha256_note: str = ""

    @property
    def verified(self) -> bool:
        return bool(self.sha256)


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


def _safe_member(root: Path, name: str) -> Path | None:
    """The path a member would be written to, or None for junk; refuses escapes."""
    posix = PurePosixPath(name)
    if not posix.parts or posix.parts[0] == "__MACOSX" or posix.name == ".DS_Store":
        return None
    if posix.is_absolute() or ".." in posix.parts:
        raise PrepareError(f"archive member {name!r} would be written outside the folder")
    return root.joinpath(*posix.parts)


def _unzip(archive: Path, into: Path) -> None:
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


def _untar(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tf:
        for member in tf.getmembers():
            _safe_member(into, member.name)
        tf.extractall(into, filter="data")


UNPACKERS: dict[str, Callable[[Path, Path], None]] = {"zip": _unzip, "tar.gz": _untar}
ARCHIVE_FORMATS = tuple(UNPACKERS)


def format_of(filename: str) -> str:
    """A nested archive's format, from its name (the manifest names only the outer one's)."""
    return "zip" if filename.endswith(".zip") else "tar.gz"


def unpack(archive: Path, fmt: str, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    if fmt not in UNPACKERS:
        raise PrepareError(f"{archive}: unknown archive format {fmt!r}")
    try:
        UNPACKERS[fmt](archive, into)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise PrepareError(f"{archive}: cannot unpack: {exc}") from None
