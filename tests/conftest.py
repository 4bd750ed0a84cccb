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


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine with no name service: every lookup of a name other than loopback fails
    here, without a query leaving the machine (tests send traffic to 127.0.0.0/8 only)."""
    import socket

    real = socket.getaddrinfo

    def lookup(host: object, *args: object, **kwargs: object) -> object:
        if host in ("localhost", "127.0.0.1", "::1") or str(host).startswith("127."):
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
