"""auto (effort "auto"): one chain with early exit, then more only when the prompt is hard.

The chain may think up to the `high` budget, probing its answer as it goes (Dynasor-CoT): an
easy prompt's answer settles early and the thinking ends there. A chain that settled, or whose
own check passed, answers. Otherwise, a hard prompt: adaptive rounds of further chains, each
with early exit and weighed by confidence, as long as the budget pays for whole chains, and the
first chain votes with them. Further chains sample at `Search.vote_temperature` when the request
asked for greedy decoding (greedy chains would all be the same).
"""

from __future__ import annotations

import dataclasses

from reasoning.chain import ChainState
from reasoning.profiles import ModelProfile, Verdict
from reasoning.search.consistency import more_rounds
from reasoning.search.sampler import Decision, Sampler, Search


async def auto(sampler: Sampler, search: Search) -> Decision:
    search = dataclasses.replace(search, early_exit=True)
    budget = sampler.budget
    [first] = await sampler.sample(1, search.limits(budget, budget.limits), watch=search.watch())
    if settled(first, sampler.profile, budget.limits.reasoning_tokens):
        return Decision((first,))
    return await more_rounds([first], sampler, search, temperature=search.vote_temperature)


def settled(chain: ChainState, profile: ModelProfile, cap: int) -> bool:
    """Its probes agreed, or its own check passed; with a model that does not check itself,
    it ended its thinking within the budget."""
    if chain.ended_by == "early_exit":
        return True
    verdict = profile.verdict(chain.raw_reasoning)
    if verdict is Verdict.UNCHECKED:
        return not chain.exhausted(cap)
    return verdict is not Verdict.FAILED
