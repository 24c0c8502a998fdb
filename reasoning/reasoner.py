"""One request's life, top to bottom.

    prepare: check the model, render the chat template, set the budget (every 4xx here)
    run:     the strategy samples chains through the engine (reasoning/sampling.py), the
             reasoning cap enforced inside it, and decides (reasoning/search/); the chosen
             answers are shown; the trace is stored, durably; Done(Outcome) with exact usage
             and cost

`Reasoner.run` yields `ThinkingDone` when a choice's thinking ends (with a summary or sealed
reasoning when asked), `AnswerDelta`s as its answer streams, `KeepAlive`s while the model
thinks in silence, and one final `Done`. Raw reasoning leaves only into the trace.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from reasoning import search
from reasoning.budget import Budget, BudgetPolicy, Limits
from reasoning.chain import ChainState
from reasoning.engine import Engine, Prompt
from reasoning.errors import InvalidRequest, NotFound
from reasoning.pricing import Money, PriceTable
from reasoning.profiles import GENERIC, ModelProfile
from reasoning.sampling import ChainSampler
from reasoning.search import Decision, Search
from reasoning.summarize import Summarizer
from reasoning.types import AUTO, Choice, Done, Event, Outcome, ReasoningRequest, ThinkingDone, Trace, Usage
from reasoning.vault.crypto import PurposeKeys


class TraceVault(Protocol):
    """Where the Reasoner keeps raw reasoning."""

    async def put(self, trace: Trace) -> None:
        """Durably store a trace; returns only once it is committed."""


@dataclass(frozen=True)
class ReasonerConfig:
    policy: BudgetPolicy
    prices: PriceTable
    keepalive_seconds: float
    default_samples: int = 5  # for search strategies that name no `samples`
    adaptive_confidence: float = 0.9  # stop sampling once the leader is this likely ahead
    profile: ModelProfile = GENERIC  # what the model writes: its answer's start, its checks' verdicts
    vote_temperature: float = 0.8  # auto's further chains, when the request itself is greedy


@dataclass(frozen=True)
class Plan:
    """A checked request, rendered and budgeted, ready to run."""

    request: ReasoningRequest
    prompt: Prompt
    budget: Budget
    search: Search
    trace_id: str = field(default_factory=lambda: f"rs_{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))
    chains: list[ChainState] = field(default_factory=list)  # filled as the run generates them

    @property
    def generated_tokens(self) -> int:
        return sum(chain.completion_tokens for chain in self.chains)

    @property
    def spent(self) -> Money:
        """What the run has generated so far costs: the charge of a run cut short (a cancel, a
        client that left), which generated tokens but no outcome; nothing before the first."""
        generated = self.generated_tokens
        return self.budget.cost(generated) if generated else Money(0)

    @property
    def limits(self) -> Limits:
        return self.budget.limits

    @property
    def worst_case_tokens(self) -> int:
        """The most tokens the request may generate: what backpressure counts it as."""
        return self.budget.worst_case_tokens(self.search.most_chains)

    @property
    def worst_case(self) -> Money:
        """The most the request may cost: what a per-key budget reserves before it runs."""
        return self.budget.worst_case(self.search.most_chains)


class Reasoner:
    def __init__(
        self,
        engine: Engine,
        vault: TraceVault,
        summarizer: Summarizer,
        content_keys: PurposeKeys,
        config: ReasonerConfig,
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.summarizer = summarizer
        self.content_keys = content_keys  # the keys of encrypted_content
        self.config = config

    def prepare(self, request: ReasoningRequest) -> Plan:
        """Check, render and budget the request before any engine work; raises on bad input."""
        if request.model != self.engine.model_name:
            raise NotFound(f"the model '{request.model}' does not exist", param="model", code="model_not_found")
        wanted = self._search(request)
        if request.n > 1 and wanted.strategy != "single":
            raise InvalidRequest("n > 1 works with the single strategy only; search returns one answer", param="n")
        prompt = self.engine.render(request.messages, thinking=True)
        budget = self._budget(request, prompt, wanted)
        if not budget.limits.thinking:
            prompt = self.engine.render(request.messages, thinking=False)
            budget = self._budget(request, prompt, wanted)
        return Plan(request, prompt, budget, wanted)

    async def run(self, plan: Plan) -> AsyncIterator[Event]:
        sampler = ChainSampler(
            self.engine, plan.request, plan.prompt, plan.budget, plan.trace_id,
            self.summarizer, self.content_keys, self.config.keepalive_seconds, self.config.profile,
            chains=plan.chains,
        )  # fmt: skip
        strategy = search.STRATEGIES[plan.search.strategy]
        decision = Decision(())
        async for event in sampler.run(strategy(sampler, plan.search)):
            if isinstance(event, Decision):
                decision = event
            else:
                yield event
        for event in await sampler.reveal(decision):
            yield event
        outcome = _outcome(plan, sampler.chains, decision)
        if plan.request.store:
            await self.vault.put(_trace(plan, sampler.chains, outcome))
        yield Done(outcome)

    def _search(self, request: ReasoningRequest) -> Search:
        greedy = request.sampling.temperature == 0  # None is the model's default: sampled
        return Search(
            strategy="auto" if request.budget.effort == AUTO else request.strategy,
            choices=request.n,
            samples=request.samples or self.config.default_samples,
            confidence=self.config.adaptive_confidence,
            early_exit=request.early_exit,
            weigh_confidence=request.confidence,
            vote_temperature=self.config.vote_temperature if greedy else None,
        )

    def _budget(self, request: ReasoningRequest, prompt: Prompt, wanted: Search) -> Budget:
        return Budget(
            request.budget,
            self.config.policy,
            self.config.prices.for_model(request.model),
            prompt_tokens=len(prompt.token_ids),
            context_length=self.engine.context_length,
            chains=request.n,
            shared=wanted.strategy != "single",  # chains of one search share the caps
        )


def _outcome(plan: Plan, chains: Sequence[ChainState], decision: Decision) -> Outcome:
    cap = plan.limits.reasoning_tokens
    choices = tuple(_choice(index, chain, cap) for index, chain in enumerate(decision.answers))
    usage = Usage(
        prompt_tokens=len(plan.prompt.token_ids),
        completion_tokens=sum(c.completion_tokens for c in chains),  # probes included
        reasoning_tokens=sum(c.reasoning_tokens for c in chains),  # probes are hidden work too
        summary_tokens=sum(c.summary_tokens for c in chains),
    )
    return Outcome(
        trace_id=plan.trace_id,
        request_id=plan.request.request_id,
        model=plan.request.model,
        created=plan.created,
        choices=choices,
        usage=usage,
        cost=plan.budget.cost(usage.completion_tokens),
        budget_tokens=cap,
        budget_exhausted=decision.stopped_by_budget or any(c.budget_exhausted for c in choices),
        stored=plan.request.store,
        chains=len(chains),
        votes=decision.votes,
        probe_tokens=sum(c.probe_tokens for c in chains),
    )


def _choice(index: int, chain: ChainState, cap: int) -> Choice:
    done = chain.done or ThinkingDone(index)
    return Choice(
        index=index,
        answer=chain.answer_text,
        finish_reason="length" if chain.finish_reason == "length" else "stop",
        reasoning_tokens=chain.reasoning_tokens,
        completion_tokens=chain.completion_tokens,
        budget_exhausted=chain.exhausted(cap),
        summary=done.summary,
        encrypted_content=done.encrypted_content,
    )


def _trace(plan: Plan, chains: Sequence[ChainState], outcome: Outcome) -> Trace:
    return Trace(
        id=outcome.trace_id,
        owner=plan.request.owner,
        model=outcome.model,
        request_id=plan.request.request_id,
        created_at=time.time(),
        prompt_tokens=outcome.usage.prompt_tokens,
        completion_tokens=outcome.usage.completion_tokens,
        reasoning_tokens=outcome.usage.reasoning_tokens,
        cost_usd=outcome.cost.usd,  # the stored record's REAL column
        budget_tokens=outcome.budget_tokens,
        chains=tuple(chain.record(index) for index, chain in enumerate(chains)),
    )
