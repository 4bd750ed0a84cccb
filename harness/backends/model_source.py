"""Where an `hf:` / `vllm:` model comes from, checked once before the loaders run.

transformers reads a spec that is not an existing folder as a hub id: a mistyped local
path then fails with "Repo id must be in the form ...", and with no network
huggingface_hub retries each file for half a minute, printing a line per retry. Both
become one line here: a path-like target that does not exist is named as a missing
folder, and a hub id whose host does not resolve is loaded from the local cache only.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import ConfigError
from harness.network import hub_host, resolves


def looks_like_path(target: str) -> bool:
    """A target a person meant as a folder: absolute, ./ ../ ~ relative, or existing.
    `org/name` is a hub id unless such a folder exists."""
    return target.startswith(("/", "./", "../", "~")) or Path(target).exists()


def check_target(kind: str, target: str) -> bool:
    """Raise for a path-like target that is not a folder; return True when a hub id must be
    read from the local cache only (the hub's host does not resolve, or HF_HUB_OFFLINE)."""
    if looks_like_path(target):
        path = Path(target).expanduser()
        if not path.is_dir():
            what = "is a file, not a model folder" if path.exists() else "does not exist"
            raise ConfigError(f"{kind}:{target}: the local path {path} {what}")
        return False
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return True
    return not resolves(hub_host())


def offline_message(kind: str, target: str) -> str:
    return (
        f"{kind}:{target}: not in the local Hugging Face cache, and {hub_host()} cannot be "
        "reached (no network?); download it on a connected machine, or pass a local folder"
    )
