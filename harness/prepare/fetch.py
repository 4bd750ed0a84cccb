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
    url = source.download_url
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


def fetch_or_fallback(
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
        fallback = FALLBACKS[asset.fallback]
        fallback.write(tree)
        say(f"{exc}; using the {fallback.source}")
        return Fetched(describe=fallback.source, tree=tree), ""
