"""`anthropic:<model>`: Anthropic's Messages API through the official SDK."""

from __future__ import annotations

from typing import Any

import anthropic

from harness.backends.api import ApiBackend, MalformedResponse
from harness.backends.base import BackendOptions, Decoding, Request


class AnthropicBackend(ApiBackend):
    kind = "anthropic"
    key_env = "ANTHROPIC_API_KEY"
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

    def call(self, request: Request, decoding: Decoding) -> Any:
        messages = list(request.messages)
        params: dict[str, Any] = {"model": self.target, "max_tokens": decoding.max_new_tokens}
        if messages and messages[0]["role"] == "system":
            params["system"] = messages[0]["content"]
            messages = messages[1:]
        params["messages"] = messages
        params["temperature"] = decoding.temperature
        if decoding.top_p != 1.0:
            params["top_p"] = decoding.top_p
        return self.client.messages.create(**params)

    def read(self, response: Any) -> tuple[str, int | None, int | None]:
        try:
            blocks = response.content
            text = "".join(b.text for b in blocks if getattr(b, "type", None) == "text")
        except (AttributeError, TypeError):
            raise MalformedResponse(f"no content blocks in response: {str(response)[:200]}") from None
        usage = getattr(response, "usage", None)
        return text, getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None)
