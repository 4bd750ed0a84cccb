"""Data-bundle manifests: what each `harness prepare` asset is, where it comes from, its hashes.

The manifests are TOML files committed next to each benchmark (`spider/manifest.toml`,
`bird/manifest.toml`). One `[assets.<name>]` table per asset:

    description, license          for people
    kind = "archive" | "git"      an archive to verify and unpack, or a git commit to check out
    default_dest                  where it lands without --data-dir (relative to the manifest's
                                  folder; $HARNESS_DATA_DIR/<name> when that is set)
    [assets.X.archive]            filename, format ("zip" | "tar.gz"), size (bytes), sha256;
                                  sha256 = "" means unverified (sha256_note says how to fill it)
    [[assets.X.sources]]          in order of preference: kind = "hf" (repo_id, revision,
                                  filename), "url" (url), "gdrive" (file_id), "git" (url)
    [assets.X.layout]             root_marker (a path marking the bundle root in the archive),
                                  nested (inner archives unpacked in place), files (path -> sha256
                                  or ""), db_dir, databases (db_id -> sha256), splits (name ->
                                  JSON files whose entries carry db_id), expect_db_ids, variants
    companions                    [{asset, path}]: assets prepared inside this one (punkt_tab)
    fallback                      what prepare builds offline when no source has the asset
                                  ("minimal-punkt": see harness/prepare/punkt.py)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from harness.errors import ConfigError
from harness.io import read_toml
from harness.prepare.archive import ARCHIVE_FORMATS, Archive
from harness.prepare.fallbacks import FALLBACKS

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")
SourceKind = Literal["hf", "url", "gdrive", "git"]
SOURCE_KINDS: tuple[str, ...] = get_args(SourceKind)
AssetKind = Literal["archive", "git"]
ASSET_KINDS: tuple[str, ...] = get_args(AssetKind)
GDRIVE_URL = "https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"


def harness_home() -> Path:
    """The checkout (or image folder) that holds `spider/` and `bird/`.

    $HARNESS_HOME wins (the container sets it); otherwise the source tree this package
    was imported from.
    """
    env = os.environ.get("HARNESS_HOME")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2]


def default_manifest_paths() -> list[Path]:
    home = harness_home()
    return [home / "spider" / "manifest.toml", home / "bird" / "manifest.toml"]


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    url: str = ""
    repo_id: str = ""
    repo_type: str = "dataset"
    revision: str = ""
    filename: str = ""
    file_id: str = ""
    note: str = ""

    @property
    def download_url(self) -> str:
        """The URL an HTTP download fetches (a Drive file is fetched past its warning page)."""
        return GDRIVE_URL.format(file_id=self.file_id) if self.kind == "gdrive" else self.url

    def describe(self) -> str:
        if self.kind == "hf":
            return f"huggingface {self.repo_type} {self.repo_id}@{self.revision}:{self.filename}"
        if self.kind == "gdrive":
            return f"google drive file {self.file_id}"
        return f"{self.kind} {self.url}"


@dataclass(frozen=True)
class Companion:
    asset: str
    path: str  # relative to the parent asset's destination


@dataclass(frozen=True)
class Layout:
    root_marker: str = ""
    nested: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 ("" = unpinned)
    db_dir: str = ""
    db_file: str = "{db_id}/{db_id}.sqlite"
    databases: dict[str, str] = field(default_factory=dict)  # db_id -> sha256
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    expect_db_ids: tuple[str, ...] = ()
    variants: bool = False  # test suite: every *.sqlite in a db folder is a database


@dataclass(frozen=True)
class Asset:
    name: str
    manifest: Path
    kind: AssetKind
    description: str
    license: str
    default_dest: str
    sources: tuple[Source, ...]
    layout: Layout
    archive: Archive | None = None
    commit: str = ""
    companions: tuple[Companion, ...] = ()
    notes: str = ""
    fallback: str = ""

    def dest(self, data_dir: Path | None = None) -> Path:
        """Where the asset lands: --data-dir, else $HARNESS_DATA_DIR/<name>, else the
        manifest's default (relative to the manifest's folder)."""
        if data_dir is not None:
            return Path(data_dir)
        env = os.environ.get("HARNESS_DATA_DIR")
        if env:
            return Path(env) / self.name
        return (self.manifest.parent / self.default_dest).resolve()


def _req(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing field {key!r}")
    return table[key]


def _sha_field(value: Any, where: str, allow_empty: bool = True) -> str:
    value = str(value or "").strip().lower()
    if value == "" and allow_empty:
        return ""
    if not HEX64.match(value):
        raise ConfigError(f"{where}: {value!r} is not a sha256 (64 hex digits)")
    return value


def _parse_source(raw: dict[str, Any], where: str) -> Source:
    kind = _req(raw, "kind", where)
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{where}: unknown source kind {kind!r}; known: {SOURCE_KINDS}")
    src = Source(
        kind=kind,
        url=str(raw.get("url", "")),
        repo_id=str(raw.get("repo_id", "")),
        repo_type=str(raw.get("repo_type", Source.repo_type)),
        revision=str(raw.get("revision", "")),
        filename=str(raw.get("filename", "")),
        file_id=str(raw.get("file_id", "")),
        note=str(raw.get("note", "")),
    )
    if kind == "hf" and not (src.repo_id and src.filename and HEX40.match(src.revision)):
        raise ConfigError(f"{where}: an hf source needs repo_id, filename and a 40-hex revision")
    if kind in ("url", "git") and not src.url:
        raise ConfigError(f"{where}: a {kind} source needs url")
    if kind == "gdrive" and not src.file_id:
        raise ConfigError(f"{where}: a gdrive source needs file_id")
    return src


def _parse_layout(raw: dict[str, Any], where: str) -> Layout:
    files = {str(k): _sha_field(v, f"{where}.files.{k}") for k, v in raw.get("files", {}).items()}
    dbs = {
        str(k): _sha_field(v, f"{where}.databases.{k}", allow_empty=False)
        for k, v in raw.get("databases", {}).items()
    }
    splits = {str(k): tuple(str(p) for p in v) for k, v in raw.get("splits", {}).items()}
    return Layout(
        root_marker=str(raw.get("root_marker", "")),
        nested=tuple(str(p) for p in raw.get("nested", ())),
        files=files,
        db_dir=str(raw.get("db_dir", "")),
        db_file=str(raw.get("db_file", Layout.db_file)),
        databases=dbs,
        splits=splits,
        expect_db_ids=tuple(str(x) for x in raw.get("expect_db_ids", ())),
        variants=bool(raw.get("variants", False)),
    )


def _parse_asset(name: str, raw: dict[str, Any], manifest: Path) -> Asset:
    where = f"{manifest}: assets.{name}"
    kind = raw.get("kind", "archive")
    if kind not in ASSET_KINDS:
        raise ConfigError(f"{where}: kind must be 'archive' or 'git', not {kind!r}")
    sources = tuple(
        _parse_source(s, f"{where}.sources[{i}]") for i, s in enumerate(raw.get("sources", ()))
    )
    if not sources:
        raise ConfigError(f"{where}: no sources")
    archive = None
    if "archive" in raw:
        a = raw["archive"]
        fmt = _req(a, "format", f"{where}.archive")
        if fmt not in ARCHIVE_FORMATS:
            raise ConfigError(f"{where}.archive: format must be one of {ARCHIVE_FORMATS}")
        size = a.get("size")
        archive = Archive(
            filename=str(_req(a, "filename", f"{where}.archive")),
            format=fmt,
            size=int(size) if size else None,
            sha256=_sha_field(a.get("sha256", ""), f"{where}.archive.sha256"),
            sha256_note=str(a.get("sha256_note", "")),
        )
        if not archive.verified and not archive.sha256_note:
            raise ConfigError(f"{where}.archive: sha256 is empty; sha256_note must say why")
    if kind == "archive" and archive is None:
        raise ConfigError(f"{where}: an archive asset needs an [archive] table")
    commit = str(raw.get("commit", ""))
    if kind == "git" and not HEX40.match(commit):
        raise ConfigError(f"{where}: a git asset needs a 40-hex commit")
    companions = tuple(
        Companion(asset=str(_req(c, "asset", where)), path=str(_req(c, "path", where)))
        for c in raw.get("companions", ())
    )
    fallback = str(raw.get("fallback", ""))
    if fallback and fallback not in FALLBACKS:
        raise ConfigError(f"{where}: unknown fallback {fallback!r}; known: {tuple(FALLBACKS)}")
    return Asset(
        name=name,
        manifest=manifest,
        kind=kind,
        description=str(raw.get("description", "")),
        license=str(raw.get("license", "")),
        default_dest=str(_req(raw, "default_dest", where)),
        sources=sources,
        layout=_parse_layout(raw.get("layout", {}), f"{where}.layout"),
        archive=archive,
        commit=commit,
        companions=companions,
        notes=str(raw.get("notes", "")),
        fallback=fallback,
    )


def load_manifest(path: Path) -> dict[str, Asset]:
    data = read_toml(path, ConfigError, missing="manifest not found")
    assets = data.get("assets", {})
    return {name: _parse_asset(name, raw, Path(path).resolve()) for name, raw in assets.items()}


def load_assets(paths: list[Path] | None = None) -> dict[str, Asset]:
    """Every asset of every manifest; a name defined twice is an error."""
    assets: dict[str, Asset] = {}
    for path in paths if paths is not None else default_manifest_paths():
        for name, asset in load_manifest(path).items():
            if name in assets:
                raise ConfigError(f"asset {name!r} defined in {assets[name].manifest} and {path}")
            assets[name] = asset
    for asset in assets.values():
        for comp in asset.companions:
            if comp.asset not in assets:
                raise ConfigError(f"{asset.manifest}: companion {comp.asset!r} is not an asset")
    return assets


def get_asset(name: str, paths: list[Path] | None = None) -> Asset:
    return pick_asset(load_assets(paths), name)


def pick_asset(assets: dict[str, Asset], name: str) -> Asset:
    try:
        return assets[name]
    except KeyError:
        raise ConfigError(f"unknown asset {name!r}; known: {', '.join(sorted(assets))}") from None
