"""Shared fixtures: the real data in ../shared/data (skipped with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("HARNESS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "spider" / "dev.json").is_file():
        pytest.skip(f"real Spider/BIRD data not found at {SHARED_DATA} (set HARNESS_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def spider_dir(shared_data: Path) -> Path:
    return shared_data / "spider"


@pytest.fixture(scope="session")
def bird_dir(shared_data: Path) -> Path:
    path = shared_data / "bird"
    if not (path / "dev.json").is_file():
        pytest.skip(f"BIRD JSON not found at {path}")
    return path
