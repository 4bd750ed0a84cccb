"""Where a number came from: the harness commit and whether the work tree was dirty."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_state(repo: Path = REPO_ROOT) -> tuple[str | None, bool | None]:
    """(commit sha, dirty) of the checkout harness runs from; (None, None) outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return _from_environment()
    return (sha or None), bool(status.strip())


def _from_environment() -> tuple[str | None, bool | None]:
    """Outside a git checkout (the container image), what the build recorded."""
    sha = os.environ.get("HARNESS_COMMIT", "").strip() or None
    dirty = {"true": True, "false": False}.get(os.environ.get("HARNESS_DIRTY", "").strip())
    return sha, dirty
