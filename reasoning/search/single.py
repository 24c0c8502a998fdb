"""single: one chain per choice, streamed to the client as it is generated (with early exit,
each chain's answer is shown once its probes settle it)."""

from __future__ import annotations

from reasoning.search.sampler import Decision, Sampler, Search


async def single(sampler: Sampler, search: Search) -> Decision:
    limits = search.limits(sampler.budget, sampler.budget.limits)
    chains = await sampler.sample(search.choices, limits, show=True, watch=search.watch())
    return Decision(tuple(chains))
