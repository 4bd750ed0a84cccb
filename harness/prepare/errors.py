"""What can go wrong while preparing a bundle, one type per kind of failure.

Each is a DataError, so the CLI prints it as one line; the types let `fetch` tell a source
that failed (try the next) from bytes that only the user can decide to trust.
"""

from __future__ import annotations

from harness.errors import DataError


class PrepareError(DataError):
    """A bundle could not be fetched, verified or placed."""


class NoLocalCopy(PrepareError):
    """None of the --from paths or URLs holds this asset."""


class DownloadFailed(PrepareError):
    """No bytes, too few bytes, or the wrong kind of response from a source."""


class ChecksumMismatch(PrepareError):
    """A file's sha256 (or size) is not the one the manifest pins."""


class UnverifiedArchive(PrepareError):
    """The manifest pins no sha256 for this archive and --allow-unverified was not given."""


class LayoutError(PrepareError):
    """The unpacked bundle lacks a file or database its splits need."""
