"""What tokens cost, in the one money type: `Money`, integer nano-dollars.

Money is exact, so sums never drift and a budget is never overrun by rounding. A cost rounds
up to the nano-dollar (a charge never falls short), a cap a client sets rounds down (never
spend more than it allowed); a float exists only where money is rendered (`Money.usd`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

NANOS_PER_USD = 10**9
_NANOS_PER_TOKEN = Decimal(NANOS_PER_USD) / Decimal(1_000_000)  # at one dollar per million tokens
UNLIMITED_TOKENS = 2**31 - 1  # what a free model's output affords


@dataclass(frozen=True, order=True)
class Money:
    nanos: int

    @classmethod
    def at_least(cls, usd: Decimal | float | str) -> Money:
        """Dollars rounded up to the nano-dollar: for what something costs."""
        return cls(math.ceil(_d(usd) * NANOS_PER_USD))

    @classmethod
    def at_most(cls, usd: Decimal | float | str) -> Money:
        """Dollars rounded down to the nano-dollar: for a cap on spending."""
        return cls(math.floor(_d(usd) * NANOS_PER_USD))

    def __add__(self, other: Money) -> Money:
        return Money(self.nanos + other.nanos)

    def __sub__(self, other: Money) -> Money:
        return Money(self.nanos - other.nanos)

    @property
    def usd(self) -> float:
        """As a float, for rendering (JSON, metrics, logs) only."""
        return self.nanos / NANOS_PER_USD

    def __str__(self) -> str:
        """A plain decimal string, exact: Money(1500) -> '0.0000015'."""
        text = format(Decimal(self.nanos) / NANOS_PER_USD, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text


def _d(value: Decimal | float | str) -> Decimal:
    # Decimal(str(x)) keeps the number the operator or client typed (0.4, not
    # 0.40000000000000002), so a budget of exactly the cost affords exactly those tokens.
    return Decimal(str(value))


@dataclass(frozen=True)
class Price:
    input_per_million: float  # dollars per million prompt tokens
    output_per_million: float  # dollars per million generated tokens (reasoning included)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Money:
        """A prompt and everything generated for it, rounded up to the nano-dollar."""
        exact = prompt_tokens * self._input_nanos + completion_tokens * self._output_nanos
        return Money(math.ceil(exact))

    def affordable_completion_tokens(self, budget: Money, prompt_tokens: int) -> int:
        """How many generated tokens a budget pays for after the prompt; negative if not even that."""
        left = budget.nanos - prompt_tokens * self._input_nanos
        if left < 0:
            return -1
        if self.output_per_million <= 0:
            return UNLIMITED_TOKENS
        return math.floor(left / self._output_nanos)

    @property
    def _input_nanos(self) -> Decimal:
        return _d(self.input_per_million) * _NANOS_PER_TOKEN

    @property
    def _output_nanos(self) -> Decimal:
        return _d(self.output_per_million) * _NANOS_PER_TOKEN


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price]
    default: Price

    def for_model(self, model: str) -> Price:
        return self.prices.get(model, self.default)
