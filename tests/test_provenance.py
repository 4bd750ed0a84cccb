"""Provenance: the commit a number came from, in a checkout or in the container image."""

from __future__ import annotations

import os
import subprocess

from harness.io import write_json
from harness.provenance import git_state


def test_outside_git_the_build_arguments_are_used(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_COMMIT", "abc123")
    monkeypatch.setenv("HARNESS_DIRTY", "false")
    assert git_state(tmp_path) == ("abc123", False)
    monkeypatch.setenv("HARNESS_DIRTY", "")
    monkeypatch.delenv("HARNESS_COMMIT")
    assert git_state(tmp_path) == (None, None)


def test_in_a_checkout_the_commit_and_dirt_are_read(tmp_path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "f.txt").write_text("a")
    git("add", "f.txt")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
    sha, dirty = git_state(tmp_path)
    assert sha and len(sha) == 40 and dirty is False
    (tmp_path / "f.txt").write_text("b")
    assert git_state(tmp_path) == (sha, True)


def test_atomic_files_get_the_usual_mode(tmp_path):
    write_json(tmp_path / "s.json", {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o666 & ~mask
