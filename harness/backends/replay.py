"""`replay:<file>`: an earlier or published predictions file treated as a model, so a
scoring-only run goes through the same run folder as any other.

Reads JSONL objects ({"id", "sql"} at least; a predictions.jsonl from `harness generate`
carries its completion, usage and outage flags along) or the official format (one SQL
per line in split order, text after a TAB ignored), matched by the example's position.
A sampled file (lines with "sample") replays sample k of an example as that sample.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.backends.base import Backend, BackendOptions, Completion, Decoding, Request
from harness.errors import PredictionsError
from harness.hashing import sha256_file
from harness.io import jsonl_objects


class ReplayBackend(Backend):
    kind = "replay"
    uses_prompts = False
    cache_responses = False
    tier = ""  # whatever produced the file; the leaderboard lists replays on their own
    samples_need_temperature = False  # the file holds the samples

    def __init__(self, target: str, options: BackendOptions) -> None:
        super().__init__(target, options)
        self.path = Path(target)
        if not self.path.is_file():
            raise PredictionsError(f"{self.path}: replay file not found")
        self._sha256 = sha256_file(self.path)
        self.by_id: dict[tuple[str, int], dict[str, Any]] = {}
        self.by_index: list[str] = []
        self._read()

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        first = next((ln for ln in lines if ln.strip()), "")
        if not first.lstrip().startswith("{"):
            self.by_index = [ln.split("\t", 1)[0] for ln in lines]
            return
        # A torn last line is what a killed run leaves.
        for n, obj in jsonl_objects(lines, self.path, PredictionsError, skip_torn_last=True):
            if "id" not in obj:
                raise PredictionsError(f"{self.path}:{n}: expected an object with an 'id'")
            if not obj.get("outage") and "sql" not in obj and "raw_completion" not in obj:
                raise PredictionsError(f"{self.path}:{n}: no 'sql' for id {obj['id']!r}")
            self.by_id[(str(obj["id"]), int(obj.get("sample", 0)))] = obj

    @property
    def revision(self) -> str | None:
        return self._sha256

    def _replay(self, request: Request) -> Completion:
        if not self.by_id:
            if request.index >= len(self.by_index):
                return Completion(error=f"no line {request.index + 1} in {self.path.name}", sql="")
            sql = self.by_index[request.index]
            return Completion(text=sql, sql=sql)
        obj = self.by_id.get((request.id, request.sample))
        if obj is None:
            which = f" sample {request.sample}" if request.sample else ""
            return Completion(error=f"id {request.id!r}{which} not in {self.path.name}", sql="")
        sql = obj.get("sql")
        return Completion(
            text=obj.get("raw_completion", sql) or "",
            sql=sql,
            tokens_in=obj.get("tokens_in"),
            tokens_out=obj.get("tokens_out"),
            latency_s=obj.get("latency_s"),
            cost_usd=obj.get("cost_usd"),
            error=obj.get("error"),
            outage=bool(obj.get("outage")),
        )

    def generate(
        self, requests: Sequence[Request], decoding: Decoding
    ) -> Iterator[tuple[int, Completion]]:
        for i, request in enumerate(requests):
            yield i, self._replay(request)
