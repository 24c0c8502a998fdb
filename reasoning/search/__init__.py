"""How many chains a request thinks with, and which answer it gives.

    single            one chain per choice, streamed as it is generated      single.py
    self_consistency  `samples` chains at once; the majority answer          consistency.py
    adaptive          rounds until the vote is settled, at most `samples`    consistency.py
    auto              (effort "auto") one chain with early exit; more chains  auto.py
                      only when it did not settle (a hard prompt)

Any of them may exit early (`Search.early_exit`): each chain probes its answer as it thinks
and stops once the probes agree (reasoning/certainty.py).

A strategy only decides: it receives a `Sampler` and returns a `Decision` (sampler.py). One
budget governs every chain of a request (`reasoning.budget.Budget`): reasoning.max_tokens caps
each chain, while budget_usd and max_completion_tokens cap their sum.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from reasoning.search.auto import auto
from reasoning.search.consistency import adaptive, self_consistency
from reasoning.search.sampler import Decision, Sampler, Search
from reasoning.search.single import single

Strategy = Callable[[Sampler, Search], Awaitable[Decision]]

STRATEGIES: dict[str, Strategy] = {
    "single": single,
    "self_consistency": self_consistency,
    "adaptive": adaptive,
    "auto": auto,
}

__all__ = ["STRATEGIES", "Decision", "Sampler", "Search", "Strategy"]
