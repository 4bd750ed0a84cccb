"""Seeded sampling for the hf backend that does not depend on how rows are batched.

`model.generate(do_sample=True)` draws every row of a batch from one global generator, so
a row's sample would change with its batch neighbours, with --batch-size, and with what a
resumed run still had to do. Here each row owns a `torch.Generator` seeded from
(seed, example id, sample index): the processor applies temperature and top-p (the same
warpers `generate` would use), draws the row's next token from its own generator, and
leaves only that token finite, so the greedy step that follows takes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from transformers import LogitsProcessor, TemperatureLogitsWarper, TopPLogitsWarper


def row_seed(seed: int, example_id: str, sample: int) -> int:
    """A 63-bit seed for one (example, sample) that no other pair shares by accident."""
    digest = hashlib.sha256(f"{seed}\0{example_id}\0{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


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
