"""How many chains a request thinks with, and which answer it gives.

    single            one chain per choice, streamed as it is generated
    self_consistency  `samples` chains at once; the majority answer (Wang et al. 2022)
    adaptive          chains in small rounds until the vote is settled (Adaptive-Consistency,
                      Aggarwal et al. 2023), at most `samples`
    auto              (effort "auto") a probe chain at the `low` budget. If the model ends its
                      thinking within it, or answers confidently when it is cut, that is the
                      answer: easy prompts cost what they need. Otherwise the probe's thinking
                      resumes where it was cut, up to the `high` budget: hard prompts get more.

One budget governs every chain of a request: reasoning.max_tokens caps each chain, while
budget_usd and max_completion_tokens cap their sum, so a search runs only the rounds it can
afford and always answers with what it has.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from reasoning.budget import Limits
from reasoning.engine import Prompt
from reasoning.types import Event, ReasoningRequest
from reasoning.voting import Ballot, leader_probability, settled, tally

if TYPE_CHECKING:
    from reasoning.reasoner import ReasonerConfig, Session

AUTO_CONFIDENCE = math.log(0.9)  # mean answer-token probability that accepts a cut probe's answer


async def single(s: Session) -> AsyncIterator[Event]:
    s.choices = list(range(s.request.n))
    async for event in s.generate(s.plan.prompt, s.plan.limits, s.request.n, show=True):
        yield event


async def self_consistency(s: Session) -> AsyncIterator[Event]:
    wanted = _samples(s)
    count, limits = _affordable(s, wanted)
    s.stopped_by_budget = count < wanted
    async for event in s.generate(s.plan.prompt, limits, count, show=False):
        yield event
    async for event in _decide(s):
        yield event


async def adaptive(s: Session) -> AsyncIterator[Event]:
    wanted, confidence = _samples(s), s.reasoner.config.adaptive_confidence
    size = _fewest_that_can_settle(confidence)
    while (room := wanted - len(s.chains)) > 0:
        count, limits = _affordable(s, min(size, room))
        if count == 0:
            s.stopped_by_budget = True
            break
        async for event in s.generate(s.plan.prompt, limits, count, show=False):
            yield event
        if settled(_tally(s).counts, confidence):
            break
        size = 1
    async for event in _decide(s):
        yield event


async def auto(s: Session) -> AsyncIterator[Event]:
    policy, ceiling = s.reasoner.config.policy, s.plan.limits
    low = min(policy.effort_tokens["low"] or 0, ceiling.reasoning_tokens)
    probe_limits = dataclasses.replace(
        ceiling, reasoning_tokens=low, min_reasoning_tokens=min(low, ceiling.min_reasoning_tokens)
    )
    async for event in s.generate(s.plan.prompt, probe_limits, 1, show=False):
        yield event
    probe = s.chains[0]
    confident = (probe.answer_mean_logprob or -math.inf) >= AUTO_CONFIDENCE
    if not probe.exhausted(low) or confident or low >= ceiling.reasoning_tokens:
        async for event in s.reveal(0):
            yield event
        return
    thought = probe.splitter.thinking_ids
    opened = s.plan.prompt.thinking_tokens + len(thought)
    resumed = Prompt(s.plan.prompt.token_ids + thought, in_reasoning=True, thinking_tokens=opened)
    limits = s.limits(1, resumed)
    if limits is None:  # nothing left to resume with: the probe's answer stands
        s.stopped_by_budget = True
        async for event in s.reveal(0):
            yield event
        return
    limits = dataclasses.replace(limits, reasoning_tokens=min(limits.reasoning_tokens, ceiling.reasoning_tokens - low))
    s.choices = [1]
    async for event in s.generate(resumed, limits, 1, show=True, prefix=s.reasoner.engine.decode(thought)):
        yield event


def _samples(s: Session) -> int:
    return s.request.samples or s.reasoner.config.default_samples


def most_chains(request: ReasoningRequest, strategy: str, config: ReasonerConfig) -> int:
    """The most chains a strategy may generate for a request: the n choices of `single`, a
    probe and one resumption for `auto`, up to `samples` for the searches."""
    return {"single": request.n, "auto": 2}.get(strategy, request.samples or config.default_samples)


def _fewest_that_can_settle(confidence: float) -> int:
    """Unanimous chains needed before the stopping rule can fire: sampling fewer first is waste."""
    size = 1
    while leader_probability({"a": size}) < confidence:
        size += 1
    return size


def _affordable(s: Session, wanted: int) -> tuple[int, Limits]:
    """The most chains, up to `wanted`, that the rest of the budget pays for whole: each
    may think to its full cap and still answer. A budget buys complete chains rather than
    many cut short. 0 if none, but a search always runs its first chain (with what there
    is), as the request was admitted."""
    whole = _whole_chain_cap(s)
    for count in range(wanted, 0, -1):
        limits = s.limits(count)
        if limits is not None and limits.reasoning_tokens >= whole:
            return count, limits
    return (0 if s.chains else 1), s.plan.limits


def _whole_chain_cap(s: Session) -> int:
    """A chain's reasoning cap when dollars and completion totals do not bind."""
    unbound = dataclasses.replace(s.request.budget, budget_usd=None, max_completion_tokens=None)
    request = dataclasses.replace(s.request, budget=unbound)
    return s.reasoner.limits(request, s.plan.prompt, 1).reasoning_tokens


def _tally(s: Session):
    return tally([Ballot(c.answer_text, c.mean_logprob) for c in s.chains])


async def _decide(s: Session) -> AsyncIterator[Event]:
    vote = _tally(s)
    s.votes = vote.counts
    async for event in s.reveal(vote.winner):
        yield event


STRATEGIES: dict[str, Callable[[Session], AsyncIterator[Event]]] = {
    "single": single,
    "self_consistency": self_consistency,
    "adaptive": adaptive,
    "auto": auto,
}
