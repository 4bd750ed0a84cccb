"""List prices of API models, USD per million tokens (input, output), standard tier, no
batch, cache or long-context rates. A model missing from the table gets no cost (null),
never a guess.

Provenance, stated plainly: these numbers were written from memory of the providers' public
pricing pages (https://openai.com/api/pricing, https://www.anthropic.com/pricing#api) as
they stood around October 2025 (the newest entries, claude-sonnet-4-5 and claude-haiku-4-5,
date from then). They were NOT fetched or re-checked by this project: this environment had
no access to those pages. Treat every cost_usd as an estimate until someone checks the
table against the live pages and updates PRICES_AS_OF / PRICES_VERIFIED.
"""

from __future__ import annotations

import re

PRICES_AS_OF = "2025-10"
# Flip to True (and set PRICES_AS_OF) only after comparing every row with the live pages.
PRICES_VERIFIED = False
_SNAPSHOT = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)")

# model name (or the prefix of dated snapshots) -> (USD per 1M input, USD per 1M output)
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    # OpenAI
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "o3": (2.00, 8.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    # Anthropic
    "claude-opus-4-1": (15.00, 75.00),
    "claude-sonnet-4-5": (3.00, 15.00),
    "claude-haiku-4-5": (1.00, 5.00),
    "claude-opus-4": (15.00, 75.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
}


def price_for(model: str) -> tuple[float, float] | None:
    """Exact name, or a table name followed by a snapshot suffix (gpt-4o-2024-08-06,
    claude-sonnet-4-20250514, ...-latest). A newer model version (claude-opus-4-5) is not a
    snapshot of an older one and gets no price rather than a wrong one."""
    if model in PRICES_PER_MTOK:
        return PRICES_PER_MTOK[model]
    for name, price in PRICES_PER_MTOK.items():
        if model.startswith(name) and _SNAPSHOT.fullmatch(model[len(name) :]):
            return price
    return None


def cost_usd(model: str, tokens_in: int | None, tokens_out: int | None) -> float | None:
    price = price_for(model)
    if price is None or tokens_in is None or tokens_out is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1e6, 8)
