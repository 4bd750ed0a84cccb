"""Where `harness prepare` may take an asset from without asking the network first.

- `--from` (repeatable): each local copy or mirror is matched to the assets it can serve
  (an archive file, a folder holding archives under their manifest names, a git
  repository, or a folder holding the unpacked bundle), so one command can install the
  official evaluator from a clone and its punkt_tab from a zip or an nltk_data folder;
- a source whose host does not resolve is skipped at once, not retried for half a
  minute: on a machine with no network the failure is one line (and an asset with an
  offline fallback, fallbacks.py, gets that instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from harness.network import hub_host, resolves
from harness.prepare.errors import NoLocalCopy
from harness.prepare.manifest import Asset, Source


@dataclass(frozen=True)
class LocalTree:
    """A folder that already holds the unpacked bundle (its root marker is inside)."""

    path: Path

    def __str__(self) -> str:
        return f"unpacked copy {self.path}"


LocalSource = Source | Path | LocalTree


def is_url(text: str) -> bool:
    return urlparse(text).scheme in ("http", "https")


def _is_git_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


def _holds_tree(asset: Asset, path: Path) -> bool:
    """Whether path holds the unpacked bundle, or is up to two folders above it (an
    nltk_data folder holds tokenizers/punkt_tab/). Only for an asset with an offline
    fallback: its files are not pinned by an archive hash anyway, while an archive's hash
    is the check an unpacked copy would skip."""
    marker = asset.layout.root_marker
    if not marker or not asset.fallback:
        return False
    return any(
        hit.is_file()
        for pattern in (marker, f"*/{marker}", f"*/*/{marker}")
        for hit in path.glob(pattern)
    )


def sources_from(asset: Asset, from_: str) -> list[LocalSource]:
    """One --from value: a local archive file, a mirror folder holding it, a git repository,
    a folder holding the unpacked bundle, or a URL mirror serving it under its manifest
    file name. Raises NoLocalCopy when it holds none of these for `asset`."""
    name = asset.archive.filename if asset.archive else ""
    parsed = urlparse(from_)
    if parsed.scheme == "file":
        # requests cannot read file:// URLs; a local mirror is read as a folder anyway.
        from_ = url2pathname(parsed.path)
    elif is_url(from_):
        if asset.kind == "git" and from_.rstrip("/").endswith(".git"):
            return [Source(kind="git", url=from_)]
        if not name:
            raise NoLocalCopy(f"{asset.name}: --from URL needs an archive name in the manifest")
        return [Source(kind="url", url=from_.rstrip("/") + "/" + name)]
    path = Path(from_)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise NoLocalCopy(f"--from {from_}: no such file or folder")
    if name and (path / name).is_file():
        return [path / name]
    if asset.kind == "git" and _is_git_repo(path):
        return [Source(kind="git", url=str(path.resolve()))]
    if _holds_tree(asset, path):
        return [LocalTree(path)]
    raise NoLocalCopy(
        f"--from {from_}: no {name or 'git repository'} there (a mirror folder holds each "
        "archive under the file name its manifest gives)"
    )


def local_sources(asset: Asset, from_: tuple[str, ...], companion: bool) -> list[LocalSource]:
    """Every --from value that can serve `asset`. The main asset needs at least one (the
    first value's error is raised otherwise); a companion may have none."""
    found: list[LocalSource] = []
    errors: list[NoLocalCopy] = []
    # With several copies (or for a companion) a file is matched by its manifest name: the
    # evaluator's clone and punkt_tab.zip are handed over together.
    by_name = companion or len(from_) > 1
    for value in from_:
        named = asset.archive.filename if asset.archive else None
        if by_name and Path(value).is_file() and Path(value).name != named:
            continue
        try:
            found.extend(sources_from(asset, value))
        except NoLocalCopy as exc:
            errors.append(exc)
    if not found and errors and not companion:
        raise errors[0]
    return found


def _host(source: Source) -> str | None:
    """The host a network source would contact (None for a local git repository)."""
    if source.kind == "hf":
        return hub_host()
    url = source.download_url
    return urlparse(url).hostname if is_url(url) else None


def unresolvable_host(source: LocalSource) -> str | None:
    """The source's host when it does not resolve (no network, or no such host); None when
    it resolves or the source is local. One lookup, no retries."""
    if not isinstance(source, Source):
        return None
    host = _host(source)
    return host if host and not resolves(host) else None
