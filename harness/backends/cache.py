"""A response cache around any backend: rerunning a config that already ran costs nothing.

Keyed by the backend's identity (kind, model + revision, adapter hashes, routes, template),
the request (prompt hash, routed adapter, sample index) and the decoding parameters. Only
clean completions are stored: an error or an outage is asked again next time.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, Completion, Decoding, Request
from harness.errors import ConfigError
from harness.identity import canonical_sha256
from harness.io import cache_root

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    completion TEXT NOT NULL
)
"""
_STORED = ("text", "tokens_in", "tokens_out", "latency_s", "cost_usd")


def default_cache_path() -> Path:
    return cache_root() / "responses.sqlite"


class ResponseCache:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60)
            # WAL: concurrent runs can share one cache; a killed run leaves it consistent.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_SCHEMA)
            self._conn.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"{self.path}: cannot open the response cache ({exc}); "
                "pass --response-cache elsewhere or --no-cache"
            ) from None

    @staticmethod
    def key(identity: dict[str, Any], request: Request, decoding: Decoding) -> str:
        fields: dict[str, Any] = {
            "identity": identity,
            "prompt_sha256": canonical_sha256(list(request.messages)),
            "adapter": request.adapter,
            "sample": request.sample,
            "decoding": decoding.cache_params(),
        }
        # A base model is given the format's text, not the messages: it keys the answer too
        # (only then, so keys of chat and API requests stay as they were).
        if request.text is not None and identity.get("template") == "plain":
            fields["text_sha256"] = canonical_sha256(request.text)
        return canonical_sha256(fields)

    def get(self, key: str) -> Completion | None:
        row = self._conn.execute(
            "SELECT completion FROM responses WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        stored = json.loads(row[0])
        return Completion(**{k: stored.get(k) for k in _STORED}, cached=True)

    def put(self, key: str, identity: dict[str, Any], completion: Completion) -> None:
        body = json.dumps({k: getattr(completion, k) for k in _STORED}, ensure_ascii=False)
        self._conn.execute(
            "INSERT OR REPLACE INTO responses (key, backend, model, created, completion) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, str(identity.get("backend")), str(identity.get("model")), time.time(), body),
        )
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()


class CachedBackend(Backend):
    """Answers from the cache what it can, asks the wrapped backend for the rest."""

    def __init__(self, inner: Backend, cache: ResponseCache) -> None:
        # Deliberately not Backend.__init__: this wraps an already configured backend.
        self.inner = inner
        self.cache = cache
        self.target = inner.target
        self.options = inner.options
        self.kind = inner.kind
        self.uses_prompts = inner.uses_prompts
        self.tier = inner.tier

    @property
    def revision(self) -> str | None:
        return self.inner.revision

    @property
    def params(self) -> int | None:
        return self.inner.params

    def template_id(self) -> str:
        return self.inner.template_id()

    def identity(self) -> dict[str, Any]:
        return self.inner.identity()

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        identity = self.inner.identity()
        keys = [ResponseCache.key(identity, r, decoding) for r in requests]
        misses: list[int] = []
        for i, key in enumerate(keys):
            hit = self.cache.get(key)
            if hit is None:
                misses.append(i)
            else:
                yield i, hit
        if not misses:
            return
        for j, completion in self.inner.generate([requests[i] for i in misses], decoding):
            i = misses[j]
            if completion.cacheable:
                self.cache.put(keys[i], identity, completion)
            yield i, completion

    def close(self) -> None:
        self.cache.close()
        self.inner.close()
