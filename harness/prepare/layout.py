"""The on-disk layout of a bundle: where its root is, whether it is whole, putting it in place.

A bundle is verified in its staging folder (every db_id of every split has its database,
every pinned sha256 matches) and only then renamed into place entry by entry, so the
destination never holds half of a bundle.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from harness.io import read_json
from harness.prepare.archive import sha256_of
from harness.prepare.errors import ChecksumMismatch, LayoutError
from harness.prepare.manifest import Asset


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


def _split_db_ids(path: Path) -> set[str]:
    data = read_json(path, LayoutError, missing="split file missing", expect=object)
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
