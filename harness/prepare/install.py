"""The order of `harness prepare` for one asset and its companions (see __init__.py).

A folder whose record matches the manifest is only re-verified; otherwise the bytes are
fetched into a staging folder next to the destination, verified there, renamed into place,
and the record is written last.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness.prepare.archive import format_of, unpack
from harness.prepare.download import Say, to_stderr
from harness.prepare.errors import LayoutError, PrepareError
from harness.prepare.fallbacks import is_fallback_source
from harness.prepare.fetch import Fetched, Workspace, fetch_or_fallback
from harness.prepare.layout import find_root, place, verify_layout
from harness.prepare.local import LocalSource, local_sources
from harness.prepare.manifest import Asset, load_assets, pick_asset
from harness.prepare.record import Record, read_record, remove_record, write_record

# Inside the destination: interrupted downloads wait here for the next run to resume them.
DOWNLOADS = ".downloads"


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


def prepare(
    name: str,
    data_dir: Path | None = None,
    from_: str | tuple[str, ...] | list[str] | None = None,
    allow_unverified: bool = False,
    force: bool = False,
    manifests: list[Path] | None = None,
    say: Say = to_stderr,
) -> PrepareResult:
    """Prepare asset `name` (and its companions) into data_dir or its default folder.

    `from_`: local copies or mirrors (see harness.prepare.local); with any given, nothing
    is fetched from the network except what a companion has no copy or fallback for."""
    copies = (from_,) if isinstance(from_, str) else tuple(from_ or ())
    assets = load_assets(manifests)
    asset = pick_asset(assets, name)
    dest = asset.dest(data_dir)
    sources = local_sources(asset, copies, companion=False) if copies else list(asset.sources)
    result = _prepare_asset(asset, dest, sources, allow_unverified, force, say)
    for comp in asset.companions:
        part = assets[comp.asset]
        comp_dest = dest / comp.path
        local = local_sources(part, copies, companion=True) if copies else []
        comp_sources = local or ([] if copies and part.fallback else list(part.sources))
        # A copy handed over now replaces a fallback built before.
        replace = bool(local) and bool((read_record(part.name, comp_dest) or {}).get("minimal"))
        result.companions.append(
            _prepare_asset(part, comp_dest, comp_sources, allow_unverified, force or replace, say)
        )
    return result


def _record_matches_manifest(asset: Asset, record: Record) -> bool:
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
    record = None if force else read_record(asset.name, dest)
    if record is not None:
        if _record_matches_manifest(asset, record):
            return _reverified(asset, dest, record)
        say(f"{asset.name}: the manifest changed since {dest} was prepared; fetching again")
    dest.mkdir(parents=True, exist_ok=True)
    work = Workspace(dest / DOWNLOADS, dest / f".staging-{asset.name}", allow_unverified, say)
    return _install(asset, dest, sources, work)


def _reverified(asset: Asset, dest: Path, record: Record) -> PrepareResult:
    """A prepared folder checked again against its record: nothing is fetched."""
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


def _install(
    asset: Asset, dest: Path, sources: list[LocalSource], work: Workspace
) -> PrepareResult:
    staging = work.staging
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed run
    staging.mkdir(parents=True)
    try:
        fetched, digest = fetch_or_fallback(asset, sources, work)
        root = _unpacked_root(asset, fetched, digest, staging, work.say)
        hashes = verify_layout(asset, root)
        # Until the new record is written, no record at all: a run killed while entries are
        # being swapped must not leave an old record vouching for a half-replaced folder.
        remove_record(asset.name, dest)
        place(root, dest)
        write_record(asset.name, dest, _record(asset, fetched, digest, hashes))
        if fetched.archive is not None and not fetched.keep_archive:
            fetched.archive.unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _remove_if_empty(work.downloads)
    return PrepareResult(
        asset.name,
        dest,
        "installed",
        source=fetched.describe,
        archive_sha256=digest,
        commit=asset.commit,
        n_files=len(hashes),
    )


def _unpacked_root(asset: Asset, fetched: Fetched, digest: str, staging: Path, say: Say) -> Path:
    """The bundle's root in staging: the fetched tree, or the archive unpacked (and the
    archives nested in it unpacked in place)."""
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
        unpack(inner, format_of(rel), root)
        inner.unlink()
    return root


def _record(asset: Asset, fetched: Fetched, digest: str, hashes: dict[str, str]) -> Record:
    from_archive = fetched.archive is not None and asset.archive is not None
    return {
        "asset": asset.name,
        "manifest": str(asset.manifest),
        "source": fetched.describe,
        "archive": asset.archive.filename if from_archive and asset.archive else None,
        "archive_sha256": digest,
        "archive_pinned": bool(from_archive and asset.archive and asset.archive.verified),
        "commit": asset.commit,
        "minimal": is_fallback_source(asset.fallback, fetched.describe),
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": hashes,
    }


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
