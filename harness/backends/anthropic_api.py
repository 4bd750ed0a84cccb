"""`anthropic:<model>`: Anthropic's Messages API through the official SDK.

The pinned SDK (anthropic 2.12, API version 2026-10-21) has no sampling parameters
(temperature, top_p, top_k) on `messages.create`, so none are sent and the model samples as
the provider decides. A config asking for a non-default temperature or top_p is refused
rather than recorded as applied.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import anthropic

from harness.backends.api import ApiBackend, MalformedResponse
from harness.backends.base import BackendOptions, Completion, Decoding, Request
from harness.errors import ConfigError


class AnthropicBackend(ApiBackend):
    kind = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
    # No temperature to set: the provider samples, so repeated requests are the samples.
    samples_need_temperature = False
    transient_types = (
        anthropic.APITimeoutError,
        anthropic.APIConnectionError,
        anthropic.APIResponseValidationError,
    )

    def make_client(self, api_key: str, options: BackendOptions) -> Any:
        return anthropic.Anthropic(
            api_key=api_key,
            base_url=options.base_url or None,
            timeout=options.timeout_s,
            max_retries=0,
        )

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        if decoding.temperature != 0.0 or decoding.top_p != 1.0:
            raise ConfigError(
                "anthropic: the Messages API no longer takes temperature/top_p; leave them at "
                "their defaults (0.0, 1.0), which here mean the provider's own sampling"
            )
        return super().generate(requests, decoding)

    def call(self, request: Request, decoding: Decoding) -> Any:
        messages = list(request.messages)
        params: dict[str, Any] = {"model": self.target, "max_tokens": decoding.max_new_tokens}
        if messages and messages[0]["role"] == "system":
            params["system"] = messages[0]["content"]
            messages = messages[1:]
        params["messages"] = messages
        return self.client.messages.create(**params)

    def read(self, response: Any) -> tuple[str, int | None, int | None]:
        try:
            text = "".join(b.text for b in response.content if getattr(b, "type", None) == "text")
        except (AttributeError, TypeError):
            raise MalformedResponse(
                f"no content blocks in response: {str(response)[:200]}"
            ) from None
        usage = getattr(response, "usage", None)
        return text, getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
