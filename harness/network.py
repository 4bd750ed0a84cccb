"""One question asked of the network before anything retries: does this host resolve?

With no network, huggingface_hub and requests each retry for half a minute and print a
line per attempt; a single failed lookup says the same thing at once.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

HF_ENDPOINT = "https://huggingface.co"


def hub_host() -> str:
    """The Hugging Face hub's host ($HF_ENDPOINT, a mirror, when set)."""
    return urlparse(os.environ.get("HF_ENDPOINT") or HF_ENDPOINT).hostname or "huggingface.co"


def resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True
