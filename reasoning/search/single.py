"""single: one chain per choice, streamed to the client as it is generated."""

from __future__ import annotations

from reasoning.search.sampler import Decision, Sampler, Search


async def single(sampler: Sampler, search: Search) -> Decision:
    chains = await sampler.sample(search.choices, sampler.budget.limits, show=True)
    return Decision(tuple(chains))
