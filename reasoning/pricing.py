"""What tokens cost: a price per model, in dollars per million tokens."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for a prompt and everything generated for it (reasoning included)."""
        exact = (
            prompt_tokens * _d(self.input_per_million) + completion_tokens * _d(self.output_per_million)
        ) / _MILLION
        return float(exact)

    def affordable_completion_tokens(self, budget_usd: float, prompt_tokens: int) -> int:
        """How many generated tokens a dollar budget pays for after the prompt; negative if not even that."""
        left = _d(budget_usd) * _MILLION - prompt_tokens * _d(self.input_per_million)
        if left < 0:
            return -1
        if self.output_per_million <= 0:
            return 2**31 - 1
        return math.floor(left / _d(self.output_per_million))


def _d(value: float) -> Decimal:
    # Decimal(str(x)) keeps the price the operator typed (0.4, not 0.40000000000000002),
    # so a budget of exactly the cost affords exactly those tokens.
    return Decimal(str(value))


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    default: Price

    def for_model(self, model: str) -> Price:
        return self.prices.get(model, self.default)
