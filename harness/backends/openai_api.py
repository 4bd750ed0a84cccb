"""`openai:<model>`: the OpenAI chat-completions API, or any server that speaks it
(`--base-url`: vLLM serve, gateways), through the official SDK."""

from __future__ import annotations

from typing import Any

import openai

from harness.backends.api import ApiBackend, MalformedResponse
from harness.backends.base import BackendOptions, Decoding, Request


class OpenAIBackend(ApiBackend):
    kind = "openai"
    key_env = "OPENAI_API_KEY"
    transient_types = (
        openai.APITimeoutError,
        openai.APIConnectionError,
        openai.APIResponseValidationError,
    )

    def __init__(self, target: str, options: BackendOptions) -> None:
        super().__init__(target, options)
        # A self-hosted OpenAI-compatible server usually serves an open model.
        if options.base_url:
            self.tier = "open"

    def make_client(self, api_key: str, options: BackendOptions) -> Any:
        return openai.OpenAI(
            api_key=api_key,
            base_url=options.base_url or None,
            timeout=options.timeout_s,
            max_retries=0,
        )

    def call(self, request: Request, decoding: Decoding) -> Any:
        params: dict[str, Any] = {
            "model": self.target,
            "messages": list(request.messages),
            "temperature": decoding.temperature,
            "seed": decoding.seed + request.sample,
        }
        # OpenAI's own API wants max_completion_tokens (reasoning models reject max_tokens);
        # OpenAI-compatible servers have long understood max_tokens.
        token_param = "max_tokens" if self.options.base_url else "max_completion_tokens"
        params[token_param] = decoding.max_new_tokens
        if decoding.top_p != 1.0:
            params["top_p"] = decoding.top_p
        return self.client.chat.completions.create(**params)

    def read(self, response: Any) -> tuple[str, int | None, int | None]:
        try:
            message = response.choices[0].message
            text = message.content or ""
        except (AttributeError, IndexError, TypeError, KeyError):
            raise MalformedResponse(
                f"no choices[0].message in response: {str(response)[:200]}"
            ) from None
        usage = getattr(response, "usage", None)
        tokens_in = getattr(usage, "prompt_tokens", None)
        tokens_out = getattr(usage, "completion_tokens", None)
        return text, tokens_in, tokens_out
