"""Loopback HTTP servers that speak the OpenAI chat-completions and Anthropic messages wire
formats, so the official SDKs' own HTTP clients are what the tests exercise.

Each request's answer is a function of its question (so a test can check that every row got
its own answer), and a script can make chosen questions fail first: "429", "500",
"timeout" (answer after the client gave up), "malformed" (200 with a body that is not JSON),
"401", "400".
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def answer_for(question: str) -> str:
    return f"Here is the query:\n```sql\nSELECT '{question}' AS q\n```\nIt returns the question."


def _question(messages: list[dict[str, Any]]) -> str:
    text = messages[-1]["content"] if messages else ""
    if isinstance(text, list):  # Anthropic content blocks
        text = "".join(b.get("text", "") for b in text)
    return text.rsplit("Question: ", 1)[-1].strip()


class LoopbackAPI:
    """A server on 127.0.0.1 speaking `wire` ("openai" or "anthropic")."""

    def __init__(self, wire: str, timeout_sleep_s: float = 1.5) -> None:
        self.wire = wire
        self.timeout_sleep_s = timeout_sleep_s
        self.script: dict[str, list[str]] = defaultdict(list)
        self.default_action = "ok"
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_s = 0.0
        self.vary_by_seed = False
        # Hold each request until this many are in flight at once (or hold_timeout_s passes),
        # so a concurrency test does not depend on how fast the client happens to be.
        self.hold_until_in_flight = 0
        self.hold_timeout_s = 2.0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.wire == "openai" else "")

    def fail(self, question_part: str, *actions: str) -> None:
        """The next requests whose question contains `question_part` get `actions` in turn."""
        self.script[question_part].extend(actions)

    def calls_for(self, question_part: str) -> int:
        return sum(1 for r in self.requests if question_part in r["question"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_action(self, question: str) -> str:
        with self._lock:
            for part, actions in self.script.items():
                if part in question and actions:
                    return actions.pop(0)
        return self.default_action

    def _ok_body(self, body: dict[str, Any], question: str) -> dict[str, Any]:
        text = answer_for(question)
        if self.vary_by_seed and "seed" in body:
            # A sampling provider: another seed, another answer.
            text = answer_for(f"{question} #{body['seed']}")
        prompt_chars = sum(len(json.dumps(m)) for m in body.get("messages", []))
        prompt_chars += len(body.get("system", ""))
        tokens_in, tokens_out = prompt_chars // 4, len(text) // 4
        if self.wire == "openai":
            return {
                "id": "chatcmpl-loopback",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": tokens_in,
                    "completion_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                },
            }
        return {
            "id": "msg_loopback",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }

    def _error_body(self, status: int) -> dict[str, Any]:
        kind = {429: "rate_limit_error", 500: "api_error", 401: "authentication_error"}.get(
            status, "invalid_request_error"
        )
        if self.wire == "openai":
            return {"error": {"message": f"loopback {status}", "type": kind, "code": None}}
        return {"type": "error", "error": {"type": kind, "message": f"loopback {status}"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(
                self, status: int, payload: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                question = _question(body.get("messages", []))
                with api._lock:
                    api.requests.append(
                        {
                            "path": self.path,
                            "body": body,
                            "question": question,
                            "auth": self.headers.get("Authorization")
                            or self.headers.get("x-api-key"),
                        }
                    )
                    api.in_flight += 1
                    api.max_in_flight = max(api.max_in_flight, api.in_flight)
                    api._changed.notify_all()
                    if api.hold_until_in_flight:
                        api._changed.wait_for(
                            lambda: api.max_in_flight >= api.hold_until_in_flight,
                            api.hold_timeout_s,
                        )
                try:
                    action = api._next_action(question)
                    if api.delay_s:
                        time.sleep(api.delay_s)
                    if action == "timeout":
                        time.sleep(api.timeout_sleep_s)
                        action = "ok"
                    if action == "ok":
                        payload = json.dumps(api._ok_body(body, question)).encode()
                        self._send(200, payload)
                    elif action == "malformed":
                        self._send(200, b'{"choices": [ this is not json')
                    else:
                        status = int(action)
                        extra = {"Retry-After": "0"} if status == 429 else {}
                        self._send(status, json.dumps(api._error_body(status)).encode(), extra)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)
                finally:
                    with api._lock:
                        api.in_flight -= 1
                        api._changed.notify_all()

        return Handler
