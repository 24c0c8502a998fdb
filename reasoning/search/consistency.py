"""Voting over sampled chains.

    self_consistency  `samples` chains at once; the majority answer (Wang et al. 2022)
    adaptive          chains in small rounds until the vote is settled (Adaptive-Consistency,
                      Aggarwal et al. 2023), at most `samples`

Each round buys only whole chains the budget can still pay for (`Budget.first_round`, `Budget.next_round`), so a search
stops when the money or tokens run out and answers with what it has.
"""

from __future__ import annotations

from collections.abc import Sequence

from reasoning.chain import ChainState
from reasoning.search.sampler import Decision, Sampler, Search
from reasoning.search.voting import Ballot, Vote, leader_probability, settled, tally


async def self_consistency(sampler: Sampler, search: Search) -> Decision:
    first = sampler.budget.first_round(search.samples)
    chains = await sampler.sample(first.chains, first.limits)
    return _decide(chains, stopped_by_budget=first.chains < search.samples)


async def adaptive(sampler: Sampler, search: Search) -> Decision:
    chains: list[ChainState] = []
    size = fewest_that_can_settle(search.confidence)
    budget = sampler.budget
    while (room := search.samples - len(chains)) > 0:
        wanted = min(size, room)
        next_round = budget.next_round(wanted, sampler.spent) if chains else budget.first_round(wanted)
        if next_round is None:
            return _decide(chains, stopped_by_budget=True)
        chains += await sampler.sample(next_round.chains, next_round.limits)
        if settled(_tally(chains).counts, search.confidence):
            break
        size = 1
    return _decide(chains, stopped_by_budget=False)


def fewest_that_can_settle(confidence: float) -> int:
    """Unanimous chains needed before the stopping rule can fire: sampling fewer first is waste."""
    size = 1
    while leader_probability({"a": size}) < confidence:
        size += 1
    return size


def _tally(chains: Sequence[ChainState]) -> Vote:
    return tally([Ballot(c.answer_text, c.mean_logprob) for c in chains])


def _decide(chains: Sequence[ChainState], stopped_by_budget: bool) -> Decision:
    vote = _tally(chains)
    return Decision((chains[vote.winner],), votes=vote.counts, stopped_by_budget=stopped_by_budget)
