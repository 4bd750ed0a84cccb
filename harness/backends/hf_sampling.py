"""Seeded sampling for the hf backend that does not depend on how rows are batched.

`model.generate(do_sample=True)` draws every row of a batch from one global generator, so
a row's sample would change with its batch neighbours, with --batch-size, and with what a
resumed run still had to do. Here each row owns a `torch.Generator` seeded from
(seed, prompt, routed adapter, sample index), the same things the response cache keys a
sample by, so a cached sample and a fresh one agree: the processor applies temperature
and top-p (the same
warpers `generate` would use), draws the row's next token from its own generator, and
leaves only that token finite, so the greedy step that follows takes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import LogitsProcessor, TemperatureLogitsWarper, TopPLogitsWarper

from harness.backends.base import Request
from harness.identity import canonical_sha256


def row_seed(seed: int, request: Request) -> int:
    """A 63-bit seed for one (prompt, adapter, sample) that no other shares by accident."""
    key = canonical_sha256(
        {"seed": seed, "messages": list(request.messages), "adapter": request.adapter,
         "sample": request.sample}
    )  # fmt: skip
    return int(key[:16], 16) & (2**63 - 1)


class RowSeededSampler(LogitsProcessor):
    def __init__(
        self, seeds: Sequence[int], temperature: float, top_p: float, device: torch.device
    ) -> None:
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in seeds]
        self.warpers: list[LogitsProcessor] = [TemperatureLogitsWarper(temperature)]
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        for warper in self.warpers:
            scores = warper(input_ids, scores)
        probs = torch.softmax(scores.float(), dim=-1)
        picks = torch.cat(
            [torch.multinomial(probs[i], 1, generator=gen) for i, gen in enumerate(self.generators)]
        )
        chosen = torch.full_like(scores, float("-inf"))
        chosen.scatter_(1, picks.unsqueeze(1), 0.0)
        return chosen
