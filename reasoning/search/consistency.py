"""Voting over sampled chains.

    self_consistency  `samples` chains at once; the majority answer (Wang et al. 2022)
    adaptive          chains in small rounds until the vote is settled (Adaptive-Consistency,
                      Aggarwal et al. 2023), at most `samples`

Votes are weighed as DeepConf weighs them (Fu et al. 2025): by each chain's confidence, its
lowest windowed mean token log-probability, and by what the model's own checks said of it
(`ModelProfile.vote_weight`). Adaptive's first round sets a confidence threshold, its weakest
chain's; a later chain whose running confidence falls below it is ended in the engine, its
tokens unspent, and does not vote.

Each round buys only whole chains the budget can still pay for (`Budget.first_round`,
`Budget.next_round`), so a search stops when the money or tokens run out and answers with what
it has.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reasoning.chain import ChainState
from reasoning.profiles import ModelProfile
from reasoning.search.sampler import Decision, Sampler, Search
from reasoning.search.voting import Ballot, Vote, leader_probability, settled, tally


async def self_consistency(sampler: Sampler, search: Search) -> Decision:
    first = sampler.budget.first_round(search.samples)
    limits = search.limits(sampler.budget, first.limits)
    chains = await sampler.sample(first.chains, limits, watch=search.watch())
    return decide(chains, sampler.profile, search, stopped_by_budget=first.chains < search.samples)


async def adaptive(sampler: Sampler, search: Search) -> Decision:
    return await more_rounds([], sampler, search)


async def more_rounds(
    chains: list[ChainState], sampler: Sampler, search: Search, temperature: float | None = None
) -> Decision:
    """Adaptive rounds from the chains there are, until the vote settles or `samples` is reached."""
    size = 1 if chains else fewest_that_can_settle(search.confidence)
    budget = sampler.budget
    while (room := search.samples - len(chains)) > 0:
        wanted = min(size, room)
        next_round = budget.next_round(wanted, sampler.spent) if chains else budget.first_round(wanted)
        if next_round is None:
            return decide(chains, sampler.profile, search, stopped_by_budget=True)
        threshold = min(c.confidence.value for c in chains) if chains and search.weigh_confidence else None
        watch = search.watch(stop_below=threshold, temperature=temperature)
        chains += await sampler.sample(next_round.chains, search.limits(budget, next_round.limits), watch=watch)
        if settled(_tally(voters(chains), sampler.profile, search).counts, search.confidence):
            break
        size = 1
    return decide(chains, sampler.profile, search, stopped_by_budget=False)


def fewest_that_can_settle(confidence: float) -> int:
    """Unanimous chains needed before the stopping rule can fire: sampling fewer first is waste."""
    size = 1
    while leader_probability({"a": size}) < confidence:
        size += 1
    return size


def voters(chains: Sequence[ChainState]) -> list[ChainState]:
    """The chains that vote: not those ended for low confidence (they have no answer)."""
    return [c for c in chains if c.ended_by != "low_confidence"]


def weight(chain: ChainState, profile: ModelProfile, search: Search) -> float:
    confidence = math.exp(chain.confidence.value) if search.weigh_confidence else 1.0
    return confidence * profile.vote_weight(chain.raw_reasoning)


def _tally(chains: Sequence[ChainState], profile: ModelProfile, search: Search) -> Vote:
    return tally([Ballot(c.answer_text, c.mean_logprob, weight(c, profile, search)) for c in chains])


def decide(chains: Sequence[ChainState], profile: ModelProfile, search: Search, stopped_by_budget: bool) -> Decision:
    voting = voters(chains) or list(chains)
    vote = _tally(voting, profile, search)
    return Decision((voting[vote.winner],), votes=vote.counts, stopped_by_budget=stopped_by_budget)
