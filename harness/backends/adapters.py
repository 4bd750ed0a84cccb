"""Adapter arguments (`PATH[@WEIGHT]`) and the content hash that names an adapter in provenance."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from harness.backends.base import AdapterSpec
from harness.errors import ConfigError
from harness.hashing import sha256_file


def tree_sha256(path: Path) -> str:
    """sha256 over every file under a directory (relative name + content hash), so moving
    the directory keeps the hash."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
        digest.update(sha256_file(file).encode("ascii") + b"\n")
    return digest.hexdigest()


def adapter_sha256(path: Path) -> str:
    """The content hash that names an adapter in provenance and in the response cache."""
    path = Path(path)
    if not path.is_dir():
        raise ConfigError(f"adapter not found: {path}")
    if not (path / "adapter_config.json").is_file():
        raise ConfigError(f"{path}: not a PEFT adapter directory (no adapter_config.json)")
    return tree_sha256(path)


def _looks_like_hub_id(text: str) -> bool:
    return text.count("/") == 1 and not text.startswith((".", "/", "~"))


def _from_hub(repo_id: str) -> Path:
    """A hub adapter, downloaded (or found in the local hub cache) so it can be hashed."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ConfigError(f"adapter {repo_id!r} is not a local directory") from None
    try:
        return Path(snapshot_download(repo_id))
    except Exception as exc:  # offline, unknown repo, no access: one clear line
        raise ConfigError(
            f"adapter {repo_id!r}: not a local directory, and the hub "
            f"download failed ({type(exc).__name__})"
        ) from None


def parse_adapter(arg: str, base: Path | None = None) -> AdapterSpec:
    """`PATH` or `PATH@WEIGHT` -> a hashed AdapterSpec; relative paths resolve against `base`;
    a `user/name` that is no local directory is fetched from the Hugging Face hub."""
    path_text, weight = arg, None
    head, sep, tail = arg.rpartition("@")
    if sep:
        try:
            weight = float(tail)
        except ValueError:
            pass  # an "@" that is part of the path
        else:
            path_text = head
    path = Path(path_text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    source = ""
    if not path.exists() and _looks_like_hub_id(path_text):
        source, path = path_text, _from_hub(path_text)
    return AdapterSpec(path=path, weight=weight, sha256=adapter_sha256(path), source=source)


def parse_adapters(args: list[str], base: Path | None = None) -> list[AdapterSpec]:
    specs = [parse_adapter(a, base) for a in args]
    if len(specs) > 1:
        # Several adapters form one weighted composition; an unweighted one counts fully.
        specs = [
            dataclasses.replace(s, weight=1.0 if s.weight is None else s.weight) for s in specs
        ]
    return specs
