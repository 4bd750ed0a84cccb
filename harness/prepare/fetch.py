"""Getting an asset's bytes: each source in order until one verifies, else its fallback.

A source that fails (no such file, a bad hash, a dropped connection) passes to the next
one; an archive with no pinned hash stops the run, since only the user can decide to trust
it; a source whose host does not resolve is skipped without a retry.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from harness.prepare.archive import check_archive
from harness.prepare.download import Say, git_checkout, hf_download, http_download
from harness.prepare.errors import ChecksumMismatch, PrepareError, UnverifiedArchive
from harness.prepare.fallbacks import FALLBACKS
from harness.prepare.local import LocalSource, LocalTree, unresolvable_host
from harness.prepare.manifest import Asset, Source


@dataclass
class Fetched:
    """What a source produced: an archive file, or an already unpacked tree (git)."""

    describe: str
    archive: Path | None = None
    tree: Path | None = None
    keep_archive: bool = False  # a file the user handed us with --from: never delete it


@dataclass(frozen=True)
class Workspace:
    """Where one asset's fetch writes, and what it may accept."""

    downloads: Path  # completed and partial downloads; a `.part` survives for the next run
    staging: Path  # emptied before and after the run; trees are built here
    allow_unverified: bool
    say: Say


def _fetch_one(asset: Asset, source: LocalSource, work: Workspace) -> Fetched:
    if isinstance(source, LocalTree):
        tree = work.staging / "local"
        shutil.copytree(source.path, tree, ignore=shutil.ignore_patterns(".staging-*"))
        return Fetched(describe=f"local copy {source.path}", tree=tree)
    if isinstance(source, Path):
        return Fetched(describe=str(source), archive=source, keep_archive=True)
    if source.kind == "git":
        tree = git_checkout(source.url, asset.commit, work.staging / "git", work.say)
        return Fetched(describe=f"git {source.url}@{asset.commit}", tree=tree)
    if asset.archive is None:
        raise PrepareError(f"{asset.name}: source {source.kind} needs an [archive] table")
    target = work.downloads / asset.archive.filename
    if target.is_file():
        work.say(f"  reusing the completed download {target}")
        return Fetched(describe=f"{source.describe()} (cached)", archive=target)
    if source.kind == "hf":
        return Fetched(describe=source.describe(), archive=hf_download(source, target))
    url = source.download_url
    work.say(f"  downloading {url}")
    return Fetched(
        describe=source.describe(),
        archive=http_download(url, target, asset.archive.size, say=work.say),
    )


def _archive_sha256(asset: Asset, fetched: Fetched, allow_unverified: bool) -> str:
    """The fetched archive's checked sha256 ("" for a tree); a file that fails the check is
    deleted, so that the next run does not "reuse" it."""
    if fetched.archive is None:
        return ""
    assert asset.archive is not None
    try:
        return check_archive(fetched.archive, asset.archive, allow_unverified, asset.manifest)
    except ChecksumMismatch:
        if not fetched.keep_archive:
            fetched.archive.unlink()
        raise


def _fetch(asset: Asset, sources: list[LocalSource], work: Workspace) -> tuple[Fetched, str]:
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
        work.say(f"{asset.name}: trying {label}")
        try:
            fetched = _fetch_one(asset, source, work)
            return fetched, _archive_sha256(asset, fetched, work.allow_unverified)
        except UnverifiedArchive:
            raise  # the bytes are fine; only the user can decide to trust them
        except (PrepareError, OSError) as exc:
            errors.append(f"{label}: {exc}")
            if more:
                work.say(f"  failed: {exc}; trying the next source")
            shutil.rmtree(work.staging / "git", ignore_errors=True)
        except Exception as exc:  # huggingface_hub / requests errors differ by version
            errors.append(f"{label}: {type(exc).__name__}: {exc}")
            if more:
                work.say(f"  failed: {type(exc).__name__}: {exc}; trying the next source")
    raise _none_served(asset, errors, unresolved)


def _none_served(asset: Asset, errors: list[str], unresolved: list[str]) -> PrepareError:
    """One line for "no source served it": offline said as such, else every failure."""
    hosts = list(dict.fromkeys(unresolved))
    if hosts and not errors:
        return PrepareError(
            f"{asset.name}: no network: cannot resolve {', '.join(hosts)}; "
            "fetch it on a connected machine and pass --from FILE_OR_DIR"
        )
    errors = errors + [f"cannot resolve {host}" for host in hosts]
    if len(errors) == 1:
        return PrepareError(f"{asset.name}: {errors[0]}")
    return PrepareError(f"{asset.name}: every source failed: " + " | ".join(errors))


def fetch_or_fallback(
    asset: Asset, sources: list[LocalSource], work: Workspace
) -> tuple[Fetched, str]:
    """The first source that verifies, and its archive's sha256; when none does and the
    asset has an offline fallback, the fallback built in staging (said in one line,
    recorded as the source)."""
    try:
        return _fetch(asset, sources, work)
    except PrepareError as exc:
        if not asset.fallback:
            raise
        tree = work.staging / "fallback"
        fallback = FALLBACKS[asset.fallback]
        fallback.write(tree)
        work.say(f"{exc}; using the {fallback.source}")
        return Fetched(describe=fallback.source, tree=tree), ""
