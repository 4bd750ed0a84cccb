"""What every hosted-API backend shares: bounded concurrency, retries with backoff, the
outage/error split, usage, latency and cost per row. A provider module only says how to
build its client, make one call, and read one response.

Failure classes (decided from the HTTP status, so every SDK is treated alike):
- transient (429, 408, 409, 5xx, timeouts, connection errors, malformed bodies): retried
  with exponential backoff (honouring Retry-After); still failing after the last retry,
  the row is an *outage*: not the model's answer, not scored, retried by the next run.
- fatal (401, 403, 404): the configuration is wrong for every row; the run stops.
- any other 4xx (e.g. a prompt longer than the context): the model could not answer,
  recorded as a row error and scored as wrong.
- an exception with no HTTP status that is none of the transient kinds is a bug here: it
  propagates and stops the run (rows already written are kept).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from harness.backends.base import (
    Backend,
    BackendError,
    BackendOptions,
    Completion,
    Decoding,
    Request,
)
from harness.backends.prices import cost_usd
from harness.errors import ConfigError, HarnessError

_TRANSIENT_STATUS = {408, 409, 429}
_FATAL_STATUS = {401, 403, 404}
_MAX_BACKOFF_S = 60.0


class MalformedResponse(Exception):
    """The provider answered 200 with a body that is not a usable response."""


def scrub_url(url: str | None) -> str | None:
    """A URL without credentials (user:password@, query string), safe to write down."""
    if not url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return min(float(value), _MAX_BACKOFF_S) if value is not None else None
    except ValueError:
        return None


class ApiBackend(Backend):
    """A hosted chat API. Subclasses set the class fields and implement the three hooks."""

    tier = "frontier"
    key_env: ClassVar[str] = ""
    # Exception types that mean "the request did not get through" (timeouts, connection).
    transient_types: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self, target: str, options: BackendOptions) -> None:
        super().__init__(target, options)
        if options.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        env = options.api_key_env or self.key_env
        key = os.environ.get(env)
        if not key:
            if not options.base_url:
                raise ConfigError(f"backend {self.kind!r} needs an API key in ${env}")
            key = "EMPTY"  # a local OpenAI-compatible server (vLLM serve) takes any key
        self.client = self.make_client(key, options)
        self._rng = random.Random(0)
        self._rng_lock = threading.Lock()
        # Set when the consumer stops (error, Ctrl-C): in-flight workers skip their retries.
        self._stop = threading.Event()

    @abstractmethod
    def make_client(self, api_key: str, options: BackendOptions) -> Any:
        """The SDK client, with the SDK's own retries off (this class retries)."""

    @abstractmethod
    def call(self, request: Request, decoding: Decoding) -> Any:
        """Send one request; return the SDK's response object."""

    @abstractmethod
    def read(self, response: Any) -> tuple[str, int | None, int | None]:
        """(text, input tokens, output tokens); raise MalformedResponse when unusable."""

    def identity(self) -> dict[str, Any]:
        # The same model name behind another server is another model.
        return {**super().identity(), "base_url": scrub_url(self.options.base_url)}

    def _transient(self, exc: BaseException) -> bool:
        status = _status(exc)
        if status is not None:
            return status in _TRANSIENT_STATUS or status >= 500
        # A body that is not JSON reaches us as the SDKs' JSONDecodeError. Any other
        # exception without a status is a bug on our side and must not pass for an outage.
        return isinstance(exc, (MalformedResponse, json.JSONDecodeError, *self.transient_types))

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        hinted = _retry_after(exc)
        if hinted is not None:
            return hinted
        with self._rng_lock:
            jitter = 0.5 + self._rng.random() / 2
        return min(_MAX_BACKOFF_S, self.options.retry_base_s * 2**attempt) * jitter

    def _one(self, request: Request, decoding: Decoding) -> Completion:
        attempts = self.options.max_retries + 1
        last: BaseException | None = None
        for attempt in range(attempts):
            if self._stop.is_set():
                return Completion(error="interrupted", outage=True)
            start = time.perf_counter()
            try:
                text, tokens_in, tokens_out = self.read(self.call(request, decoding))
            except HarnessError:
                raise
            except Exception as exc:
                status = _status(exc)
                if status in _FATAL_STATUS:
                    raise BackendError(
                        f"{self.kind}:{self.target}: HTTP {status} ({type(exc).__name__}); "
                        "check the model name, the API key and --base-url"
                    ) from None
                if not self._transient(exc):
                    if status is None:
                        # No HTTP answer and no transport failure: a bug on our side, which
                        # must not be recorded as the model's wrong answer.
                        raise
                    return Completion(
                        error=_describe(exc), latency_s=round(time.perf_counter() - start, 4)
                    )
                last = exc
                if attempt + 1 < attempts:
                    self._stop.wait(self._backoff(attempt, exc))
                continue
            return Completion(
                text=text,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                latency_s=round(time.perf_counter() - start, 4),
                cost_usd=cost_usd(self.target, tokens_in, tokens_out),
            )
        assert last is not None
        return Completion(error=f"outage after {attempts} attempts: {_describe(last)}", outage=True)

    def close(self) -> None:
        # The SDK clients hold an HTTP connection pool.
        self.client.close()

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        # Submit at most `concurrency` at a time so an interrupted run has little in flight.
        pool = ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix=self.kind
        )
        pending: dict[Future[Completion], int] = {}
        todo = iter(range(len(requests)))
        self._stop.clear()
        try:
            while True:
                while len(pending) < self.options.concurrency:
                    i = next(todo, None)
                    if i is None:
                        break
                    pending[pool.submit(self._one, requests[i], decoding)] = i
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    text = str(exc).strip().replace("\n", " ")
    if len(text) > 300:
        text = text[:297] + "..."
    prefix = f"HTTP {status} " if status is not None else ""
    return f"{prefix}{type(exc).__name__}: {text}" if text else f"{prefix}{type(exc).__name__}"
